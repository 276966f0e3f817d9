"""Pure parts of provisioning: subjects, types, CSR checks, DSC warnings; and the signer benchmark."""

from __future__ import annotations

from datetime import timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from appliance.keys import labca, provision
from appliance.keys.csr import parse_subject
from appliance.errors import InvalidInput
from tests.support.clock import NOW


def test_subject_keeps_the_written_order_and_escapes():
    name = parse_subject(r"C=DE,O=Praxis Dr. Muster\, Mitte,OU=Impfen,CN=DSC 0001")
    assert [(a.oid, a.value) for a in name] == [
        (NameOID.COUNTRY_NAME, "DE"), (NameOID.ORGANIZATION_NAME, "Praxis Dr. Muster, Mitte"),
        (NameOID.ORGANIZATIONAL_UNIT_NAME, "Impfen"), (NameOID.COMMON_NAME, "DSC 0001")]


@pytest.mark.parametrize("text", ["", "C=DE", "CN=x", "C=de,CN=x", "C=DE,C=AT,CN=x", "C=DE,CN=x,EMAIL=a@b",
                                  "C=DE,,CN=x=y=", "C=DE;CN=x"])
def test_bad_subjects_name_the_field(text):
    with pytest.raises(InvalidInput) as info:
        parse_subject(text)
    assert list(info.value.field_errors) == ["subject"]


def test_types_parse_in_order_without_duplicates():
    assert labca.parse_types("v,t,r") == "vtr"
    assert labca.parse_types(" r , v ,r") == "rv"
    for bad in ("", "x", "v,,q", "vaccination"):
        with pytest.raises(InvalidInput):
            labca.parse_types(bad)


def test_csr_with_a_bad_signature_or_curve_is_refused(other_csr):
    pem = other_csr("C=DE,CN=x")
    assert labca.load_csr(pem).subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "x"
    der = x509.load_pem_x509_csr(pem).public_bytes(serialization.Encoding.DER)
    tampered = der[:-8] + bytes(b ^ 0xFF for b in der[-8:])
    with pytest.raises(InvalidInput):
        labca.load_csr(tampered)
    p384 = ec.generate_private_key(ec.SECP384R1())
    csr = (x509.CertificateSigningRequestBuilder()
           .subject_name(x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "DE"),
                                    x509.NameAttribute(NameOID.COMMON_NAME, "x")]))
           .sign(p384, hashes.SHA256()))
    with pytest.raises(InvalidInput, match="P-256"):
        labca.load_csr(csr.public_bytes(serialization.Encoding.PEM))


def test_dsc_never_outlives_the_csca(tmp_path, other_csr):
    ca, created = labca.init(tmp_path, country="DE", now=NOW)
    assert created and labca.init(tmp_path, country="DE", now=NOW)[1] is False
    cert = labca.sign_csr(ca, labca.load_csr(other_csr()), types="v", now=NOW, days=365 * 10)
    assert cert.not_valid_after_utc == ca.certificate.not_valid_after_utc


@pytest.mark.parametrize("days_left, problems, warnings", [(40, 0, 0), (20, 0, 1), (-1, 1, 0)])
def test_status_warns_30_days_before_expiry(tmp_path, other_csr, days_left, problems, warnings):
    ca, _ = labca.init(tmp_path, country="DE", now=NOW - timedelta(days=400))
    cert = labca.sign_csr(ca, labca.load_csr(other_csr()), types="vtr", now=NOW - timedelta(days=10),
                          days=10 + days_left)
    p, w = provision.dsc_problems(cert, NOW)
    assert (len(p), len(w)) == (problems, warnings)
    if w:
        assert "keygen --rotate" in w[0]


def test_signer_benchmark_reports_every_signer(tmp_path):
    from appliance.benchmarks.runner import BenchContext
    from appliance.benchmarks import signers

    rows = signers.run(BenchContext(tmp=tmp_path, quick=True))
    names = [r[0] for r in rows]
    for kind in ("software", "softhsm", "swtpm"):
        assert f"{kind}: signatures/s" in names
    for metric, value, _ in rows:
        if value != "not installed":
            assert float(value) > 0, metric
