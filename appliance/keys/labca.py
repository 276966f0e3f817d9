"""A LAB/TEST CSCA for labs and demos: signs DSCs the way the DCC governance describes.

State lives in ``<state_dir>/lab-ca/`` (``ca.key`` mode 0600, ``ca.pem``). Every
certificate it makes is marked "LAB/TEST CSCA - not for production" in the
CSCA's O (so in every DSC's issuer) and "LAB/TEST" in the DSC's OU. A real
deployment sends the CSR to the country's CSCA instead.

DSCs get: keyUsage digitalSignature (critical), AKI = the CSCA's SKI, their own
SKI, the DCC extended key usages of the allowed types, a validity inside the
CSCA's, and the subject of the CSR.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID, ObjectIdentifier

from appliance.util.atomic import write_atomic
from appliance.dcc import dsc
from appliance.errors import InvalidInput

log = logging.getLogger(__name__)

LAB_MARK = "LAB/TEST CSCA - not for production"
CA_DIR = "lab-ca"
CA_YEARS, DSC_DAYS = 4, 730


@dataclass(frozen=True)
class LabCa:
    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate
    folder: Path


def _write(path: Path, data: bytes, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_atomic(path, data, mode=mode)


def load(state_dir: Path) -> LabCa | None:
    folder = Path(state_dir) / CA_DIR
    if not (folder / "ca.key").is_file():
        return None
    key = serialization.load_pem_private_key((folder / "ca.key").read_bytes(), password=None)
    cert = x509.load_pem_x509_certificate((folder / "ca.pem").read_bytes())
    return LabCa(key, cert, folder)


def init(state_dir: Path, *, country: str, now: datetime) -> tuple[LabCa, bool]:
    """Make the lab CSCA if there is none; ``(ca, created)``. Idempotent."""
    existing = load(state_dir)
    if existing is not None:
        return existing, False
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, country),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, LAB_MARK),
                      x509.NameAttribute(NameOID.COMMON_NAME, f"LAB/TEST CSCA {country}")])
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(hours=1))
            .not_valid_after(now + timedelta(days=365 * CA_YEARS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
            .add_extension(ski, critical=False)
            .sign(key, hashes.SHA256()))
    folder = Path(state_dir) / CA_DIR
    _write(folder / "ca.key", key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                serialization.NoEncryption()), 0o600)
    _write(folder / "ca.pem", cert.public_bytes(serialization.Encoding.PEM), 0o644)
    log.info("created a LAB/TEST CSCA in %s", folder)
    return LabCa(key, cert, folder), True


def parse_types(text: str) -> str:
    """``"v,t,r"`` -> ``"vtr"`` (order kept, duplicates dropped)."""
    types = [t.strip() for t in text.split(",") if t.strip()]
    bad = [t for t in types if t not in dsc.EKU_FOR_TYPE]
    if not types or bad:
        raise InvalidInput({"types": f"{text!r}: give a comma list of v, t, r (e.g. v,t,r)"})
    return "".join(dict.fromkeys(types))


def load_csr(data: bytes) -> x509.CertificateSigningRequest:
    try:
        csr = (x509.load_pem_x509_csr(data) if data.lstrip().startswith(b"-----BEGIN")
               else x509.load_der_x509_csr(data))
    except ValueError:
        raise InvalidInput({"csr": "not a PKCS#10 certificate request (PEM or DER)"}) from None
    if not csr.is_signature_valid:
        raise InvalidInput({"csr": "the request's signature is invalid; make a new CSR"})
    pub = csr.public_key()
    if not isinstance(pub, ec.EllipticCurvePublicKey) or not isinstance(pub.curve, ec.SECP256R1):
        raise InvalidInput({"csr": "the request's key is not EC P-256, which DCC signing needs"})
    names = {a.oid for a in csr.subject}
    if NameOID.COMMON_NAME not in names or NameOID.COUNTRY_NAME not in names:
        raise InvalidInput({"csr": "the request's subject needs C= and CN="})
    return csr


def sign_csr(ca: LabCa, csr: x509.CertificateSigningRequest, *, types: str, now: datetime,
             days: int = DSC_DAYS) -> x509.Certificate:
    """A DSC for ``csr``'s key, allowed to sign ``types`` (e.g. ``"vtr"``)."""
    rdns = list(csr.subject.rdns)
    at = next((i for i, rdn in enumerate(rdns) if any(a.oid == NameOID.COMMON_NAME for a in rdn)), len(rdns))
    rdns.insert(at, x509.RelativeDistinguishedName(
        [x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "LAB/TEST - not for production")]))
    subject = x509.Name(rdns)
    not_after = min(now + timedelta(days=days), ca.certificate.not_valid_after_utc)
    ca_ski = ca.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    ekus = [ObjectIdentifier(dsc.EKU_FOR_TYPE[t][0]) for t in types]
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(ca.certificate.subject)
            .public_key(csr.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(hours=1)).not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True)
            .add_extension(x509.ExtendedKeyUsage(ekus), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(csr.public_key()), critical=False)
            .sign(ca.key, hashes.SHA256()))
