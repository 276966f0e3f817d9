"""Bad input: one clear line, a non-zero exit, no traceback, nothing changed on the token or on disk."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives import serialization

from appliance.keys import labca
from tests.support.clock import REAL_NOW


def refused(cli, *args, expect: str, code: int | None = None, env: dict | None = None, stdin: str | None = None):
    objects, files = cli.token_objects(), cli.files()
    saved = dict(cli.env)
    cli.env.update(env or {})
    try:
        result = cli("provision", *args, stdin=stdin)
    finally:
        cli.env.clear()
        cli.env.update(saved)
    assert result.returncode != 0
    if code is not None:
        assert result.returncode == code
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("appliance: error: "), result.stderr
    assert expect in lines[0], lines[0]
    assert cli.token_objects() == objects
    assert cli.files() == files
    return lines[0]


def dsc_for_token_key(cli, tmp_path, *, now, days: int, name: str) -> str:
    ca = labca.load(cli.state)
    cert = labca.sign_csr(ca, labca.load_csr((cli.folder / "req.pem").read_bytes()), types="vtr", now=now, days=days)
    path = tmp_path / name
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return str(path)


def test_wrong_pin(ready_cli, tmp_path):
    pin = tmp_path / "wrong.pin"
    pin.write_text("9999\n")
    pin.chmod(0o600)
    line = refused(ready_cli, "keygen", "--rotate", "--yes", env={"APPLIANCE_SIGNER__PIN_FILE": str(pin)},
                   expect=f"the PIN in {pin} is wrong")
    assert "9999" not in line


def test_missing_module(ready_cli, tmp_path):
    module = str(tmp_path / "lib" / "libtpm2_pkcs11.so")
    line = refused(ready_cli, "keygen", env={"APPLIANCE_SIGNER__MODULE": module}, expect=f"{module} not found")
    assert "libtpm2-pkcs11-1" in line


def test_missing_token(ready_cli):
    refused(ready_cli, "keygen", env={"APPLIANCE_SIGNER__TOKEN": "absent"}, expect="no token labelled 'absent'")


def test_software_signer_cannot_be_provisioned(ready_cli):
    refused(ready_cli, "keygen", env={"APPLIANCE_SIGNER__KIND": "software"}, expect='kind = "pkcs11"', code=2)


def test_token_without_a_key(cli, tmp_path, other_csr):
    refused(cli, "csr", "--subject", "C=DE,CN=x", "--out", str(cli.folder / "req.pem"), expect="has no key")
    csr = tmp_path / "other.csr"
    csr.write_bytes(other_csr("C=DE,CN=other"))
    assert cli("provision", "lab-ca", "init").returncode == 0
    assert cli("provision", "lab-ca", "sign", str(csr), "--out", str(tmp_path / "other.pem")).returncode == 0
    refused(cli, "import-dsc", str(tmp_path / "other.pem"), expect="has no key")


@pytest.mark.parametrize("subject, expect", [
    ("garbage", "subject: 'garbage' is not a distinguished name"),
    ("CN=DSC 0001", "needs exactly one C="),
    ("C=Germany,CN=DSC 0001", "subject: "),
    ("C=DE,O=Centre", "needs a CN="),
    ("C=DE,CN=", "subject: "),
    ("C=DE,C=FR,CN=a", "needs exactly one C="),
    ("C=DE,1.2.3.4=x,CN=a", "is not allowed"),
])
def test_malformed_subject(ready_cli, subject, expect):
    refused(ready_cli, "csr", "--subject", subject, "--out", str(ready_cli.folder / "new.pem"), expect=expect)


def test_dsc_for_another_key(ready_cli, tmp_path, other_csr):
    csr = tmp_path / "other.csr"
    csr.write_bytes(other_csr("C=DE,CN=other device"))
    out = tmp_path / "other-dsc.pem"
    ca = labca.load(ready_cli.state)
    out.write_bytes(labca.sign_csr(ca, labca.load_csr(csr.read_bytes()), types="vtr", now=REAL_NOW)
                    .public_bytes(serialization.Encoding.PEM))
    refused(ready_cli, "import-dsc", str(out), expect="is for another key")


def test_expired_dsc(ready_cli, tmp_path):
    path = dsc_for_token_key(ready_cli, tmp_path, now=REAL_NOW - timedelta(days=10), days=2, name="expired.pem")
    refused(ready_cli, "import-dsc", path, expect="expired on")


def test_not_yet_valid_dsc(ready_cli, tmp_path):
    path = dsc_for_token_key(ready_cli, tmp_path, now=REAL_NOW + timedelta(days=10), days=30, name="future.pem")
    refused(ready_cli, "import-dsc", path, expect="is not valid before")


def test_ca_certificate_offered_as_dsc(ready_cli):
    refused(ready_cli, "import-dsc", str(ready_cli.state / "lab-ca" / "ca.pem"), expect="is a CA certificate")


@pytest.mark.parametrize("content", [os.urandom(300), b"", b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
                                     "[signer]\nkind = 1\n".encode()])
def test_garbage_dsc_file(ready_cli, tmp_path, content):
    path = tmp_path / "garbage.pem"
    path.write_bytes(content)
    refused(ready_cli, "import-dsc", str(path), expect="is not a certificate")


def test_missing_dsc_file(ready_cli, tmp_path):
    refused(ready_cli, "import-dsc", str(tmp_path / "nope.pem"), expect="cannot read")


def test_garbage_csr_and_bad_types(ready_cli, tmp_path):
    path = tmp_path / "garbage.csr"
    path.write_bytes(os.urandom(100))
    out = str(tmp_path / "out.pem")
    refused(ready_cli, "lab-ca", "sign", str(path), "--out", out, expect="not a PKCS#10 certificate request")
    refused(ready_cli, "lab-ca", "sign", str(ready_cli.folder / "req.pem"), "--out", out, "--types", "v,x",
            expect="give a comma list of v, t, r")
    assert not os.path.exists(out)


def test_lab_ca_sign_before_init(cli, other_csr, tmp_path):
    csr = tmp_path / "other.csr"
    csr.write_bytes(other_csr())
    refused(cli, "lab-ca", "sign", str(csr), "--out", str(tmp_path / "x.pem"), expect="lab-ca init", code=2)


def test_user_add_rejects_a_short_password(ready_cli):
    line = refused(ready_cli, "user", "add", "bob", "--role", "staff", "--password-stdin", stdin="x\n", expect="password")
    assert "x\n" not in line


def test_dsc_whose_critical_eku_allows_no_dcc_type(ready_cli, tmp_path):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    ca = labca.load(ready_cli.state)
    csr = labca.load_csr((ready_cli.folder / "req.pem").read_bytes())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "DE"),
                                     x509.NameAttribute(NameOID.COMMON_NAME, "TLS, not DCC")]))
            .issuer_name(ca.certificate.subject).public_key(csr.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(REAL_NOW - timedelta(days=1)).not_valid_after(REAL_NOW + timedelta(days=30))
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=True)
            .sign(ca.key, hashes.SHA256()))
    path = tmp_path / "tls.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    refused(ready_cli, "import-dsc", str(path), expect="allows no DCC type")
