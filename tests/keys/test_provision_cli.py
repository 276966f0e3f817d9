"""``appliance provision`` end to end through the real CLI on a real SoftHSM2 token."""

from __future__ import annotations

import json

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from appliance.dcc import dsc


def ok(result):
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result.stdout


def provisioned(cli, types: str = "v,t,r"):
    ok(cli("provision", "keygen"))
    ok(cli("provision", "csr", "--subject", "C=DE,O=Testzentrum Musterstadt,CN=DSC 0001", "--out",
           str(cli.folder / "req.pem")))
    ok(cli("provision", "lab-ca", "init"))
    ok(cli("provision", "lab-ca", "sign", str(cli.folder / "req.pem"), "--out", str(cli.folder / "dsc.pem"),
           "--types", types))
    return ok(cli("provision", "import-dsc", str(cli.folder / "dsc.pem")))


def status(cli) -> dict:
    result = cli("provision", "status", "--json")
    assert "Traceback" not in result.stderr
    return json.loads(result.stdout)


def test_fresh_token_is_not_ready_and_says_what_to_do(cli):
    result = cli("provision", "status", "--json")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["token"]["present"] and report["key"] is None and not report["ready"]
    assert any("provision keygen" in p for p in report["problems"])


def test_lifecycle_keygen_csr_lab_ca_import_status(cli):
    out = provisioned(cli, types="v,t")
    cert = x509.load_pem_x509_certificate((cli.state / "dsc.pem").read_bytes())
    assert dsc.kid_b64(cert) in out
    csr = x509.load_pem_x509_csr((cli.folder / "req.pem").read_bytes())
    assert csr.is_signature_valid
    assert [a.oid for a in csr.subject] == [NameOID.COUNTRY_NAME, NameOID.ORGANIZATION_NAME, NameOID.COMMON_NAME]
    fmt = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert cert.public_key().public_bytes(*fmt) == csr.public_key().public_bytes(*fmt)
    report = status(cli)
    assert report["ready"] and report["problems"] == []
    assert report["key"]["non_extractable"] and report["key"]["matches_dsc"]
    assert report["dsc"]["eku"] == ["vaccination", "test"]
    assert report["dsc"]["kid"] == dsc.kid_b64(cert)
    assert "LAB/TEST CSCA - not for production" in report["dsc"]["issuer"]
    assert 728 <= report["dsc"]["days_left"] <= 730
    human = ok(cli("provision", "status"))
    assert "ready to issue" in human and dsc.kid_b64(cert) in human


def test_every_step_is_idempotent(cli):
    provisioned(cli)
    objects, files = cli.token_objects(), cli.files()
    assert "already exists" in ok(cli("provision", "keygen"))
    assert "exists already" in ok(cli("provision", "lab-ca", "init"))
    assert "nothing changed" in ok(cli("provision", "import-dsc", str(cli.folder / "dsc.pem")))
    assert cli.token_objects() == objects
    assert cli.files() == files


def test_rotation_keeps_signing_until_the_new_dsc_is_imported(cli):
    provisioned(cli)
    old_kid = status(cli)["dsc"]["kid"]
    ok(cli("provision", "keygen", "--rotate"))
    report = status(cli)
    assert report["ready"] and report["dsc"]["kid"] == old_kid  # the current DSC keeps signing
    assert report["pending_key"]["label"] == "dcc-signing-key-gen2" and report["pending_key"]["non_extractable"]
    assert report["pending_key"]["attributes"]["modifiable"] is False
    assert "dcc-signing-key-gen2" in ok(cli("provision", "csr", "--subject", "C=DE,CN=DSC 0002",
                                             "--out", str(cli.folder / "next.pem")))
    ok(cli("provision", "lab-ca", "sign", str(cli.folder / "next.pem"), "--out", str(cli.folder / "next-dsc.pem")))
    before = cli.files()
    refused = cli("provision", "import-dsc", str(cli.folder / "next-dsc.pem"), stdin="")
    assert refused.returncode == 2 and "--yes" in refused.stderr
    assert cli.files() == before and status(cli)["dsc"]["kid"] == old_kid
    assert "switched" in ok(cli("provision", "import-dsc", str(cli.folder / "next-dsc.pem"), "--yes"))
    report = status(cli)
    new = x509.load_pem_x509_certificate((cli.folder / "next-dsc.pem").read_bytes())
    assert report["ready"] and report["dsc"]["kid"] == dsc.kid_b64(new) != old_kid
    assert report["key"]["matches_dsc"] and report["pending_key"] is None
    assert (cli.state / "dsc.pem.prev").read_bytes() == (cli.folder / "dsc.pem").read_bytes()
    assert report["key"]["label"] == "dcc-signing-key-gen2" and report["key"]["attributes"]["modifiable"] is False
    objects = cli.token_objects()   # nothing renamed: the old key stays as it was, beside the new one
    assert "label:      dcc-signing-key\n" in objects and "dcc-signing-key-gen2" in objects


def test_rotating_twice_asks_before_replacing_the_pending_key(cli):
    provisioned(cli)
    ok(cli("provision", "keygen", "--rotate"))
    objects = cli.token_objects()
    refused = cli("provision", "keygen", "--rotate", stdin="")
    assert refused.returncode == 2 and "replace it?" in refused.stderr and "--yes" in refused.stderr
    assert cli.token_objects() == objects
    ok(cli("provision", "keygen", "--rotate", "--yes"))
    assert cli.token_objects() != objects


def test_lab_dsc_follows_the_dcc_certificate_governance(cli):
    provisioned(cli, types="t,r")
    ca = x509.load_pem_x509_certificate((cli.state / "lab-ca" / "ca.pem").read_bytes())
    cert = x509.load_pem_x509_certificate((cli.state / "dsc.pem").read_bytes())
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.path_length == 0
    assert ca.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign
    ku = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert ku.critical and ku.value.digital_signature and not ku.value.key_cert_sign
    aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
    assert aki == ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    assert cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    ekus = {o.dotted_string for o in cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value}
    assert ekus == {"1.3.6.1.4.1.1847.2021.1.1", "1.3.6.1.4.1.1847.2021.1.3"}
    assert ExtendedKeyUsageOID.SERVER_AUTH.dotted_string not in ekus
    assert cert.issuer == ca.subject
    ca.public_key().verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(cert.signature_hash_algorithm))
    assert ca.not_valid_before_utc <= cert.not_valid_before_utc and cert.not_valid_after_utc <= ca.not_valid_after_utc
    assert "LAB/TEST" in cert.subject.rfc4514_string() and "not for production" in ca.subject.rfc4514_string()
    assert (cli.state / "lab-ca" / "ca.key").stat().st_mode & 0o777 == 0o600
    assert (cli.state / "dsc.pem").stat().st_mode & 0o777 == 0o644


def test_user_add_creates_an_account_that_can_sign_in(cli):
    from appliance.settings import Settings

    ok(cli("provision", "user", "add", "anna", "--role", "admin", "--password-stdin", stdin="correct horse battery\n"))
    settings = Settings.open(cli.state)
    try:
        assert settings.check_password("anna", "correct horse battery")["role"] == "admin"
        assert settings.check_password("anna", "wrong") is None
    finally:
        settings.close()
    again = cli("provision", "user", "add", "anna", "--role", "staff", "--password-stdin", stdin="another password\n")
    assert again.returncode != 0 and "Traceback" not in again.stderr
    assert again.stderr.count("\n") == 1 and "correct horse" not in again.stderr
