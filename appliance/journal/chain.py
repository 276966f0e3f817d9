"""The journal's hash chain: one canonical encoding shared by the device and the hub.

An entry is a JSON-able dict (see :data:`FIELDS`). Its ``hash`` is
``SHA-256(prev_hash_bytes || canonical(entry without "hash"))`` in hex, where
``canonical`` is JSON with sorted keys, no spaces, UTF-8. The first entry's
``prev_hash`` is :data:`GENESIS` (64 zeros).
"""

from __future__ import annotations

import base64
import hashlib
import json

from appliance.errors import Msg

GENESIS = "0" * 64

#: Every synced entry has exactly these keys. Nothing personal is among them.
FIELDS = ("seq", "time", "kind", "operator", "type", "uvci", "kid",
          "hash_uci", "hash_countrycodeuci", "hash_signature", "data", "prev_hash", "hash")


def canonical(entry: dict) -> bytes:
    body = {k: v for k, v in entry.items() if k != "hash"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def entry_hash(entry: dict) -> str:
    """The hash this entry must carry, given its ``prev_hash``."""
    return hashlib.sha256(bytes.fromhex(entry["prev_hash"]) + canonical(entry)).hexdigest()


def first_broken_link(entries: list[dict], prev_hash: str = GENESIS, prev_seq: int = 0) -> tuple[int, str] | None:
    """Check a run of entries; return ``(seq, reason)`` of the first bad one, or ``None``."""
    for entry in entries:
        seq = entry.get("seq")
        if seq != prev_seq + 1:
            return (prev_seq + 1, Msg("chain.seq_gap", expected=prev_seq + 1, found=seq))
        if entry.get("prev_hash") != prev_hash:
            return (seq, Msg("chain.prev_hash"))
        if entry.get("hash") != entry_hash(entry):
            return (seq, Msg("chain.hash"))
        prev_hash, prev_seq = entry["hash"], seq
    return None


def _h16(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()[:16]).decode()


def revocation_hashes(uvci: str, country: str, signature: bytes) -> dict[str, str]:
    """The three DCC revocation hashes (first 16 bytes of SHA-256, base64).

    UCI = H(uvci); COUNTRYCODEUCI = H(country || uvci); SIGNATURE = H(r) for ECDSA
    (only the first half of the raw signature, since s is malleable).
    """
    r = signature[:32] if len(signature) == 64 else signature
    return {
        "hash_uci": _h16(uvci.encode("utf-8")),
        "hash_countrycodeuci": _h16((country + uvci).encode("utf-8")),
        "hash_signature": _h16(r),
    }
