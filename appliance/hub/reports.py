"""Read-side reports of the hub: the revocation export and daily statistics.

The revocation export has the EU DCC Gateway's revocation batch shape
(``RevocationBatchDto``): ``{"country", "expires", "kid", "hashType",
"entries": [{"hash": "<base64 of 16 bytes>"}]}`` with 1 to 1000 entries per batch,
one batch list per (country, kid, hash type), incremental since an export cursor, in pages of
``limit`` revocations (:data:`EXPORT_PAGE` by default): the full export is the pages from cursor 0
on, each page's ``next`` the cursor of the following one. Statistics come from the daily counts the
hub keeps at intake (no scan of the entries), in keyset pages too; the chart reads the summary per
day, region, centre and type that intake keeps beside them (:mod:`appliance.hub.store.stats`).
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
from datetime import datetime

from appliance.errors import InvalidInput
from appliance.hub.store import HubStore, stats

log = logging.getLogger(__name__)

HASH_TYPES = {"UCI": "hash_uci", "COUNTRYCODEUCI": "hash_countrycodeuci", "SIGNATURE": "hash_signature"}
MAX_BATCH_ENTRIES = 1000
EXPORT_PAGE = 1000            #: revocations per export page by default; ``next`` continues from there
MAX_EXPORT_ROWS = 50_000      #: the largest page a caller may ask for (``limit``)
SOFTWARE_VERSION = re.compile(r"^[A-Za-z0-9._+~-]{1,64}$")
STATS_PAGE = 1000             #: statistics rows per page by default
MAX_STATS_ROWS = 10_000


def revocation_batches(store: HubStore, *, country: str | None = None, hash_types: list[str] | None = None,
                       since: int = 0, limit: int = EXPORT_PAGE) -> tuple[list[dict], int, bool]:
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
    rows = store.revocations(since=since, country=country, limit=limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    groups: dict[tuple[str, str, str], dict[str, str]] = {}
    missing: dict[str, int] = {}
    for row in rows:
        for hash_type in hash_types:
            value = row[HASH_TYPES[hash_type]]
            if not value:
                missing[hash_type] = missing.get(hash_type, 0) + 1
                continue
            hashes = groups.setdefault((row["country"], row["kid"] or "UNKNOWN_KID", hash_type), {})
            hashes[value] = max(row["expires"], hashes.get(value, row["expires"]))
    if missing:       # once per page, not per row: a device without a signature hash is common
        log.info("revocation export: skipped revocations without a hash of that type: %s",
                 ", ".join(f"{t} {n}" for t, n in sorted(missing.items())))
    out = []
    for (ctry, kid, hash_type), hashes in sorted(groups.items()):
        items = sorted(hashes.items())
        for start in range(0, len(items), MAX_BATCH_ENTRIES):
            chunk = items[start:start + MAX_BATCH_ENTRIES]
            out.append({"country": ctry, "expires": max(exp for _h, exp in chunk), "kid": kid,
                        "hashType": hash_type, "entries": [{"hash": h} for h, _exp in chunk]})
    return out, (rows[-1]["id"] if rows else since), more


def software_filter(value: str | None) -> str | None:
    """The office's ``software_below`` filter (a version as devices report it), checked."""
    if not value:
        return None
    if not SOFTWARE_VERSION.match(value) or not any(c.isdigit() for c in value):
        raise InvalidInput({"software_below": f"{value[:40]!r} is not a software version; give one such as 1.4.2"})
    return value


def _check_dates(since: str | None, until: str | None) -> None:
    for name, value in (("since", since), ("until", until)):
        if value is not None:
            try:
                datetime.strptime(value, "%Y-%m-%d")
            except ValueError:
                raise InvalidInput({name: "must be a date YYYY-MM-DD"}) from None


def encode_cursor(key: tuple) -> str:
    """An opaque, URL-safe statistics cursor (the key of a page's last row)."""
    return base64.urlsafe_b64encode(json.dumps(list(key), separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(text: str) -> tuple:
    try:
        key = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        key = None
    if (not isinstance(key, list) or len(key) != 6 or not all(isinstance(k, str) for k in key[:5])
            or not isinstance(key[5], int) or isinstance(key[5], bool)):
        raise InvalidInput({"after": "is not a cursor this hub gave out; use the 'next' of the previous page, "
                                     "or leave it out for the first page"})
    return tuple(key)


def daily_stats(store: HubStore, *, since: str | None = None, until: str | None = None,
                centre: str | None = None, region: str | None = None, after: str | None = None,
                limit: int = STATS_PAGE) -> tuple[list[dict], str | None]:
    """One page of issued certificates per day, device, centre, type, product and dose, and the
    cursor of the next page (``None`` on the last page)."""
    _check_dates(since, until)
    key = decode_cursor(after) if after else None
    rows = store.daily_counts(since, until, centre=centre, region=region, after=key, limit=limit + 1)
    page = rows[:limit]
    return page, (encode_cursor(stats.row_key(page[-1])) if len(rows) > limit else None)


def chart_cells(store: HubStore, *, since: str | None = None, until: str | None = None,
                centre: str | None = None, region: str | None = None) -> list[dict]:
    """Issued certificates per day, centre and type: the chart's cells (:func:`appliance.hub.chart.daily_svg`)."""
    _check_dates(since, until)
    return store.chart_counts(since, until, centre=centre, region=region)
