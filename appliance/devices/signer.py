"""The software implementation of the ``Signer`` port (:mod:`appliance.devices.ports`).

A signer knows its ``kid`` (8 bytes), its DSC (``certificate``, or ``None`` before
one is imported) and signs COSE ``Sig_structure`` bytes with ES256, returning
the raw 64-byte ``r || s``.

:class:`SoftwareSigner` keeps a P-256 key and a self-made DSC in
``<state>/software-signer/`` (mode 0600). It is for demos and tests only: the
key is a file. Production uses :mod:`appliance.devices.pkcs11_signer`.

Beside the DCC key it keeps the **journal key** (``journal-key.pem``), a second P-256
key that signs journal heads only (:mod:`appliance.journal.heads`); ``journal_signer``
is None when a signer has none.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID, ObjectIdentifier

from appliance.util.atomic import write_atomic
from appliance.dcc import dsc
from appliance.devices.ports import Signer
from appliance.errors import SignerUnavailable

log = logging.getLogger(__name__)

JOURNAL_KEY_FILE = "journal-key.pem"


def der_to_raw(der: bytes, size: int = 32) -> bytes:
    """DER ECDSA signature -> fixed-width raw ``r || s`` as COSE wants it."""
    r, s = decode_dss_signature(der)
    return r.to_bytes(size, "big") + s.to_bytes(size, "big")


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_atomic(path, data, mode=0o600)


def make_self_signed_dsc(key: ec.EllipticCurvePrivateKey, *, country: str, now: datetime,
                         days: int = 730, types: str = "vtr") -> x509.Certificate:
    """A self-made DSC for the software signer: marked DEMO, never trusted by real verifiers."""
    name = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, country),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "DEMO appliance (software key, not for production)"),
                      x509.NameAttribute(NameOID.COMMON_NAME, "DEMO DSC software signer")])
    ekus = [ObjectIdentifier(dsc.EKU_FOR_TYPE[t][0]) for t in types]
    return (x509.CertificateBuilder()
            .subject_name(name).issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=days))
            .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True)
            .add_extension(x509.ExtendedKeyUsage(ekus), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))


def spki_der(public_key: ec.EllipticCurvePublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


class SoftwareJournalSigner:
    """The journal key as a file (demo and tests): signs head messages, ES256, raw r||s."""

    def __init__(self, key: ec.EllipticCurvePrivateKey):
        self._key = key
        self._der = spki_der(key.public_key())
        self._kid = hashlib.sha256(self._der).digest()[:8]

    @property
    def kid(self) -> bytes:
        return self._kid

    @property
    def public_key_der(self) -> bytes:
        return self._der

    def sign(self, message: bytes) -> bytes:
        return der_to_raw(self._key.sign(message, ec.ECDSA(hashes.SHA256())))


def _load_ec_key(path: Path) -> ec.EllipticCurvePrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError) as exc:
        raise SignerUnavailable(f"cannot read the software key {path}: {exc}") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise SignerUnavailable(f"{path} is not an EC key")
    return key


def _new_key_file(path: Path) -> ec.EllipticCurvePrivateKey:
    key = ec.generate_private_key(ec.SECP256R1())
    _write_private(path, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return key


class SoftwareSigner:
    """ES256 with a P-256 key held in a file. DEMO ONLY: the key can be copied."""

    def __init__(self, key: ec.EllipticCurvePrivateKey, certificate: x509.Certificate,
                 journal_key: ec.EllipticCurvePrivateKey | None = None):
        self._key = key
        self._cert = certificate
        self._kid = dsc.kid_of(certificate)
        self._journal = SoftwareJournalSigner(journal_key) if journal_key is not None else None

    @classmethod
    def generate(cls, *, country: str = "DE", now: datetime | None = None, types: str = "vtr") -> "SoftwareSigner":
        """An in-memory signer with a fresh key and DSC (tests)."""
        now = now or datetime.now(timezone.utc)
        key = ec.generate_private_key(ec.SECP256R1())
        return cls(key, make_self_signed_dsc(key, country=country, now=now, types=types),
                   ec.generate_private_key(ec.SECP256R1()))

    @classmethod
    def open(cls, state_dir: Path, *, country: str = "DE", now: datetime | None = None,
             create: bool = True) -> "SoftwareSigner":
        """Load the key and DSC from ``<state_dir>/software-signer/``, making them on first use."""
        folder = Path(state_dir) / "software-signer"
        key_path, cert_path, journal_path = folder / "key.pem", folder / "dsc.pem", folder / JOURNAL_KEY_FILE
        if not key_path.exists():
            if not create:
                raise SignerUnavailable(f"no software key in {folder}; run 'appliance demo' or switch [signer] kind")
            log.warning("creating a SOFTWARE signing key in %s: demo use only, not hardware-protected", folder)
            now = now or datetime.now(timezone.utc)
            key = ec.generate_private_key(ec.SECP256R1())
            cert = make_self_signed_dsc(key, country=country, now=now)
            _write_private(key_path, key.private_bytes(serialization.Encoding.PEM,
                                                       serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))
            _write_private(cert_path, cert.public_bytes(serialization.Encoding.PEM))
        try:
            key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
            cert = dsc.load_certificate(cert_path.read_bytes())
        except (OSError, ValueError) as exc:
            raise SignerUnavailable(f"cannot read the software key in {folder}: {exc}") from None
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise SignerUnavailable(f"{key_path} is not an EC key")
        if journal_path.exists():
            journal_key = _load_ec_key(journal_path)
        elif create:
            log.warning("creating a SOFTWARE journal key in %s: demo use only", folder)
            journal_key = _new_key_file(journal_path)
        else:
            journal_key = None
        return cls(key, cert, journal_key)

    @property
    def kid(self) -> bytes:
        return self._kid

    @property
    def certificate(self) -> x509.Certificate:
        return self._cert

    def public_key(self) -> ec.EllipticCurvePublicKey:
        return self._key.public_key()

    @property
    def journal_signer(self) -> SoftwareJournalSigner | None:
        """The journal key (signs journal heads, never certificates), or None."""
        return self._journal

    def sign(self, to_be_signed: bytes) -> bytes:
        return der_to_raw(self._key.sign(to_be_signed, ec.ECDSA(hashes.SHA256())))

    def close(self) -> None:
        pass


def build_signer(config, *, now: datetime | None = None) -> Signer:
    """The composition root's choice of signer from ``[signer] kind``."""
    if config.signer.kind == "software":
        return SoftwareSigner.open(config.state_dir, country=config.device.country, now=now)
    from appliance.devices.pkcs11_signer import Pkcs11Signer  # lazy: python-pkcs11, ~12 ms on every command

    return Pkcs11Signer.from_config(config)
