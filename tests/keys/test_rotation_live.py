"""A running signer follows import-dsc and key rotation without a restart (SoftHSM2, in process)."""

from __future__ import annotations

from datetime import timedelta

import cbor2
from cryptography.hazmat.primitives import serialization

from appliance.dcc import dsc, sign
from appliance.keys import labca, provision
from appliance.config import load_config
from appliance.devices.pkcs11_signer import Pkcs11Signer
from appliance.devices.pkcs11_token import Token
from tests.support.clock import REAL_NOW
from tests.support.pki import raw_signature_verifies as verifies


def lab_dsc(token: Token, label: str, state) -> bytes:
    pem, used = provision.make_csr(token, label, "C=DE,CN=DSC live", state_dir=state)
    ca, _ = labca.init(state / "ca", country="DE", now=REAL_NOW)
    return labca.sign_csr(ca, labca.load_csr(pem), types="vtr", now=REAL_NOW).public_bytes(serialization.Encoding.PEM)


def test_running_signer_picks_up_first_dsc_and_rotation(softhsm_token, softhsm_signer, tmp_path):
    label = "live-key"
    config = load_config(env={}, overrides=softhsm_token.config_overrides(label), state_dir=tmp_path)
    token, _ = provision.open_token(config)
    try:
        provision.keygen(token, label, rotate=False, confirm=lambda q: False, state_dir=tmp_path)
        signer = Pkcs11Signer.from_config(config)
        assert signer.certificate is None
        provision.import_dsc(token, label, tmp_path, lab_dsc(token, label, tmp_path), now=REAL_NOW,
                             confirm=lambda q: False)
        first = signer.certificate
        assert first is not None and signer.kid == dsc.kid_of(first)
        assert verifies(first, b"m1", signer.sign(b"m1"))

        provision.keygen(token, label, rotate=True, confirm=lambda q: False, state_dir=tmp_path)
        assert signer.certificate == first and verifies(first, b"m2", signer.sign(b"m2"))  # old key still signs
        new_pem = lab_dsc(token, label, tmp_path)  # CSR from the pending key
        asked = []
        provision.import_dsc(token, label, tmp_path, new_pem, now=REAL_NOW, confirm=lambda q: asked.append(q) or True)
        assert asked and "switch signing" in asked[0]
        second = signer.certificate
        assert second != first and signer.kid == dsc.kid_of(second)
        signed = sign.sign_dcc({"ver": "1.3.0"}, signer, issuer_country="DE", iat=REAL_NOW,
                               exp=REAL_NOW + timedelta(days=1))
        protected, _, payload, _ = cbor2.loads(signed.cose).value
        assert verifies(second, sign.sig_structure(protected, payload), signed.signature)
        assert not verifies(first, b"m3", signer.sign(b"m3"))
        assert token.has_key(label) and token.has_key(label + "-gen2")   # nothing renamed: the old key stays
        assert provision.active_key(token, label, tmp_path) == label + "-gen2"
        signer.close()
    finally:
        token.release()
