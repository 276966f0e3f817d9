"""Values the hub derives from an entry at intake: statistics columns, the partition month,
and when a revoked certificate expires. Pure functions of the entry."""

from __future__ import annotations

import json
import re
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


def version_key(version: str | None) -> str | None:
    """A key that sorts like the software version: every run of digits zero-padded to 10 places
    (``1.9.0`` < ``1.10.0``; a shorter version sorts before its extensions: ``1.5`` < ``1.5.0``)."""
    if not version:
        return None
    return re.sub(r"\d+", lambda m: m.group().lstrip("0").rjust(10, "0"), version)


def canonical_data(data: dict) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def clock_interval_problem(entry: dict) -> str | None:
    """Why a ``clock_corrected`` entry's ``data`` does not name an interval of earlier entries
    (``bad_from_seq`` <= ``bad_until_seq`` < its own seq, times as text), or None."""
    data = entry.get("data") if isinstance(entry.get("data"), dict) else {}
    seqs = [data.get(k) for k in ("bad_from_seq", "bad_until_seq")]
    if not all(isinstance(s, int) and not isinstance(s, bool) for s in seqs):
        return "of a clock_corrected entry must hold bad_from_seq and bad_until_seq as whole numbers"
    if not 1 <= seqs[0] <= seqs[1] < entry["seq"]:
        return (f"of a clock_corrected entry names seq {seqs[0]} to {seqs[1]}; the interval must lie before "
                f"the entry itself (seq {entry['seq']})")
    for key in ("bad_from", "bad_until", "corrected_to"):
        if data.get(key) is not None and (not isinstance(data[key], str) or len(data[key]) > 40):
            return f"of a clock_corrected entry has a {key} that is not a time"
    return None


def clock_interval(entry: dict) -> tuple[int, int, str | None, str | None, str | None]:
    """``(bad_from_seq, bad_until_seq, bad_from, bad_until, corrected_to)`` of a checked ``clock_corrected`` entry."""
    data = entry["data"]
    return (data["bad_from_seq"], data["bad_until_seq"], data.get("bad_from"), data.get("bad_until"),
            data.get("corrected_to"))
