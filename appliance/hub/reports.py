"""Read-side reports of the hub: the revocation export and daily statistics.

The revocation export has the EU DCC Gateway's revocation batch shape
(``RevocationBatchDto``): ``{"country", "expires", "kid", "hashType",
"entries": [{"hash": "<base64 of 16 bytes>"}]}`` with 1 to 1000 entries per batch,
one batch list per (country, kid, hash type), incremental since an export cursor. Statistics
come from the daily counts the hub keeps at intake (no scan of the entries).
"""

from __future__ import annotations

import logging
from datetime import datetime

from appliance.errors import InvalidInput
from appliance.hub.store import HubStore

log = logging.getLogger(__name__)

HASH_TYPES = {"UCI": "hash_uci", "COUNTRYCODEUCI": "hash_countrycodeuci", "SIGNATURE": "hash_signature"}
MAX_BATCH_ENTRIES = 1000
MAX_EXPORT_ROWS = 50_000      #: revocations per export page; ``next`` continues from there


def revocation_batches(store: HubStore, *, country: str | None = None, hash_types: list[str] | None = None,
                       since: int = 0) -> tuple[list[dict], int, bool]:
    """Gateway-shaped revocation batches of the revocations after export cursor ``since``.

    Returns ``(batches, next_cursor, more)``: ask again with ``since=next_cursor`` for what came
    after (or, when ``more``, for the rest of this export). Revocations get their cursor in the
    order they were committed, so an incremental export never skips one.
    """
    hash_types = hash_types or list(HASH_TYPES)
    unknown = [h for h in hash_types if h not in HASH_TYPES]
    if unknown:
        raise InvalidInput({"hashType": f"{unknown[0]!r} is not one of {', '.join(HASH_TYPES)}"})
    if country is not None and (len(country) != 2 or not country.isalpha() or not country.isupper()):
        raise InvalidInput({"country": "must be two capital letters, e.g. DE"})
    rows = store.revocations(since=since, country=country, limit=MAX_EXPORT_ROWS + 1)
    more = len(rows) > MAX_EXPORT_ROWS
    rows = rows[:MAX_EXPORT_ROWS]
    groups: dict[tuple[str, str, str], dict[str, str]] = {}
    for row in rows:
        for hash_type in hash_types:
            value = row[HASH_TYPES[hash_type]]
            if not value:
                log.warning("revoked certificate on device %s has no %s hash; skipped", row["device_id"], hash_type)
                continue
            hashes = groups.setdefault((row["country"], row["kid"] or "UNKNOWN_KID", hash_type), {})
            hashes[value] = max(row["expires"], hashes.get(value, row["expires"]))
    out = []
    for (ctry, kid, hash_type), hashes in sorted(groups.items()):
        items = sorted(hashes.items())
        for start in range(0, len(items), MAX_BATCH_ENTRIES):
            chunk = items[start:start + MAX_BATCH_ENTRIES]
            out.append({"country": ctry, "expires": max(exp for _h, exp in chunk), "kid": kid,
                        "hashType": hash_type, "entries": [{"hash": h} for h, _exp in chunk]})
    return out, (rows[-1]["id"] if rows else since), more


def daily_stats(store: HubStore, *, since: str | None = None, until: str | None = None,
                centre: str | None = None, region: str | None = None) -> list[dict]:
    """Issued certificates per day, device, centre, type, product and dose."""
    for name, value in (("since", since), ("until", until)):
        if value is not None:
            try:
                datetime.strptime(value, "%Y-%m-%d")
            except ValueError:
                raise InvalidInput({name: "must be a date YYYY-MM-DD"}) from None
    return store.daily_counts(since, until, centre=centre, region=region)
