from datetime import timedelta

import cbor2
import pytest

from appliance.dcc import dsc
from appliance.devices.signer import SoftwareSigner
from appliance.errors import DscError
from appliance.dcc.sign import sign_dcc, sig_structure
from tests.support.pki import verify_raw


def test_cose_structure_and_signature(software_signer, now):
    dcc = {"ver": "1.3.0", "x": "ä"}
    signed = sign_dcc(dcc, software_signer, issuer_country="DE", iat=now, exp=now + timedelta(days=10))
    assert signed.cose[:1] == b"\xd2"                   # tag 18, no tag 61
    tag = cbor2.loads(signed.cose)
    assert tag.tag == 18
    protected, unprotected, payload, sig = tag.value
    assert cbor2.loads(protected) == {1: -7, 4: software_signer.kid}
    assert unprotected == {}
    claims = cbor2.loads(payload)
    assert claims == {1: "DE", 4: int((now + timedelta(days=10)).timestamp()), 6: int(now.timestamp()), -260: {1: dcc}}
    assert isinstance(claims[4], int) and isinstance(claims[6], int)
    assert len(sig) == 64
    verify_raw(software_signer.certificate, sig_structure(protected, payload), sig)


def test_kid_is_sha256_of_dsc_der(software_signer):
    from cryptography.hazmat.primitives import serialization
    import hashlib
    der = software_signer.certificate.public_bytes(serialization.Encoding.DER)
    assert software_signer.kid == hashlib.sha256(der).digest()[:8] == dsc.kid_of(software_signer.certificate)


def test_exp_is_cut_back_to_dsc_not_after(software_signer, now):
    signed = sign_dcc({}, software_signer, issuer_country="DE", iat=now, exp=now + timedelta(days=5000))
    assert signed.exp == int(dsc.not_after(software_signer.certificate).timestamp())


def test_iat_outside_dsc_validity_is_refused(software_signer, now):
    with pytest.raises(DscError, match="outside the DSC validity"):
        sign_dcc({}, software_signer, issuer_country="DE", iat=now - timedelta(days=30), exp=now)


def test_software_signer_files_are_private(tmp_path, now):
    s1 = SoftwareSigner.open(tmp_path, now=now)
    key = tmp_path / "software-signer" / "key.pem"
    assert key.stat().st_mode & 0o777 == 0o600
    s2 = SoftwareSigner.open(tmp_path, now=now)
    assert s1.kid == s2.kid


@pytest.mark.parametrize("size", [0, 1, 23, 24, 255, 256, 65535, 65536])
def test_hand_framed_cbor_equals_cbor2(size):
    from appliance.dcc.sign import _bstr
    payload, protected = bytes(range(256)) * (size // 256) + bytes(size % 256), b"\xa2\x01\x26\x04\x48" + bytes(8)
    assert sig_structure(protected, payload) == cbor2.dumps(["Signature1", protected, b"", payload])
    assert _bstr(payload) == cbor2.dumps(payload)


def test_cose_bytes_equal_cbor2_encoding(software_signer, now):
    signed = sign_dcc({"ver": "1.3.0"}, software_signer, issuer_country="DE", iat=now, exp=now + timedelta(days=1))
    tag = cbor2.loads(signed.cose)
    assert signed.cose == cbor2.dumps(cbor2.CBORTag(18, list(tag.value)))
