"""Reference-data test kit: a test CA (the trust anchor), a reference-data key it certified, and
bundles built and signed by the real code (:mod:`appliance.reference.publish`) from files.

Inputs come from tests/vectors only: a new test-manf value-set version with a RAT device id
the packaged list lacks, a trust list of dgc-testdata DSCs, revocation batches, and rules.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from appliance.dcc import valuesets
from appliance.reference import publish
from appliance.reference.bundle import peek
from tests.support.paths import REPO
from tests.support.vectors import load_vectors

RULES = REPO / "tests" / "vectors" / "rules" / "testdata"
NEW_RAT_DEVICE = "9999"          #: not in the packaged (2021-07-01) test-manf list
NEW_TEST_MANF_DATE = "2026-11-01"


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "DE"), x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _cert(subject: str, key, issuer_name: x509.Name, issuer_key, *, ca: bool, days: int = 3650):
    start = datetime.now(timezone.utc) - timedelta(days=2000)   # covers the tests' fixed clock (2026)
    return (x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(issuer_name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(start + timedelta(days=days + 2000))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .sign(issuer_key, hashes.SHA256()))


@dataclass
class ReferenceKit:
    """The central office's trust anchor and its reference-data signing key."""

    anchor_key: ec.EllipticCurvePrivateKey
    anchor: x509.Certificate
    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate

    @classmethod
    def make(cls) -> "ReferenceKit":
        anchor_key = ec.generate_private_key(ec.SECP256R1())
        anchor = _cert("TEST reference-data CA", anchor_key, _name("TEST reference-data CA"), anchor_key, ca=True)
        key = ec.generate_private_key(ec.SECP256R1())
        return cls(anchor_key, anchor, key, _cert("TEST reference-data signer", key, anchor.subject, anchor_key, ca=False))

    def write(self, folder: Path) -> dict[str, Path]:
        """anchor.pem, signer.pem and signer-key.pem in ``folder``."""
        folder.mkdir(parents=True, exist_ok=True)
        files = {"anchor": folder / "anchor.pem", "cert": folder / "signer.pem", "key": folder / "signer-key.pem"}
        files["anchor"].write_bytes(self.anchor.public_bytes(serialization.Encoding.PEM))
        files["cert"].write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))
        files["key"].write_bytes(self.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                        serialization.NoEncryption()))
        return files

    def bundle(self, previous: bytes | None = None, *, now: datetime | None = None, **inputs) -> bytes:
        """A signed bundle of ``inputs`` (valuesets=DIR, trustlist=FILE, revocations=FILE|list, rules=DIR),
        versions one above ``previous`` (carrying its other parts forward)."""
        new = publish.read_inputs(**inputs)
        data, _parts = publish.build(new, peek(previous) if previous else None, key=self.key, certificate=self.cert,
                                     now=now or datetime.now(timezone.utc), publisher="test office")
        return data


def new_valuesets(folder: Path, *, device: str = NEW_RAT_DEVICE, date: str = NEW_TEST_MANF_DATE) -> Path:
    """A value-set folder: the packaged test-manf list plus ``device``, dated ``date``."""
    folder.mkdir(parents=True, exist_ok=True)
    doc = copy.deepcopy(valuesets._packaged_documents()["test-manf"])
    doc["valueSetDate"] = date
    doc["valueSetValues"][device] = {"display": "TEST Rapid Kit 2026", "lang": "en", "active": True,
                                     "system": "https://covid-19-diagnostics.jrc.ec.europa.eu/devices",
                                     "version": "2026-11-01"}
    (folder / "test-manf.json").write_text(json.dumps(doc), encoding="utf-8")
    return folder


def foreign_vector(country: str = "BE"):
    """A dgc-testdata vector of ``country`` that the verifier accepts WITH its own DSC at its clock
    (the tests then check what happens without ``--dsc``)."""
    from appliance.dcc import verify as V

    for vec in load_vectors():
        flags = vec.flags()
        if (vec.country == country and vec.field("PREFIX") and flags.get("EXPECTEDVERIFY") is True
                and flags.get("EXPECTEDEXPIRATIONCHECK") is True
                and V.verify(vec.field("PREFIX"), dscs=[vec.certificate()], at=vec.clock()).valid):
            return vec
    raise LookupError(f"no usable {country} vector")


def trustlist_file(path: Path, vectors) -> Path:
    """A trust-list input of the vectors' DSCs (country from the vector folder, all types)."""
    entries = [{"certificate": base64.b64encode(v.certificate().public_bytes(serialization.Encoding.DER)).decode(),
                "country": v.country if len(v.country) == 2 else "XX", "types": ["v", "t", "r"]} for v in vectors]
    path.write_text(json.dumps(entries), encoding="utf-8")
    return path


def uci_batch(uvci: str, country: str = "AT") -> list[dict]:
    """One gateway revocation batch revoking ``uvci`` by its UCI hash."""
    h = base64.b64encode(hashlib.sha256(uvci.encode()).digest()[:16]).decode()
    return [{"country": country, "kid": "AAAAAAAAAAA=", "hashType": "UCI", "expires": "2030-01-01T00:00:00Z",
             "entries": [{"hash": h}]}]


def rules_folder(folder: Path, *countries: str) -> Path:
    """The gateway test data's rule.json files of ``countries`` copied to ``folder``."""
    for cc in countries:
        for rule in sorted((RULES / cc).glob("*/rule.json")):
            target = folder / cc / f"{rule.parent.name}.json"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(rule.read_bytes())
    return folder
