"""PKCS#10 certificate signing requests signed by a key that stays on its token.

``cryptography``'s builders only call ``key.sign(data, ECDSA(SHA256()))`` and
``key.public_key()``, so :class:`TokenKey` adapts any ``sign(data) -> raw r||s``
callable (a :class:`~appliance.devices.pkcs11_signer.Pkcs11Signer`) to them.
"""

from __future__ import annotations

import logging
from typing import Callable

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.x509.oid import NameOID

from appliance.errors import InvalidInput, SigningError

log = logging.getLogger(__name__)

_ALLOWED = {NameOID.COUNTRY_NAME, NameOID.STATE_OR_PROVINCE_NAME, NameOID.LOCALITY_NAME,
            NameOID.ORGANIZATION_NAME, NameOID.ORGANIZATIONAL_UNIT_NAME, NameOID.COMMON_NAME,
            NameOID.SERIAL_NUMBER}


class TokenKey(ec.EllipticCurvePrivateKey):
    """A P-256 private key whose only operation is signing through ``sign_raw``."""

    def __init__(self, sign_raw: Callable[[bytes], bytes], public: ec.EllipticCurvePublicKey):
        self._sign_raw, self._public = sign_raw, public

    def sign(self, data, signature_algorithm):  # X.509 wants a DER signature; tokens give r||s
        if not isinstance(signature_algorithm, ec.ECDSA) or not isinstance(signature_algorithm.algorithm, hashes.SHA256):
            raise TypeError("the token key signs ECDSA with SHA-256 only")
        raw = self._sign_raw(bytes(data))
        return encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))

    def public_key(self) -> ec.EllipticCurvePublicKey:
        return self._public

    @property
    def curve(self) -> ec.EllipticCurve:
        return ec.SECP256R1()

    @property
    def key_size(self) -> int:
        return 256

    def exchange(self, algorithm, peer_public_key):
        raise TypeError("the token key is for signing only")

    def private_numbers(self):
        raise TypeError("the token key cannot be exported")

    def private_bytes(self, encoding, format, encryption_algorithm):
        raise TypeError("the token key cannot be exported")

    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self


def parse_subject(text: str) -> x509.Name:
    """``"C=DE,O=Impfzentrum Musterstadt,CN=DSC 0001"`` -> an X.509 name in the order written.

    Commas inside a value are escaped as ``\\,``. C (two capital letters) and CN are required.
    """
    try:
        parsed = x509.Name.from_rfc4514_string(text)
    except ValueError as exc:
        detail = f" ({exc})" if str(exc) else " (unknown attribute or bad syntax)"
        raise InvalidInput({"subject": f"{text!r} is not a distinguished name like "
                                       f"\"C=DE,O=...,CN=...\"{detail}"}) from None
    rdns = list(reversed(parsed.rdns))   # RFC 4514 writes the most specific part first
    attrs = [a for rdn in rdns for a in rdn]
    for a in attrs:
        if a.oid not in _ALLOWED:
            raise InvalidInput({"subject": f"attribute {a.oid.dotted_string} is not allowed; use C, ST, L, O, OU, CN"})
        if not str(a.value).strip():
            raise InvalidInput({"subject": f"attribute {a.rfc4514_string()} is empty"})
    countries = [a.value for a in attrs if a.oid == NameOID.COUNTRY_NAME]
    if len(countries) != 1 or not (len(countries[0]) == 2 and countries[0].isalpha() and countries[0].isupper()):
        raise InvalidInput({"subject": "needs exactly one C= with two capital letters, e.g. C=DE"})
    if not any(a.oid == NameOID.COMMON_NAME for a in attrs):
        raise InvalidInput({"subject": "needs a CN=, e.g. CN=DSC appliance 0001"})
    return x509.Name(rdns)


def build_csr(subject: x509.Name, key: TokenKey) -> bytes:
    """A PEM PKCS#10 request for ``subject`` asking for keyUsage digitalSignature, signed by ``key``."""
    ku = x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                       data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
                       encipher_only=False, decipher_only=False)
    csr = (x509.CertificateSigningRequestBuilder().subject_name(subject)
           .add_extension(ku, critical=True)
           .sign(key, hashes.SHA256()))
    if not csr.is_signature_valid:
        raise SigningError("the token produced an invalid CSR signature; check the token and its key")
    return csr.public_bytes(serialization.Encoding.PEM)
