"""DCC revocation: the gateway's three hash types and a lookup set over revocation batches.

The EU DCC gateway's revocation lists carry, per batch, one ``hashType`` and entries of
``hash`` (base64 of the first 16 bytes of a SHA-256):

=================  ==========================================================
``UCI``            SHA-256 of the UVCI (``ci``)
``COUNTRYCODEUCI`` SHA-256 of the issuing country code followed by the UVCI
``SIGNATURE``      SHA-256 of the signature: for ECDSA only ``r`` (the first half of
                   the raw ``r‖s``, since ``s`` is malleable), for RSA the whole signature
=================  ==========================================================

:class:`RevocationList` answers "is this certificate revoked"; pure, built from batches.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from appliance.errors import InvalidInput

log = logging.getLogger(__name__)

HASH_TYPES = ("UCI", "COUNTRYCODEUCI", "SIGNATURE")
HASH_BYTES = 16


def _h16(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()[:HASH_BYTES]


def hashes(uvci: str | None, country: str | None, signature: bytes | None) -> dict[str, bytes]:
    """The hashes that can be computed for a certificate (a missing part leaves its type out)."""
    out: dict[str, bytes] = {}
    if uvci:
        out["UCI"] = _h16(uvci.encode("utf-8"))
        if country:
            out["COUNTRYCODEUCI"] = _h16((country + uvci).encode("utf-8"))
    if signature:
        out["SIGNATURE"] = _h16(signature[:32] if len(signature) == 64 else signature)
    return out


def batch_problems(batch: Any, where: str) -> list[str]:
    """What is wrong with one gateway-shaped batch ``{"country", "kid", "hashType", "expires",
    "entries": [{"hash"}]}``; empty = fine. Messages name ``where`` and the field."""
    if not isinstance(batch, Mapping):
        return [f"{where}: must be an object with hashType and entries"]
    problems = []
    if batch.get("hashType") not in HASH_TYPES:
        problems.append(f"{where}.hashType: must be one of {', '.join(HASH_TYPES)}")
    country = batch.get("country")
    if country is not None and not (isinstance(country, str) and len(country) == 2 and country.isalpha()
                                    and country.isupper()):
        problems.append(f"{where}.country: must be two capital letters")
    entries = batch.get("entries")
    if not isinstance(entries, list):
        return problems + [f"{where}.entries: must be a list of {{\"hash\": base64}}"]
    for i, entry in enumerate(entries):
        value = entry.get("hash") if isinstance(entry, Mapping) else None
        if _decode_hash(value) is None:
            problems.append(f"{where}.entries[{i}].hash: must be the base64 of {HASH_BYTES} bytes")
            break  # one line per batch is enough
    return problems


def _decode_hash(value: Any) -> bytes | None:
    if not isinstance(value, str):
        return None
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if len(raw) == HASH_BYTES else None


@dataclass(frozen=True)
class RevocationList:
    """Revoked hashes by hash type; ``len()`` is the number of entries."""

    by_type: Mapping[str, frozenset[bytes]]

    @classmethod
    def from_batches(cls, batches: Iterable[Mapping]) -> "RevocationList":
        """Build from gateway-shaped batches; raises :class:`InvalidInput` naming the first bad one."""
        sets: dict[str, set[bytes]] = {t: set() for t in HASH_TYPES}
        for i, batch in enumerate(batches):
            problems = batch_problems(batch, f"revocations[{i}]")
            if problems:
                raise InvalidInput({"revocations": problems[0]}, problems[0])
            sets[batch["hashType"]].update(_decode_hash(e["hash"]) for e in batch["entries"])
        return cls({t: frozenset(v) for t, v in sets.items()})

    def __len__(self) -> int:
        return sum(len(v) for v in self.by_type.values())

    def matches(self, uvci: str | None, country: str | None, signature: bytes | None) -> list[str]:
        """The hash types under which the certificate is revoked (empty: not revoked)."""
        return [t for t, h in hashes(uvci, country, signature).items() if h in self.by_type.get(t, ())]

    def matches_entry(self, entry: Any, issuer_country: str | None, signature: bytes | None) -> list[str]:
        """:meth:`matches` for a DCC's v/t/r entry: its ``ci``, and the CWT issuer (else ``co``)."""
        entry = entry if isinstance(entry, Mapping) else {}
        uvci = entry.get("ci") if isinstance(entry.get("ci"), str) else None
        country = issuer_country or (entry.get("co") if isinstance(entry.get("co"), str) else None)
        return self.matches(uvci, country, signature)


EMPTY = RevocationList({t: frozenset() for t in HASH_TYPES})
