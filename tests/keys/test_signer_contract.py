"""The Signer contract, run against the software, SoftHSM2 and swtpm signers alike."""

from __future__ import annotations

import os
import threading
from datetime import timedelta

import cbor2
import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from appliance.dcc import dsc, sign
from appliance.config import load_config
from appliance.devices.pkcs11_signer import Pkcs11Signer, parse_pkcs11_uri, read_pin, signer_target
from appliance.errors import ConfigError, DscError, SignerUnavailable
from tests.support.clock import REAL_NOW
from tests.support.pki import verify_raw
from tests.support.toolcheck import require


def test_signature_is_raw_es256_and_verifies_with_the_dsc(any_signer):
    # the Signer port, by what its members give (not only by their names)
    assert isinstance(any_signer.kid, bytes) and len(any_signer.kid) == 8
    assert isinstance(any_signer.certificate, x509.Certificate)
    message = os.urandom(200)
    raw = any_signer.sign(message)
    assert isinstance(raw, bytes) and len(raw) == 64
    verify_raw(any_signer.certificate, message, raw)
    with pytest.raises(InvalidSignature):
        verify_raw(any_signer.certificate, message + b"x", raw)


def test_ecdsa_is_randomised_and_both_signatures_verify(any_signer):
    message = b"same message"
    a, b = any_signer.sign(message), any_signer.sign(message)
    assert a != b
    verify_raw(any_signer.certificate, message, a)
    verify_raw(any_signer.certificate, message, b)


def test_kid_is_the_first_8_bytes_of_the_dsc_hash(any_signer):
    assert len(any_signer.kid) == 8
    assert any_signer.kid == dsc.kid_of(any_signer.certificate)


def test_public_key_is_the_certificate_key(any_signer):
    fmt = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert any_signer.public_key().public_bytes(*fmt) == any_signer.certificate.public_key().public_bytes(*fmt)


def test_sign_dcc_produces_a_cose_sign1_that_verifies(any_signer):
    iat = REAL_NOW
    signed = sign.sign_dcc({"ver": "1.3.0"}, any_signer, issuer_country="DE", iat=iat, exp=iat + timedelta(days=1))
    tag = cbor2.loads(signed.cose)
    protected, _, payload, signature = tag.value
    assert cbor2.loads(protected) == {1: -7, 4: any_signer.kid}
    verify_raw(any_signer.certificate, sign.sig_structure(protected, payload), signature)


@pytest.mark.parametrize("kind", ["softhsm", "tpm"])
def test_threads_share_one_signer_safely(kind, request):
    signer = request.getfixturevalue(f"{kind}_signer")
    results: list[tuple[bytes, bytes]] = []
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(25):
                msg = f"thread {n} message {i}".encode()
                results.append((msg, signer.sign(msg)))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(results) == 100
    for msg, raw in results:
        verify_raw(signer.certificate, msg, raw)


def test_dsc_for_another_key_refuses_to_sign(softhsm_token, softhsm_signer, tmp_path, make_dsc):
    from appliance.keys import labca

    ca, _ = labca.init(tmp_path / "ca", country="DE", now=REAL_NOW)
    (tmp_path / "dsc.pem").write_bytes(make_dsc(ca, ec.generate_private_key(ec.SECP256R1()).public_key()))
    config = load_config(env={}, overrides=softhsm_token.config_overrides("contract-key"), state_dir=tmp_path)
    signer = Pkcs11Signer.from_config(config)
    try:
        assert signer.problem and "another key" in signer.problem
        with pytest.raises(DscError, match="another key"):
            sign.sign_dcc({"ver": "1.3.0"}, signer, issuer_country="DE", iat=REAL_NOW,
                          exp=REAL_NOW + timedelta(days=1))
    finally:
        signer.close()


def test_no_dsc_means_empty_kid_and_sign_dcc_refuses(softhsm_token, softhsm_signer, tmp_path):
    config = load_config(env={}, overrides=softhsm_token.config_overrides("contract-key"), state_dir=tmp_path)
    signer = Pkcs11Signer.from_config(config)
    try:
        assert signer.certificate is None and signer.kid == b""
        with pytest.raises(DscError, match="import-dsc"):
            sign.sign_dcc({"ver": "1.3.0"}, signer, issuer_country="DE", iat=REAL_NOW,
                          exp=REAL_NOW + timedelta(days=1))
    finally:
        signer.close()


def test_missing_key_and_token_are_signer_unavailable(softhsm_token, softhsm_signer, tmp_path):
    cfg = load_config(env={}, overrides=softhsm_token.config_overrides("no-such-key"), state_dir=tmp_path)
    with pytest.raises(SignerUnavailable, match="no key 'no-such-key'.*provision keygen"):
        Pkcs11Signer.from_config(cfg)
    over = softhsm_token.config_overrides()
    over["signer"]["token"] = "no-such-token"
    cfg = load_config(env={}, overrides=over, state_dir=tmp_path)
    with pytest.raises(SignerUnavailable, match="no token labelled 'no-such-token'"):
        Pkcs11Signer.from_config(cfg)


def test_missing_module_names_path_and_package(tmp_path):
    pin = tmp_path / "pin"
    pin.write_text("1234")
    pin.chmod(0o600)
    cfg = load_config(env={}, state_dir=tmp_path, overrides={"signer": {
        "kind": "pkcs11", "module": str(tmp_path / "libnothing.so"), "token": "t", "pin_file": str(pin)}})
    with pytest.raises(SignerUnavailable) as info:
        Pkcs11Signer.from_config(cfg)
    assert "libnothing.so" in str(info.value) and "libtpm2-pkcs11-1" in str(info.value)


def test_uri_overrides_token_and_key_label():
    parts = parse_pkcs11_uri("pkcs11:token=dcc%20tpm;object=my-key;type=private?module-path=/m.so&pin-value=x")
    assert parts["token"] == "dcc tpm" and parts["object"] == "my-key" and parts["module-path"] == "/m.so"
    cfg = load_config(env={}, overrides={"signer": {"kind": "pkcs11", "module": "/other.so", "token": "t0",
                                                    "uri": "pkcs11:token=dcc%20tpm;object=my-key"}})
    assert signer_target(cfg.signer) == ("/other.so", "dcc tpm", "my-key")
    for bad in ("http://x", "pkcs11:token"):
        with pytest.raises(ConfigError):
            parse_pkcs11_uri(bad)


def test_pin_comes_from_the_systemd_credential_before_the_pin_file(tmp_path):
    creds = tmp_path / "creds"
    creds.mkdir()
    pin_file = tmp_path / "pin"
    pin_file.write_text("1111\n")
    pin_file.chmod(0o600)
    cfg = load_config(env={}, overrides={"signer": {"pin_file": str(pin_file)}})
    assert read_pin(cfg.signer, env={}) == ("1111", str(pin_file))
    (creds / "pin").write_text("2222\n")
    (creds / "pin").chmod(0o600)
    assert read_pin(cfg.signer, env={"CREDENTIALS_DIRECTORY": str(creds)}) == ("2222", str(creds / "pin"))
    missing = load_config(env={}, overrides={"signer": {"pin_file": str(tmp_path / "nope")}})
    with pytest.raises(SignerUnavailable, match="does not exist"):
        read_pin(missing.signer, env={})
    pin_file.write_text("\n")
    pin_file.chmod(0o600)
    with pytest.raises(SignerUnavailable, match="is empty"):
        read_pin(cfg.signer, env={})


def test_wrong_pin_is_reported_with_the_pin_file(tmp_path):
    from appliance.keys import softtokens

    require(softtokens.softhsm_available(), "SoftHSM2 is not installed")
    # a second SoftHSM configuration cannot be loaded into this process; use a child process
    import subprocess
    import sys

    with softtokens.SoftHsmToken(tmp_path / "tok") as tok:
        tok.pin_file.write_text("9999\n")
        code = ("from appliance.config import load_config\n"
                "from appliance.devices.pkcs11_signer import Pkcs11Signer\n"
                "from appliance.errors import SignerUnavailable\n"
                f"cfg = load_config(env={{}}, overrides={tok.config_overrides()!r})\n"
                "try:\n    Pkcs11Signer.from_config(cfg)\nexcept SignerUnavailable as e:\n    print(e)\n")
        out = subprocess.run([sys.executable, "-c", code], env={**os.environ, **tok.env},
                             capture_output=True, text=True, timeout=60)
    assert f"the PIN in {tok.pin_file} is wrong" in out.stdout
    assert "9999" not in out.stdout + out.stderr


def test_a_pin_file_readable_by_group_or_others_is_refused(tmp_path):
    """Finding 10: the PIN must be the service user's alone."""
    pin_file = tmp_path / "pin"
    pin_file.write_text("1234\n")
    cfg = load_config(env={}, overrides={"signer": {"pin_file": str(pin_file)}})
    for mode in (0o644, 0o640, 0o604):
        pin_file.chmod(mode)
        with pytest.raises(SignerUnavailable, match=r"readable by group or others .*chmod 600"):
            read_pin(cfg.signer, env={})
    pin_file.chmod(0o600)
    assert read_pin(cfg.signer, env={})[0] == "1234"
