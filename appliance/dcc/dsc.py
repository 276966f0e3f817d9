"""The device certificate (DSC): kid, validity, key usage, loading from DER or PEM.

Pure helpers shared by the signer, the verifier and provisioning. Nothing here
reads the clock; pass ``at``.
"""

from __future__ import annotations

import base64
import functools
import hashlib
from datetime import datetime, timezone

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtensionOID

from appliance.dcc.model import TYPES
from appliance.errors import DscError, Msg

#: DCC type -> the extended key usage OIDs that allow it (new form first, legacy ``.0.1847`` second).
EKU_FOR_TYPE = {
    "t": ("1.3.6.1.4.1.1847.2021.1.1", "1.3.6.1.4.1.0.1847.2021.1.1"),
    "v": ("1.3.6.1.4.1.1847.2021.1.2", "1.3.6.1.4.1.0.1847.2021.1.2"),
    "r": ("1.3.6.1.4.1.1847.2021.1.3", "1.3.6.1.4.1.0.1847.2021.1.3"),
}
TYPE_FOR_EKU = {oid: typ for typ, oids in EKU_FOR_TYPE.items() for oid in oids}
WARN_DAYS = 30
EKU_OID = "2.5.29.37"


@functools.lru_cache(maxsize=256)
def kid_of(cert: x509.Certificate) -> bytes:
    """The COSE kid: the first 8 bytes of SHA-256 over the certificate's DER (cached: the
    issuer's self-check asks it of the same DSC for every certificate)."""
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).digest()[:8]


def kid_b64(cert: x509.Certificate) -> str:
    return base64.b64encode(kid_of(cert)).decode()


def load_certificate(data: bytes) -> x509.Certificate:
    """Load an X.509 certificate from PEM, DER or base64 DER.

    :raises DscError: if the bytes are none of these.
    """
    stripped = data.strip()
    try:
        if stripped.startswith(b"-----BEGIN"):
            return x509.load_pem_x509_certificate(stripped)
        if stripped[:1] == b"\x30":
            return x509.load_der_x509_certificate(stripped)
        return x509.load_der_x509_certificate(base64.b64decode(stripped, validate=True))
    except (ValueError, TypeError):
        raise DscError("not an X.509 certificate (expected PEM, DER or base64 DER)") from None


def dcc_types_allowed(cert: x509.Certificate) -> set[str] | None:
    """The DCC types the DSC may sign, or ``None`` when its extensions cannot be read.

    Read with asn1crypto because real DSCs carry DER that cryptography refuses
    (FI: an encoded default in basicConstraints; common/CO15: an empty EKU).
    No EKU, or only foreign OIDs in a non-critical EKU (ES: TLS), allows every
    type; a *critical* EKU without a DCC OID (IS/3: an ICAO OID) allows none,
    as RFC 5280 limits such a certificate to the purposes it names.
    """
    types = _types_for_der(cert.public_bytes(serialization.Encoding.DER))
    return None if types is None else set(types)


@functools.lru_cache(maxsize=256)
def _types_for_der(der: bytes) -> frozenset[str] | None:
    """:func:`dcc_types_allowed` for the certificate ``der`` (cached: a pure function of the
    bytes, and the self-check asks it of the same DSC for every certificate it signs)."""
    try:
        parsed = asn1_x509.Certificate.load(der)
        for ext in parsed["tbs_certificate"]["extensions"] or []:
            if ext["extn_id"].dotted == EKU_OID:
                oids = [o.dotted for o in ext["extn_value"].parsed]
                types = frozenset(TYPE_FOR_EKU[o] for o in oids if o in TYPE_FOR_EKU)
                if types:
                    return types
                return frozenset() if ext["critical"].native else frozenset(TYPES)
    except (ValueError, TypeError, KeyError):
        return None
    return frozenset(TYPES)


def not_before(cert: x509.Certificate) -> datetime:
    return cert.not_valid_before_utc


def not_after(cert: x509.Certificate) -> datetime:
    return cert.not_valid_after_utc


def is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_oid(ExtensionOID.BASIC_CONSTRAINTS).value.ca)
    except x509.ExtensionNotFound:
        return False
    except ValueError:  # extensions cryptography cannot parse: treat as not a DSC we can use
        return True


def has_digital_signature(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_oid(ExtensionOID.KEY_USAGE).value.digital_signature)
    except x509.ExtensionNotFound:
        return True  # no keyUsage extension: not restricted
    except ValueError:
        return False


def check_dsc_for_issuing(cert: x509.Certificate | None, dcc_type: str, at: datetime) -> None:
    """Refuse to issue with a DSC that is missing, not valid at ``at`` or not for ``dcc_type``.

    :raises DscError: with a message that says what to do.
    """
    if cert is None:
        raise DscError(Msg("dsc.none"))
    at = at.astimezone(timezone.utc)
    if at < not_before(cert):
        raise DscError(Msg("dsc.not_yet_valid", time=f"{not_before(cert):%Y-%m-%d %H:%M} UTC"))
    if at > not_after(cert):
        raise DscError(Msg("dsc.expired", date=not_after(cert).date()))
    if is_ca(cert):
        raise DscError(Msg("dsc.is_ca"))
    if not has_digital_signature(cert):
        raise DscError(Msg("dsc.no_digital_signature"))
    allowed_types = dcc_types_allowed(cert)
    if allowed_types is None:
        raise DscError(Msg("dsc.extensions_unreadable"))
    if dcc_type not in allowed_types:
        allowed = [_section(t) for t in sorted(allowed_types)] or Msg("section.none")
        raise DscError(Msg("dsc.type_not_allowed", type=_section(dcc_type), allowed=allowed))


def _section(dcc_type: str) -> Msg:
    """The certificate type's name (as in "does not allow test certificates")."""
    return {"v": Msg("section.v"), "t": Msg("section.t"), "r": Msg("section.r")}[dcc_type]


def days_left(cert: x509.Certificate, at: datetime) -> int:
    return (not_after(cert) - at.astimezone(timezone.utc)).days


#: what the lab CSCA (:mod:`appliance.keys.labca`: "LAB/TEST CSCA - not for production" in the issuer's O,
#: "LAB/TEST - not for production" in the DSC's OU) and the software signer's self-made DSC ("DEMO
#: appliance (software key, not for production)") write into their names
TEST_MARKS = ("LAB/TEST", "not for production")


def is_test_dsc(cert: x509.Certificate | None) -> bool:
    """A LAB/TEST (or DEMO) DSC: its subject or issuer carries one of :data:`TEST_MARKS`.

    Certificates it signed verify here but in no national app; screens and receipts say so.
    """
    if cert is None:
        return False
    values = [str(a.value) for name in (cert.subject, cert.issuer) for a in name]
    return any(mark.lower() in value.lower() for value in values for mark in TEST_MARKS)
