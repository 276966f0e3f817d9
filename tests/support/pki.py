"""Throwaway PKI for tests: CAs, TLS server certificates, lab DSCs for any key, CSRs, raw ES256 checks."""

from __future__ import annotations

import ipaddress
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

from tests.support.clock import REAL_NOW


def make_ca(name: str, *, days: int = 30):
    """A self-signed P-256 CA valid around the real time: (private key, certificate)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    return key, cert


def make_server_cert(ca_key, ca_cert, folder: Path, *, stem: str = "hub", common_name: str = "hub.test",
                     days: int = 30) -> tuple[Path, Path]:
    """A TLS server certificate for 127.0.0.1 and localhost signed by the CA, written to
    ``<stem>-cert.pem`` and ``<stem>-key.pem`` in ``folder``; returns (cert file, key file)."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(timezone.utc)
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
            .issuer_name(ca_cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=days))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                        x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    cert_file, key_file = folder / f"{stem}-cert.pem", folder / f"{stem}-key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


def write_pem(cert, path: Path) -> Path:
    """Write a certificate as PEM; return the path."""
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


def make_dsc_pem(ca, public_key, *, types: str = "vtr", now: datetime = REAL_NOW, days: int = 730) -> bytes:
    """A DSC of the lab CSCA ``ca`` (:mod:`appliance.keys.labca`) for any ``public_key``, built directly
    (a CSR needs the private key, which a token never gives out)."""
    from appliance.dcc import dsc

    ski = ca.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "DE"),
                                     x509.NameAttribute(NameOID.COMMON_NAME, "DSC test")]))
            .issuer_name(ca.certificate.subject).public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=days))
            .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ObjectIdentifier(dsc.EKU_FOR_TYPE[t][0]) for t in types]),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
            .sign(ca.key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM)


def software_csr(subject: str = "C=DE,CN=someone else") -> bytes:
    """A PEM CSR for a fresh software key that is on no token (a DSC for another key)."""
    from appliance.devices.signer import der_to_raw
    from appliance.keys.csr import TokenKey, build_csr, parse_subject

    key = ec.generate_private_key(ec.SECP256R1())
    shim = TokenKey(lambda d: der_to_raw(key.sign(d, ec.ECDSA(hashes.SHA256()))), key.public_key())
    return build_csr(parse_subject(subject), shim)


def verify_raw(cert, message: bytes, raw: bytes) -> None:
    """Check a raw ES256 signature (r || s, 64 bytes, as COSE carries it) with the certificate's key;
    raises :class:`cryptography.exceptions.InvalidSignature` when it does not verify."""
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    cert.public_key().verify(der, message, ec.ECDSA(hashes.SHA256()))


def raw_signature_verifies(cert, message: bytes, raw: bytes) -> bool:
    """:func:`verify_raw` as a yes/no answer."""
    try:
        verify_raw(cert, message, raw)
    except InvalidSignature:
        return False
    return True
