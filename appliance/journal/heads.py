"""Signed journal heads: the journal key binds the hash chain (as Certificate Transparency does).

A *signed head* is the map::

    {"seq": int, "hash": str (hex), "time": "YYYY-MM-DDTHH:MM:SSZ",
     "kid": bytes (journal_kid, 8 bytes), "sig": bytes (64-byte raw r||s, ES256)}

where ``sig`` is over :func:`head_message` ``= cbor2.dumps(["appliance-journal-head/1",
device_id, seq, hash, time])``, made by the device's **journal key** (a second
non-extractable P-256 key in the token, never the DCC key). ``journal_kid`` is
``SHA-256(SubjectPublicKeyInfo DER)[:8]``.

:func:`head_message` and :func:`verify_head` are the wire contract shared with the hub;
:func:`sign_head` is the device side. Everything here is pure: no clock, no disk.
"""

from __future__ import annotations

import hashlib
import re
from typing import Protocol

import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

DOMAIN = "appliance-journal-head/1"
HEAD_KEYS = ("seq", "hash", "time", "kid", "sig")
_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
_HASH = re.compile(r"^[0-9a-f]{64}$")


class HeadSigner(Protocol):
    """The journal key: signs head messages, ES256, raw r||s; never the DCC key."""

    @property
    def kid(self) -> bytes:
        """:func:`journal_kid` of the key."""
        ...

    @property
    def public_key_der(self) -> bytes:
        """SubjectPublicKeyInfo DER of the journal key."""
        ...

    def sign(self, message: bytes) -> bytes: ...


def head_message(device_id: str, seq: int, hash: str, time: str) -> bytes:
    """The bytes a head signature covers."""
    return cbor2.dumps([DOMAIN, device_id, int(seq), hash, time])


def public_key_der(public_key: ec.EllipticCurvePublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def load_public_key(value: ec.EllipticCurvePublicKey | bytes) -> ec.EllipticCurvePublicKey:
    """A P-256 public key from itself or its SubjectPublicKeyInfo DER; ValueError otherwise."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        value = serialization.load_der_public_key(bytes(value))
    if not isinstance(value, ec.EllipticCurvePublicKey) or value.curve.name != "secp256r1":
        raise ValueError("the journal key must be a P-256 public key")
    return value


def journal_kid(public_key: ec.EllipticCurvePublicKey | bytes) -> bytes:
    """``SHA-256(SubjectPublicKeyInfo DER)[:8]``."""
    return hashlib.sha256(public_key_der(load_public_key(public_key))).digest()[:8]


def head_problem(head: object) -> str | None:
    """What is malformed about ``head`` (a reason), or None when its shape is right."""
    if not isinstance(head, dict):
        return "the head is not a map"
    missing = [k for k in HEAD_KEYS if k not in head]
    if missing:
        return f"the head lacks {', '.join(missing)}"
    seq, hash_, time, kid, sig = (head[k] for k in HEAD_KEYS)
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        return "the head's seq is not a non-negative integer"
    if not isinstance(hash_, str) or not (_HASH.match(hash_) or hash_ == "0" * 64):
        return "the head's hash is not 64 hex digits"
    if not isinstance(time, str) or not _TIME.match(time):
        return "the head's time is not YYYY-MM-DDTHH:MM:SSZ"
    if not isinstance(kid, bytes) or len(kid) != 8:
        return "the head's kid is not 8 bytes"
    if not isinstance(sig, bytes) or len(sig) != 64:
        return "the head's sig is not a 64-byte r||s"
    return None


def verify_head(public_key: ec.EllipticCurvePublicKey | bytes, device_id: str, head: dict) -> bool:
    """True when ``head`` is well-formed, names this key and carries its valid signature."""
    if head_problem(head) is not None:
        return False
    try:
        key = load_public_key(public_key)
    except ValueError:
        return False
    if head["kid"] != journal_kid(key):
        return False
    return verify_raw(key, head_message(device_id, head["seq"], head["hash"], head["time"]), head["sig"])


def verify_raw(public_key: ec.EllipticCurvePublicKey | bytes, message: bytes, sig: bytes) -> bool:
    """ES256 check of a raw 64-byte ``r || s`` signature over ``message``."""
    if not isinstance(sig, bytes) or len(sig) != 64:
        return False
    try:
        key = load_public_key(public_key)
    except ValueError:
        return False
    der = encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
    try:
        key.verify(der, message, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


def sign_head(signer: HeadSigner, device_id: str, seq: int, hash: str, time: str) -> dict:
    """The signed head of ``(seq, hash)`` at ``time`` (a formatted UTC stamp)."""
    sig = signer.sign(head_message(device_id, seq, hash, time))
    return {"seq": int(seq), "hash": hash, "time": time, "kid": bytes(signer.kid), "sig": bytes(sig)}
