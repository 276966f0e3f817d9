"""Read-side reports of the hub: the revocation export and daily statistics.

The revocation export has the EU DCC Gateway's revocation batch shape
(``RevocationBatchDto``): ``{"country", "expires", "kid", "hashType",
"entries": [{"hash": "<base64 of 16 bytes>"}]}`` with 1 to 1000 entries per batch,
one batch list per (country, kid, hash type).
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta, timezone

from appliance.errors import InvalidInput
from appliance.hub.store import HubStore

log = logging.getLogger(__name__)

HASH_TYPES = {"UCI": "hash_uci", "COUNTRYCODEUCI": "hash_countrycodeuci", "SIGNATURE": "hash_signature"}
MAX_BATCH_ENTRIES = 1000
#: When the issuing entry does not say when the certificate expires, keep its hash this long.
DEFAULT_KEEP = timedelta(days=365)


def _expiry(row: dict) -> datetime:
    """When the revoked certificate expires (the batch may be dropped after that)."""
    for blob in (row.get("issued_data"), row.get("revoked_data")):
        data = json.loads(blob) if blob else {}
        for key in ("expires_at", "exp"):
            value = data.get(key)
            try:
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    return datetime.fromtimestamp(value, timezone.utc)
                if isinstance(value, str):
                    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
                    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
            except (ValueError, OverflowError):
                continue
    revoked = datetime.fromisoformat(str(row["revoked_at"]).replace("Z", "+00:00"))
    return (revoked if revoked.tzinfo else revoked.replace(tzinfo=timezone.utc)) + DEFAULT_KEEP


def _zulu(t: datetime) -> str:
    return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def revocation_batches(store: HubStore, *, country: str | None = None,
                       hash_types: list[str] | None = None) -> list[dict]:
    """Gateway-shaped revocation batches of every revoked certificate known to the hub."""
    hash_types = hash_types or list(HASH_TYPES)
    unknown = [h for h in hash_types if h not in HASH_TYPES]
    if unknown:
        raise InvalidInput({"hashType": f"{unknown[0]!r} is not one of {', '.join(HASH_TYPES)}"})
    if country is not None and (len(country) != 2 or not country.isalpha() or not country.isupper()):
        raise InvalidInput({"country": "must be two capital letters, e.g. DE"})
    groups: dict[tuple[str, str, str], dict[str, datetime]] = {}
    for row in store.revoked(country):
        for hash_type in hash_types:
            value = row[HASH_TYPES[hash_type]]
            if not value:
                log.warning("revoked certificate on device %s has no %s hash; skipped", row["device_id"], hash_type)
                continue
            key = (row["country"], row["kid"] or "UNKNOWN_KID", hash_type)
            hashes = groups.setdefault(key, {})
            expiry = _expiry(row)
            hashes[value] = max(expiry, hashes.get(value, expiry))
    out = []
    for (ctry, kid, hash_type), hashes in sorted(groups.items()):
        items = sorted(hashes.items())
        for start in range(0, len(items), MAX_BATCH_ENTRIES):
            chunk = items[start:start + MAX_BATCH_ENTRIES]
            out.append({"country": ctry, "expires": _zulu(max(exp for _h, exp in chunk)), "kid": kid,
                        "hashType": hash_type, "entries": [{"hash": h} for h, _exp in chunk]})
    return out


def daily_stats(store: HubStore, *, since: str | None = None, until: str | None = None) -> list[dict]:
    """Issued certificates per day, device, centre, type, product and dose."""
    for name, value in (("since", since), ("until", until)):
        if value is not None:
            try:
                datetime.strptime(value, "%Y-%m-%d")
            except ValueError:
                raise InvalidInput({name: "must be a date YYYY-MM-DD"}) from None
    return store.daily_counts(since, until)
