"""Time stamps: UTC as the journal, the hub and the command line write them, local for people.

``2026-11-28T10:00:00Z``: UTC, whole seconds, a ``Z``. Aware datetimes only: a naive one is a
programming error, never guessed. Screens and receipts show the centre's local time with its
offset (:func:`fmt_local`: ``28.11.2026 11:00 (UTC+01:00)``), in the ``[device] timezone``;
certificates and the journal keep UTC.
"""

from __future__ import annotations

import functools
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

FORMAT = "%Y-%m-%dT%H:%M:%SZ"
DEFAULT_TIMEZONE = "Europe/Berlin"
LOCAL_FORMAT = "%d.%m.%Y %H:%M"
DAY_FORMAT = "%d.%m.%Y"


@functools.lru_cache(maxsize=32)
def zone(name: str) -> ZoneInfo:
    """The time zone ``name`` (IANA, e.g. ``Europe/Berlin``); ValueError naming it if unknown."""
    try:
        if not name or name != name.strip():
            raise ValueError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f"{name!r} is not a known time zone; use an IANA name such as Europe/Berlin "
                         "(the time zone data comes from Debian's tzdata package)") from None


def offset_text(t: datetime) -> str:
    """``UTC+01:00`` for an aware datetime (``UTC+00:00`` in UTC)."""
    delta = t.utcoffset()
    if delta is None:
        raise ValueError("times must be timezone-aware")
    minutes = int(delta.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def fmt_local(t: datetime, tz: str | ZoneInfo) -> str:
    """Aware datetime -> ``01.12.2026 14:05 (UTC+01:00)`` in the time zone ``tz``."""
    if t.tzinfo is None:
        raise ValueError("times must be timezone-aware")
    local = t.astimezone(zone(tz) if isinstance(tz, str) else tz)
    return f"{local.strftime(LOCAL_FORMAT)} ({offset_text(local)})"


def fmt_day(d: date) -> str:
    """A calendar day as staff read it: ``05.01.2022``."""
    return d.strftime(DAY_FORMAT)


def to_local_input(t: datetime, tz: str | ZoneInfo) -> str:
    """Aware datetime -> ``2026-11-28T11:00`` in ``tz``: the value of a ``datetime-local`` input."""
    if t.tzinfo is None:
        raise ValueError("times must be timezone-aware")
    return t.astimezone(zone(tz) if isinstance(tz, str) else tz).strftime("%Y-%m-%dT%H:%M")


def fmt_utc(t: datetime) -> str:
    """Aware datetime -> ``YYYY-MM-DDTHH:MM:SSZ`` (UTC, whole seconds)."""
    if t.tzinfo is None:
        raise ValueError("times must be timezone-aware")
    return t.astimezone(timezone.utc).strftime(FORMAT)


def parse_utc(s: str) -> datetime:
    """``YYYY-MM-DDTHH:MM:SSZ`` -> aware UTC datetime."""
    return datetime.strptime(s, FORMAT).replace(tzinfo=timezone.utc)
