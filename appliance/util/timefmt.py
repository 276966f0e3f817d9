"""UTC time stamps as the journal, the hub and the command line write them.

``2026-11-28T10:00:00Z``: UTC, whole seconds, a ``Z``. Aware datetimes only: a naive one is a
programming error, never guessed.
"""

from __future__ import annotations

from datetime import datetime, timezone

FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def fmt_utc(t: datetime) -> str:
    """Aware datetime -> ``YYYY-MM-DDTHH:MM:SSZ`` (UTC, whole seconds)."""
    if t.tzinfo is None:
        raise ValueError("times must be timezone-aware")
    return t.astimezone(timezone.utc).strftime(FORMAT)


def parse_utc(s: str) -> datetime:
    """``YYYY-MM-DDTHH:MM:SSZ`` -> aware UTC datetime."""
    return datetime.strptime(s, FORMAT).replace(tzinfo=timezone.utc)
