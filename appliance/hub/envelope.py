"""Authenticate a batch before decoding it (issue 11, finding 9).

An anonymous request must cost the hub no more than reading its bytes. So the hub reads the
COSE_Sign1 envelope by hand, from its byte-string headers only, with no CBOR decoder and no
copy of the payload::

    [tag 18] array(4) [bstr protected] [map {} ] [bstr payload] [bstr(64) r||s]

checks the protected header's kid against the device's registered DSC, and verifies the
signature over ``Sig_structure`` by hashing its parts in place (ES256 with a prehashed
digest). Only a batch the device signed has its entries decoded
(:func:`appliance.sync.batches.open_batch_full` then checks it once more, cheaply).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed, encode_dss_signature

from appliance.dcc import dsc
from appliance.dcc.cose import ES256
from appliance.errors import DecodeError, HubError

COSE_SIGN1_TAG = b"\xd2"
MAX_PROTECTED = 256
_SIG1_PREFIX = b"\x84\x6aSignature1"


@dataclass(frozen=True)
class Envelope:
    protected: bytes
    kid: bytes
    payload: memoryview
    signature: bytes


def _bstr_header(n: int) -> bytes:
    if n < 24:
        return bytes((0x40 | n,))
    if n < 0x100:
        return bytes((0x58, n))
    if n < 0x10000:
        return b"\x59" + n.to_bytes(2, "big")
    if n < 0x100000000:
        return b"\x5a" + n.to_bytes(4, "big")
    return b"\x5b" + n.to_bytes(8, "big")


def _item_head(view: memoryview, pos: int) -> tuple[int, int, int]:
    """(major type, argument, position after the head) of the CBOR item at ``pos``; definite only."""
    if pos >= len(view):
        raise DecodeError("batch ends early: it is not a complete COSE_Sign1")
    first = view[pos]
    major, info = first >> 5, first & 0x1F
    if info < 24:
        return major, info, pos + 1
    size = {24: 1, 25: 2, 26: 4, 27: 8}.get(info)
    if size is None or pos + 1 + size > len(view):
        raise DecodeError("batch has an indefinite or truncated CBOR length; send a COSE_Sign1 made by the agent")
    return major, int.from_bytes(view[pos + 1:pos + 1 + size], "big"), pos + 1 + size


def _bstr(view: memoryview, pos: int, what: str) -> tuple[memoryview, int]:
    major, length, start = _item_head(view, pos)
    if major != 2:
        raise DecodeError(f"batch COSE_Sign1 {what} is not a byte string (unsigned?)")
    if start + length > len(view):
        raise DecodeError(f"batch COSE_Sign1 {what} is longer than the request")
    return view[start:start + length], start + length


def split(data: bytes) -> Envelope:
    """The envelope's parts, read from headers only. :raises DecodeError: not a COSE_Sign1."""
    if not data:
        raise DecodeError("empty batch: send the signed batch bytes as the request body")
    view = memoryview(data)
    pos = 1 if view[:1] == COSE_SIGN1_TAG else 0
    if view[pos:pos + 1] != b"\x84":
        raise DecodeError("batch is not a COSE_Sign1 array of four items (unsigned?)")
    protected, pos = _bstr(view, pos + 1, "protected header")
    if len(protected) > MAX_PROTECTED:
        raise DecodeError("batch protected header is too long")
    if view[pos:pos + 1] != b"\xa0":
        raise DecodeError("batch unprotected header must be an empty map")
    payload, pos = _bstr(view, pos + 1, "payload")
    signature, pos = _bstr(view, pos, "signature")
    if len(signature) != 64:
        raise DecodeError("batch is unsigned or its signature is not 64 bytes (ES256 r||s)")
    if pos != len(view):
        raise DecodeError("batch has bytes after its COSE_Sign1")
    try:
        header = cbor2.loads(bytes(protected))
    except Exception:  # cbor2 raises several types for garbage
        raise DecodeError("batch protected header is not valid CBOR") from None
    if not isinstance(header, dict) or header.get(1) != ES256 or not isinstance(header.get(4), bytes):
        raise DecodeError("batch protected header must be {1: -7 (ES256), 4: kid}")
    return Envelope(bytes(protected), header[4], payload, bytes(signature))


def sig_digest(protected: bytes, payload: memoryview) -> bytes:
    """SHA-256 of ``Sig_structure(protected, payload)``, hashed in place (no copy of the payload)."""
    h = hashlib.sha256()
    h.update(_SIG1_PREFIX + _bstr_header(len(protected)) + protected + b"\x40" + _bstr_header(len(payload)))
    h.update(payload)
    return h.digest()


def authenticate(data: bytes, certificate) -> Envelope:
    """Check that the device whose DSC is ``certificate`` signed ``data``, before decoding it.

    :raises DecodeError: not a COSE_Sign1 (400). :raises HubError: another key, bad signature (403).
    """
    envelope = split(data)
    if envelope.kid != dsc.kid_of(certificate):
        raise HubError("batch is signed by another key than the device's registered DSC "
                       "(re-register the device's current DSC at the hub)")
    verify_signature(envelope, certificate)
    return envelope


def verify_signature(envelope: Envelope, certificate) -> None:
    """ES256 over the envelope's ``Sig_structure`` with ``certificate.public_key()`` (no kid check).

    :raises HubError: the signature does not verify."""
    key = certificate.public_key()
    sig = envelope.signature
    try:
        if not isinstance(key, ec.EllipticCurvePublicKey):
            raise InvalidSignature
        der = encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
        key.verify(der, sig_digest(envelope.protected, envelope.payload), ec.ECDSA(Prehashed(hashes.SHA256())))
    except (InvalidSignature, ValueError):
        raise HubError("batch signature does not verify with the device's registered DSC") from None
