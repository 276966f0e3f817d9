"""COSE_Sign1 (RFC 8152) as DCCs use it: parsing what real certificates send, and signature checks.

Shared by the verifier (:mod:`appliance.dcc.verify`) and the hub's batch checks
(:mod:`appliance.sync.batches`). Tolerant of the forms seen in the wild: untagged,
``61(18(...))``, an empty protected header, kid and alg in the unprotected header
(the protected one wins). The bytes of the protected header are kept as received,
because they are what was signed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import cbor2
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from appliance.errors import DecodeError

COSE_SIGN1_TAG, CWT_TAG = 18, 61
ALG, KID = 1, 4
ES256, PS256 = -7, -37


@dataclass(frozen=True)
class CoseSign1:
    """A parsed COSE_Sign1; ``protected_bytes`` are kept exactly as received (they are signed)."""

    protected_bytes: bytes
    protected: dict
    unprotected: dict
    payload: bytes
    signature: bytes

    def header(self, label: int) -> Any:
        """A header parameter; the protected header wins over the unprotected one."""
        return self.protected[label] if label in self.protected else self.unprotected.get(label)

    @property
    def alg(self) -> Any:
        return self.header(ALG)

    @property
    def kid(self) -> bytes | None:
        kid = self.header(KID)
        return kid if isinstance(kid, bytes) else None


def parse_cose(data: bytes) -> CoseSign1:
    """``18([protected, unprotected, payload, signature])``; also untagged and ``61(18(...))``."""
    try:
        obj = cbor2.loads(data)
    except Exception as exc:  # noqa: BLE001 - any garbage is a decode failure
        raise DecodeError(f"cose: not valid CBOR ({type(exc).__name__})") from None
    if isinstance(obj, cbor2.CBORTag) and obj.tag == CWT_TAG:
        obj = obj.value
    if isinstance(obj, cbor2.CBORTag):
        if obj.tag != COSE_SIGN1_TAG:
            raise DecodeError(f"cose: CBOR tag {obj.tag} is not COSE_Sign1 (18)")
        obj = obj.value
    if not isinstance(obj, (list, tuple)) or len(obj) != 4:
        raise DecodeError("cose: not a COSE_Sign1 structure (an array of 4 items)")
    protected_bytes, unprotected, payload, signature = obj
    if not (isinstance(protected_bytes, bytes) and isinstance(unprotected, Mapping)
            and isinstance(payload, bytes) and isinstance(signature, bytes)):
        raise DecodeError("cose: COSE_Sign1 items have the wrong types (bstr, map, bstr, bstr expected)")
    protected: Any = {}
    if protected_bytes:
        try:
            protected = cbor2.loads(protected_bytes)
        except Exception:  # noqa: BLE001
            raise DecodeError("cose: the protected header is not valid CBOR") from None
        if not isinstance(protected, Mapping):
            raise DecodeError("cose: the protected header is not a CBOR map")
    return CoseSign1(protected_bytes, dict(protected), dict(unprotected), payload, signature)


def verify_signature(cert: x509.Certificate, alg: int, signature: bytes, tbs: bytes) -> bool:
    """Does ``signature`` (ES256 raw r||s, or PS256 with salt 32) over ``tbs`` verify with ``cert``?

    An algorithm that does not fit the key (ES256 on an RSA key, another curve) is ``False``.
    """
    key = cert.public_key()
    try:
        if alg == ES256:
            if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
                return False  # ES256 means P-256; another key type or curve is a mismatch
            if len(signature) != 64:
                return False
            der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
            key.verify(der, tbs, ec.ECDSA(hashes.SHA256()))
        elif alg == PS256:
            if not isinstance(key, rsa.RSAPublicKey):
                return False
            key.verify(signature, tbs, padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32),
                       hashes.SHA256())
        else:
            return False
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True
