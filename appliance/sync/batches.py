"""Signed batches of journal entries: what the sync agent sends and a USB bundle holds.

A batch is a COSE_Sign1 (CBOR tag 18, ES256) made by the device key::

    18([h'{1: -7, 4: kid}', {}, h'<CBOR map>', h'r||s'])

    <CBOR map> = {"device_id": str, "created": int (Unix time),
                  "first_seq": int, "last_seq": int, "entries": [entry, ...],
                  ? "head": signed head, ? "journal_key": bytes}

``head`` is the device's newest signed journal head (:mod:`appliance.journal.heads`; its
``seq`` may lie beyond ``last_seq``) and ``journal_key`` the journal key's
SubjectPublicKeyInfo DER; both optional, so batches of older devices still open.

where each entry is a dict with exactly :data:`appliance.journal.chain.FIELDS`. The
signature covers ``Sig_structure`` as for a DCC (:func:`appliance.dcc.sign.sig_structure`),
so one code path signs certificates and batches. A USB bundle is one batch, or
several concatenated (a CBOR sequence).

:func:`open_batch` checks size, structure, ``seq`` continuity inside the batch and
the signature; the hash chain is checked by the receiver, which knows where the
previous batch ended.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from datetime import datetime

import cbor2
from cryptography import x509

from appliance.dcc import cose, dsc
from appliance.journal import chain, heads
from appliance.dcc.cose import ES256
from appliance.devices.ports import Signer
from appliance.errors import DecodeError, HubError
from appliance.dcc.sign import COSE_SIGN1_TAG, sig_structure

log = logging.getLogger(__name__)

#: Largest accepted batch, in bytes (a 500-entry batch is about 250 KB).
MAX_BATCH_BYTES = 8 * 1024 * 1024
BODY_KEYS = {"device_id", "created", "first_seq", "last_seq", "entries"}
OPTIONAL_KEYS = {"head", "journal_key"}


@dataclass(frozen=True)
class Batch:
    """An opened, signature-checked batch."""

    device_id: str
    created: int
    first_seq: int
    last_seq: int
    entries: list[dict]
    kid: bytes
    head: dict | None = None          #: the newest signed journal head, if the device sent one
    journal_key: bytes | None = None  #: the journal key (SubjectPublicKeyInfo DER), if sent


def sign_batch(entries: list[dict], *, device_id: str, signer: Signer, now: datetime,
               head: dict | None = None, journal_key: bytes | None = None) -> bytes:
    """Sign a non-empty run of consecutive journal entries with the device key (with the
    newest signed ``head`` and the ``journal_key`` that signed it, when given)."""
    if not entries:
        raise ValueError("a batch needs at least one entry")
    body = {"device_id": device_id, "created": int(now.timestamp()),
            "first_seq": entries[0]["seq"], "last_seq": entries[-1]["seq"],
            "entries": [{k: e[k] for k in chain.FIELDS} for e in entries]}
    if head is not None:
        body["head"] = {k: head[k] for k in heads.HEAD_KEYS}
    if journal_key is not None:
        body["journal_key"] = bytes(journal_key)
    protected = cbor2.dumps({1: ES256, 4: signer.kid})
    payload = cbor2.dumps(body)
    signature = signer.sign(sig_structure(protected, payload))
    return cbor2.dumps(cbor2.CBORTag(COSE_SIGN1_TAG, [protected, {}, payload, signature]))


def _unwrap(data: bytes, max_bytes: int = MAX_BATCH_BYTES) -> tuple[bytes, dict, bytes, bytes]:
    """COSE_Sign1 parts: (protected bytes, protected map, payload, signature)."""
    if not isinstance(data, (bytes, bytearray)) or not data:
        raise DecodeError("empty batch: send the signed batch bytes as the request body")
    if len(data) > max_bytes:
        raise DecodeError(f"batch is {len(data)} bytes, larger than the limit of {max_bytes}")
    try:
        obj = cbor2.loads(data)
    except Exception:  # cbor2 raises several types for garbage
        raise DecodeError("batch is not valid CBOR") from None
    if isinstance(obj, cbor2.CBORTag):
        if obj.tag != COSE_SIGN1_TAG:
            raise DecodeError(f"batch has CBOR tag {obj.tag}, expected {COSE_SIGN1_TAG} (COSE_Sign1)")
        obj = obj.value
    if not (isinstance(obj, (list, tuple)) and len(obj) == 4):
        raise DecodeError("batch is not a COSE_Sign1 array of four items (unsigned?)")
    protected, _unprotected, payload, signature = obj
    if not isinstance(protected, bytes) or not isinstance(payload, bytes):
        raise DecodeError("batch COSE_Sign1 has no protected header or payload bytes")
    if not isinstance(signature, bytes) or len(signature) != 64:
        raise DecodeError("batch is unsigned or its signature is not 64 bytes (ES256 r||s)")
    try:
        header = cbor2.loads(protected) if protected else {}
    except Exception:
        raise DecodeError("batch protected header is not valid CBOR") from None
    if not isinstance(header, dict) or header.get(1) != ES256 or not isinstance(header.get(4), bytes):
        raise DecodeError("batch protected header must be {1: -7 (ES256), 4: kid}")
    return protected, header, payload, signature


def _body(payload: bytes) -> dict:
    try:
        body = cbor2.loads(payload)
    except Exception:
        raise DecodeError("batch payload is not valid CBOR") from None
    if not isinstance(body, dict) or not BODY_KEYS <= set(body) or not set(body) <= BODY_KEYS | OPTIONAL_KEYS:
        raise DecodeError(f"batch payload must be a map with the keys {sorted(BODY_KEYS)} "
                          f"and optionally {sorted(OPTIONAL_KEYS)}")
    if not isinstance(body["device_id"], str) or not body["device_id"]:
        raise DecodeError("batch device_id must be a non-empty string")
    if "head" in body:
        problem = heads.head_problem(body["head"])
        if problem or set(body["head"]) != set(heads.HEAD_KEYS):
            raise DecodeError(f"batch head is malformed ({problem or 'unexpected keys'}); "
                              "it must be {seq, hash, time, kid, sig}")
    if "journal_key" in body:
        try:
            heads.load_public_key(body["journal_key"] if isinstance(body["journal_key"], bytes) else b"")
        except ValueError:
            raise DecodeError("batch journal_key is not a P-256 SubjectPublicKeyInfo (DER bytes)") from None
    return body


def peek_device_id(data: bytes, *, max_bytes: int = MAX_BATCH_BYTES) -> str:
    """The device id a batch claims, before its signature is checked (to find the DSC)."""
    _protected, _header, payload, _sig = _unwrap(data, max_bytes)
    return _body(payload)["device_id"]


def _check_entries(body: dict) -> None:
    entries, first, last = body["entries"], body["first_seq"], body["last_seq"]
    if not isinstance(entries, list) or not entries:
        raise DecodeError("batch has no entries")
    if not all(isinstance(x, int) and not isinstance(x, bool) for x in (first, last, body["created"])):
        raise DecodeError("batch first_seq, last_seq and created must be integers")
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or set(entry) != set(chain.FIELDS):
            raise DecodeError(f"batch entry {i} must have exactly the fields {', '.join(chain.FIELDS)}")
        if entry["seq"] != first + i:
            raise DecodeError(f"batch entry {i} has seq {entry['seq']!r}, expected {first + i} "
                              "(entries missing, inserted or out of order)")
    if entries[-1]["seq"] != last:
        raise DecodeError(f"batch last_seq {last} does not match its last entry ({entries[-1]['seq']})")


def verify_es256(certificate: x509.Certificate, message: bytes, signature: bytes) -> bool:
    """Check a raw ``r||s`` ES256 signature with the certificate's public key."""
    return cose.verify_signature(certificate, cose.ES256, signature, message)


def open_batch_full(data: bytes, *, certificate: x509.Certificate, max_bytes: int = MAX_BATCH_BYTES) -> Batch:
    """Verify and decode a batch.

    :raises DecodeError: malformed, unsigned, oversized or internally inconsistent.
    :raises HubError: signed by another key than ``certificate``'s.
    """
    protected, header, payload, signature = _unwrap(data, max_bytes)
    body = _body(payload)
    if header[4] != dsc.kid_of(certificate):
        raise HubError("batch is signed by another key than the device's registered DSC "
                       "(re-register the device's current DSC at the hub)")
    if not verify_es256(certificate, sig_structure(protected, payload), signature):
        raise HubError("batch signature does not verify with the device's registered DSC")
    _check_entries(body)
    return Batch(device_id=body["device_id"], created=body["created"], first_seq=body["first_seq"],
                 last_seq=body["last_seq"], entries=body["entries"], kid=header[4],
                 head=body.get("head"), journal_key=body.get("journal_key"))


def open_batch(data: bytes, *, certificate: x509.Certificate) -> tuple[str, list[dict]]:
    """Verify a batch; return ``(device_id, entries)``. Errors as :func:`open_batch_full`."""
    batch = open_batch_full(data, certificate=certificate)
    return batch.device_id, batch.entries


def split_bundle(data: bytes) -> list[bytes]:
    """Split a USB bundle (one or more concatenated batches) into single batch byte strings."""
    parts: list[bytes] = []
    stream = io.BytesIO(data)
    decoder = cbor2.CBORDecoder(stream)
    start = 0
    while start < len(data):
        try:
            decoder.decode()
        except Exception:
            raise DecodeError(f"bundle is not a sequence of signed batches (bad CBOR at byte {start})") from None
        end = stream.tell()
        parts.append(data[start:end])
        start = end
    if not parts:
        raise DecodeError("bundle is empty")
    return parts
