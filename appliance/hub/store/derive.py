"""Values the hub derives from an entry at intake: statistics columns, the partition month,
and when a revoked certificate expires. Pure functions of the entry."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

#: When the issuing entry does not say when the certificate expires, keep its hash this long.
DEFAULT_KEEP = timedelta(days=365)


def iso(t: datetime) -> str:
    return t.isoformat(timespec="seconds")


def zulu(t: datetime) -> str:
    return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: str) -> datetime:
    """An entry's ISO 8601 time as an aware datetime (UTC when it has no offset); ValueError if bad."""
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def month_of(time: str) -> str:
    """``YYYY-MM-01`` of an entry's time: the month partition it goes to."""
    t = parse_time(time).astimezone(timezone.utc)
    return f"{t.year:04d}-{t.month:02d}-01"


def stats_columns(entry: dict) -> tuple:
    """``(day, centre, product, dose)`` for statistics, from the entry's non-personal ``data``."""
    data = entry.get("data") or {}
    day = str(entry.get("time") or "")[:10] or None
    centre = data.get("centre") if isinstance(data.get("centre"), str) else None
    product = next((data[k] for k in ("mp", "ma", "tt") if isinstance(data.get(k), str) and data[k]), None)
    dose = data.get("dn")
    dose = dose if isinstance(dose, int) and not isinstance(dose, bool) and 0 <= dose < 2**31 else None
    return day, centre or None, product, dose


def count_key(device_id: str, entry: dict) -> tuple | None:
    """The ``daily_counts`` key of an issued entry (None for other kinds)."""
    if entry["kind"] != "issued":
        return None
    day, centre, product, dose = stats_columns(entry)
    return (day or "", device_id, centre or "", entry.get("type") or "", product or "",
            -1 if dose is None else dose)


def revocation_expiry(issued_data: dict | None, revoked_data: dict | None, revoked_at: str) -> str:
    """When the revoked certificate expires (its export batch may be dropped after that), Zulu."""
    for data in (issued_data or {}, revoked_data or {}):
        for key in ("expires_at", "exp"):
            value = data.get(key)
            try:
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    return zulu(datetime.fromtimestamp(value, timezone.utc))
                if isinstance(value, str):
                    return zulu(parse_time(value))
            except (ValueError, OverflowError, OSError):
                continue
    return zulu(parse_time(revoked_at) + DEFAULT_KEEP)


def canonical_data(data: dict) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
