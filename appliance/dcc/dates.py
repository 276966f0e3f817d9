"""Dates as staff type them: German (``14.03.1961``, ``14031961``) as well as ISO, and the
recovery window that follows from a first positive test.

Event dates (vaccination, first positive test, validity) also take two-digit years as 20YY
(``5.1.22``): every event is after 2000. A birth date needs a four-digit year (``14.03.61``
could be 1961 or 2061) and may be partial (``MM.YYYY``, ``YYYY-MM``, ``YYYY``). Pure.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

from appliance.dcc import payload

_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_ISO_PARTIAL = re.compile(r"(\d{4})(?:-(\d{2}))?")
_DMY = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4}|\d{2})|(\d{2})(\d{2})(\d{4}|\d{2})")
_MY = re.compile(r"(\d{1,2})\.(\d{4})")


def parse_day(text: Any) -> date | None:
    """An event date as staff type it -> the date, or None if it is no real date in a known format.

    ``27.11.2026``, ``27112026``, ``2026-11-27``; also ``5.1.22`` / ``050122`` (events happen
    after 2000, so a two-digit year is 20YY).
    """
    if not isinstance(text, str):
        return None
    text = text.strip()
    m, dmy = _ISO.fullmatch(text), _DMY.fullmatch(text)
    try:
        if m:
            return date(int(m[1]), int(m[2]), int(m[3]))
        if dmy:
            d, mo, y = (dmy[1], dmy[2], dmy[3]) if dmy[1] else (dmy[4], dmy[5], dmy[6])
            return date(int(y) + (2000 if len(y) == 2 else 0), int(mo), int(d))
    except ValueError:
        pass
    return None


def two_digit_year(text: Any) -> bool:
    """Whether ``text`` is a day written with a two-digit year (``14.03.61``, ``140361``)."""
    m = _DMY.fullmatch(text.strip()) if isinstance(text, str) else None
    return m is not None and len(m[3] or m[6]) == 2


def parse_birth_date(text: Any) -> str | None:
    """A birth date as staff type it -> ``YYYY-MM-DD``, or ``YYYY-MM`` / ``YYYY`` when not fully
    known; None if unreadable. German (``14.03.1961``, ``14031961``, ``03.1961``) or ISO. The year
    needs four digits: ``14.03.61`` could be 1961 or 2061."""
    if not isinstance(text, str):
        return None
    text = text.strip()
    partial, my = _ISO_PARTIAL.fullmatch(text), _MY.fullmatch(text)
    try:
        if partial:
            if partial[2]:
                date(int(partial[1]), int(partial[2]), 1)
            return text
        if my:
            return date(int(my[2]), int(my[1]), 1).isoformat()[:7]
    except ValueError:
        return None
    day = None if two_digit_year(text) else parse_day(text)
    return day.isoformat() if day else None


def recovery_window(first_positive: date) -> tuple[date, date]:
    """(valid from, valid until) as far as the rules allow: from day ``payload.RECOVERY_VALID_FROM_DAYS``
    (11) after the first positive test until day ``payload.RECOVERY_MAX_DAYS`` (180) after it."""
    return (first_positive + timedelta(days=payload.RECOVERY_VALID_FROM_DAYS),
            first_positive + timedelta(days=payload.RECOVERY_MAX_DAYS))
