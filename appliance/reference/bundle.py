"""The ``.dccbundle`` file: a signed, versioned container of reference data.

A bundle is one COSE_Sign1 (CBOR tag 18, ES256) made with the central office's
reference-data key. Its protected header is ``{1: -7 (ES256), 4: kid, 33: the signer's
certificate (DER)}``; kid is the first 8 bytes of SHA-256 over that certificate. The signed
payload is the CBOR map::

    {"format": "dccbundle", "format_version": 1, "created": "2026-11-28T10:00:00Z",
     "publisher": "central office",
     "manifest": {"<content type>": {"version": 3, "created": ISO, "sha256": h'…', "size": n,
                                      "items": n}},
     "parts": {"<content type>": h'<UTF-8 JSON>'}}

Content types: ``valuesets``, ``trustlist``, ``revocations``, ``rules``
(:mod:`appliance.reference.content`). Versions are integers per content type. A bundle is
trusted when its signer certificate is the configured trust anchor or is signed by it and
valid at the time of checking, and the signature verifies (:func:`open_bundle`).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import cbor2
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from appliance.dcc.cose import ES256, parse_cose, verify_signature
from appliance.dcc.sign import sig_structure
from appliance.errors import DecodeError, ReferenceDataError
from appliance.util.timefmt import fmt_utc

log = logging.getLogger(__name__)

FORMAT, FORMAT_VERSION = "dccbundle", 1
CONTENT_TYPES = ("valuesets", "trustlist", "revocations", "rules")
MAX_BUNDLE_BYTES = 32 * 2**20  #: larger files are refused before they are read
X5CHAIN = 33


@dataclass(frozen=True)
class Part:
    """One content type of a bundle: its version, when it was published, and its JSON bytes."""

    version: int
    created: str
    data: bytes
    items: int

    @property
    def sha256(self) -> bytes:
        return hashlib.sha256(self.data).digest()


@dataclass(frozen=True)
class Bundle:
    """A bundle whose signature was checked (or that was just built)."""

    created: str
    publisher: str
    parts: Mapping[str, Part]
    signer: x509.Certificate | None = None

    def versions(self) -> dict[str, int]:
        return {name: part.version for name, part in self.parts.items()}


def refuse(part: str, problem: str) -> ReferenceDataError:
    """The one error shape: ``bundle refused: <part>: <problem>; nothing was installed``."""
    return ReferenceDataError(f"bundle refused: {part}: {problem}; nothing was installed")


def _kid(cert: x509.Certificate) -> bytes:
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).digest()[:8]


def sign_bundle(parts: Mapping[str, Part], *, key: ec.EllipticCurvePrivateKey, certificate: x509.Certificate,
                now: datetime, publisher: str = "") -> bytes:
    """The signed ``.dccbundle`` bytes for ``parts`` (content type -> :class:`Part`)."""
    unknown = sorted(set(parts) - set(CONTENT_TYPES))
    if unknown or not parts:
        raise refuse("manifest", f"unknown content type {unknown[0]!r}" if unknown else "no content")
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise ReferenceDataError("the reference-data key must be a P-256 EC key (ES256)")
    manifest = {name: {"version": p.version, "created": p.created, "sha256": p.sha256, "size": len(p.data),
                       "items": p.items} for name, p in sorted(parts.items())}
    payload = cbor2.dumps({"format": FORMAT, "format_version": FORMAT_VERSION, "created": fmt_utc(now),
                           "publisher": publisher, "manifest": manifest,
                           "parts": {name: p.data for name, p in sorted(parts.items())}})
    protected = cbor2.dumps({1: ES256, 4: _kid(certificate),
                             X5CHAIN: certificate.public_bytes(serialization.Encoding.DER)})
    der = key.sign(sig_structure(protected, payload), ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    return cbor2.dumps(cbor2.CBORTag(18, [protected, {}, payload, signature]))


def _check_signer(cert: x509.Certificate, anchor: x509.Certificate, now: datetime) -> None:
    if cert.public_bytes(serialization.Encoding.DER) != anchor.public_bytes(serialization.Encoding.DER):
        try:
            cert.verify_directly_issued_by(anchor)
        except (ValueError, TypeError, InvalidSignature):
            raise refuse("signature", "the signer's certificate is not the configured trust anchor "
                                      "([reference] trust_anchor) and not issued by it") from None
    for c, what in ((cert, "signer's certificate"), (anchor, "trust anchor")):
        if not c.not_valid_before_utc <= now <= c.not_valid_after_utc:
            raise refuse("signature", f"the {what} is not valid at {fmt_utc(now)} "
                                      f"({fmt_utc(c.not_valid_before_utc)} to {fmt_utc(c.not_valid_after_utc)})")


def _signed_payload(data: bytes, anchor: x509.Certificate, now: datetime) -> tuple[bytes, x509.Certificate]:
    try:
        cose = parse_cose(data)
    except DecodeError as exc:
        raise refuse("container", f"not a signed bundle ({str(exc).removeprefix('cose: ')})") from None
    if not cose.signature:
        raise refuse("signature", "the bundle is not signed")
    chain = cose.protected.get(X5CHAIN)
    chain = chain[0] if isinstance(chain, list) and chain else chain
    if not isinstance(chain, bytes):
        raise refuse("signature", "the protected header names no signer certificate (x5chain, 33)")
    try:
        cert = x509.load_der_x509_certificate(chain)
    except ValueError:
        raise refuse("signature", "the signer certificate in the header cannot be read") from None
    _check_signer(cert, anchor, now)
    if cose.alg != ES256 or not verify_signature(cert, ES256, cose.signature, sig_structure(cose.protected_bytes,
                                                                                          cose.payload)):
        raise refuse("signature", "the signature does not verify: the bundle was altered or signed by another key")
    return cose.payload, cert


def _part(name: str, entry: Any, data: Any) -> Part:
    if not isinstance(entry, Mapping):
        raise refuse(f"manifest.{name}", "must be a map with version, created, sha256")
    version, created = entry.get("version"), entry.get("created")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise refuse(f"manifest.{name}.version", "must be a whole number from 1")
    if not isinstance(created, str):
        raise refuse(f"manifest.{name}.created", "must be a date-time text")
    if not isinstance(data, bytes):
        raise refuse(f"parts.{name}", "is missing or not a byte string")
    if hashlib.sha256(data).digest() != entry.get("sha256"):
        raise refuse(f"parts.{name}", "its SHA-256 does not match the manifest")
    items = entry.get("items")
    return Part(version, created, data, items if isinstance(items, int) else 0)


def parse_payload(payload: bytes) -> tuple[str, str, dict[str, Part]]:
    """``(created, publisher, parts)`` of a bundle payload (no signature check: see :func:`open_bundle`)."""
    try:
        body = cbor2.loads(payload)
    except Exception as exc:  # noqa: BLE001 - any garbage is a refusal
        raise refuse("container", f"the payload is not valid CBOR ({type(exc).__name__})") from None
    if not isinstance(body, Mapping) or body.get("format") != FORMAT:
        raise refuse("container", "not a dccbundle (the format field is missing or wrong)")
    if body.get("format_version") != FORMAT_VERSION:
        raise refuse("container", f"format version {body.get('format_version')!r} is not supported "
                                  f"(this software reads {FORMAT_VERSION})")
    manifest, parts = body.get("manifest"), body.get("parts")
    if not isinstance(manifest, Mapping) or not isinstance(parts, Mapping) or not manifest:
        raise refuse("manifest", "missing or empty")
    for name in list(manifest) + list(parts):
        if name not in CONTENT_TYPES:
            raise refuse("manifest", f"unknown content type {name!r} (known: {', '.join(CONTENT_TYPES)})")
    if set(parts) != set(manifest):
        raise refuse("manifest", "lists other content types than the bundle holds")
    return (str(body.get("created", "")), str(body.get("publisher", "")),
            {name: _part(name, manifest[name], parts[name]) for name in manifest})


def open_bundle(data: bytes, *, anchor: x509.Certificate, now: datetime) -> Bundle:
    """Check size, signature, signer and manifest; the content itself is checked by
    :func:`appliance.reference.content.check_parts`. Raises :class:`ReferenceDataError`."""
    if len(data) > MAX_BUNDLE_BYTES:
        raise refuse("container", f"{len(data)} bytes is larger than the limit of {MAX_BUNDLE_BYTES}")
    if not data:
        raise refuse("container", "the file is empty")
    payload, signer = _signed_payload(data, anchor, now.astimezone(timezone.utc))
    created, publisher, parts = parse_payload(payload)
    return Bundle(created, publisher, parts, signer)


def peek(data: bytes) -> Bundle:
    """The parts of a bundle WITHOUT checking its signature: only for the hub's own files."""
    cose = parse_cose(data)
    created, publisher, parts = parse_payload(cose.payload)
    return Bundle(created, publisher, parts)
