"""Batches for the hub tests, built as a device would: signed heads with a journal key
(the wire format of appliance/journal/heads.py), and bodies an attacker would send."""

from __future__ import annotations

from datetime import datetime, timedelta

import cbor2
from cryptography.hazmat.primitives.asymmetric import ec

from appliance.devices.signer import SoftwareJournalSigner
from appliance.journal import heads
from appliance.sync import batches
from tests.support.clock import NOW
from tests.support.hub_kit import DEVICE


def journal_key() -> SoftwareJournalSigner:
    return SoftwareJournalSigner(ec.generate_private_key(ec.SECP256R1()))


def stamp(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def head_of(journal_signer, seq: int, hash_: str, *, at: datetime = NOW, device: str = DEVICE) -> dict:
    return heads.sign_head(journal_signer, device, seq, hash_, stamp(at))


def with_head(entries: list[dict], signer, journal_signer, *, head: dict | None = None, device: str = DEVICE,
              at: datetime = NOW, send_key: bool = True) -> bytes:
    """A batch of ``entries`` carrying ``head`` (default: the head of its last entry) and the journal key."""
    head = head or head_of(journal_signer, entries[-1]["seq"], entries[-1]["hash"], at=at, device=device)
    return batches.sign_batch(entries, device_id=device, signer=signer, now=NOW, head=head,
                              journal_key=journal_signer.public_key_der if send_key else None)


def later(seconds: int) -> datetime:
    return NOW + timedelta(seconds=seconds)


def hostile_body(size: int, kid: bytes) -> bytes:
    """A COSE_Sign1 of ``size`` bytes with a wrong signature around a payload that would be
    expensive to decode (one CBOR array of tiny maps)."""
    protected = cbor2.dumps({1: -7, 4: kid})
    item = cbor2.dumps({"a": 1})
    n = (size - 64) // len(item)
    payload = b"\x9a" + n.to_bytes(4, "big") + item * n
    body = cbor2.dumps(cbor2.CBORTag(18, [protected, {}, payload, b"\x01" * 64]))
    return body
