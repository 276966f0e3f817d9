"""A sample DCC payload and signing a payload into an HC1 text (the test signer's way)."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID, ObjectIdentifier

from appliance.dcc import dsc
from appliance.dcc.encode import to_hc1
from appliance.dcc.sign import sign_dcc
from appliance.devices.signer import SoftwareSigner

#: a schema-valid vaccination DCC (Moderna 1/2 on 2026-11-20)
SAMPLE_DCC = {
    "ver": "1.3.3",
    "nam": {"fn": "Smith-Jones", "fnt": "SMITH<JONES", "gn": "Charles Edward", "gnt": "CHARLES<EDWARD"},
    "dob": "1964-01-01",
    "v": [{"tg": "840539006", "vp": "1119349007", "mp": "EU/1/20/1507", "ma": "ORG-100031184",
           "dn": 1, "sd": 2, "dt": "2026-11-20", "co": "DE", "is": "Robert Koch-Institut",
           "ci": "URN:UVCI:01:DE:TEST/ABC123#Q"}],
}


def sample_dcc() -> dict:
    """A fresh copy of :data:`SAMPLE_DCC`."""
    return copy.deepcopy(SAMPLE_DCC)


def sign_to_hc1(dcc: dict, signer, *, iat: datetime, days: int):
    """Sign ``dcc`` (issuer country DE, valid ``days`` from ``iat``): (HC1 text, Signed)."""
    signed = sign_dcc(dcc, signer, issuer_country="DE", iat=iat, exp=iat + timedelta(days=days))
    return to_hc1(signed.cose), signed


def production_like_signer(now: datetime) -> SoftwareSigner:
    """A software signer whose DSC looks like a national CSCA's (no LAB/TEST or DEMO mark)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "DE"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Robert Koch-Institut"),
                      x509.NameAttribute(NameOID.COMMON_NAME, "DSC DE 42")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=365))
            .add_extension(x509.ExtendedKeyUsage([ObjectIdentifier(dsc.EKU_FOR_TYPE[t][0]) for t in "vtr"]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    return SoftwareSigner(key, cert)
