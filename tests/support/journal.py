"""Synthetic journal content: chained entries (as synced, no personal data) and bulk-append specs."""

from __future__ import annotations

import os
from datetime import timedelta

from appliance.journal import chain
from tests.support.clock import NOW


def make_entries(n: int, *, start: int = 1, prev_hash: str = chain.GENESIS, kind: str = "issued") -> list[dict]:
    """A correctly chained run of ``n`` entries numbered from ``start``, linked to ``prev_hash``."""
    out = []
    for seq in range(start, start + n):
        entry = {"seq": seq, "time": (NOW + timedelta(seconds=seq)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                 "kind": kind, "operator": "staff1", "type": "v", "uvci": f"URN:UVCI:01:DE:T/{seq}",
                 "kid": "AAAAAAAAAAA=", "hash_uci": None, "hash_countrycodeuci": None, "hash_signature": None,
                 "data": {"mp": "EU/1/20/1528", "dn": 1}, "prev_hash": prev_hash}
        entry["hash"] = chain.entry_hash(entry)
        prev_hash = entry["hash"]
        out.append(entry)
    return out


def issue_specs(n: int, signer, *, start: int = 1) -> list[dict]:
    """Keyword sets for ``Journal.append_bulk``: ``n`` issued vaccination certificates of ``signer``."""
    return [{"kind": "issued", "type": "v", "uvci": f"URN:UVCI:01:DE:DEMO1/T{i:06d}#X", "kid": signer.kid,
             "signature": os.urandom(64), "country": "DE",
             "data": {"mp": "EU/1/20/1528", "dn": 1 + i % 3, "sd": 3, "co": "DE",
                      "expires_at": "2027-11-28T10:00:00Z"}}
            for i in range(start, start + n)]
