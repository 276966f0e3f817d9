"""Issue 11, finding 10 (rest): the DCC key is CKA_MODIFIABLE=false, before and after a rotation,
and rotation never modifies a key object (SoftHSM2 refuses to rename a read-only key).

The active key is named by ``<state>/signing-key.json`` (label and CKA_ID), so a rotation makes a
new key, switches the record at ``import-dsc`` and destroys only keys two generations old.
"""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from pkcs11 import Attribute as A
from pkcs11 import exceptions as px

from appliance.config import load_config
from appliance.dcc import dsc, verify
from appliance.devices.pkcs11_signer import Pkcs11Signer, load_dsc
from appliance.keys import labca, provision
from tests.support.clock import NOW

LABEL = "ro-key"


def _dsc_for_csr(token, state) -> bytes:
    pem, _ = provision.make_csr(token, LABEL, "C=DE,CN=DSC read-only", state_dir=state)
    ca, _ = labca.init(state / "ca", country="DE", now=NOW)
    return labca.sign_csr(ca, labca.load_csr(pem), types="vtr", now=NOW).public_bytes(serialization.Encoding.PEM)


def _assert_read_only(token, label: str) -> None:
    assert token.security_attributes(label)["modifiable"] is False
    key = token.private_key(label)
    for attribute, value in ((A.LABEL, "renamed"), (A.SIGN, False), (A.DERIVE, True), (A.DECRYPT, True),
                             (A.ID, b"other-id")):
        with token.lock, pytest.raises(px.PKCS11Error):
            key[attribute] = value
    assert token.private_key(label) is not None and token.security_attributes(label)["sign"] is True


def test_the_dcc_key_stays_read_only_through_a_rotation(softhsm_token, make_issuer, request_for, tmp_path):
    config = load_config(env={}, overrides=softhsm_token.config_overrides(LABEL), state_dir=tmp_path)
    token, _ = provision.open_token(config)
    try:
        provision.keygen(token, LABEL, rotate=False, confirm=lambda q: False, state_dir=tmp_path)
        provision.import_dsc(token, LABEL, tmp_path, _dsc_for_csr(token, tmp_path), now=NOW,
                             confirm=lambda q: False)
        first_label = provision.active_key(token, LABEL, tmp_path)
        _assert_read_only(token, first_label)

        signer = Pkcs11Signer.from_config(config)
        issuer = make_issuer(signer=signer)
        before = issuer.issue(request_for("v"), operator="anna")
        first_dsc = load_dsc(tmp_path)

        made = provision.keygen(token, LABEL, rotate=True, confirm=lambda q: False, state_dir=tmp_path)
        _assert_read_only(token, made["label"])
        asked = []
        result = provision.import_dsc(token, LABEL, tmp_path, _dsc_for_csr(token, tmp_path), now=NOW,
                                      confirm=lambda q: asked.append(q) or True)
        assert result["switched"] and asked
        active = provision.active_key(token, LABEL, tmp_path)
        assert active == made["label"] != first_label
        _assert_read_only(token, active)
        assert token.has_key(first_label)               # the old key stays, as the previous one, unchanged
        _assert_read_only(token, first_label)

        after = issuer.issue(request_for("v"), operator="anna")   # the running signer follows the switch
        second_dsc = load_dsc(tmp_path)
        assert dsc.kid_of(second_dsc) != dsc.kid_of(first_dsc) and after.kid == dsc.kid_of(second_dsc)
        for issued, good, other in ((before, first_dsc, second_dsc), (after, second_dsc, first_dsc)):
            assert verify.verify(issued.hc1, dscs=[good], at=NOW).valid
            assert not verify.verify(issued.hc1, dscs=[other], at=NOW).valid

        # a second rotation: the key two generations old goes, the previous one stays
        provision.keygen(token, LABEL, rotate=True, confirm=lambda q: False, state_dir=tmp_path)
        provision.import_dsc(token, LABEL, tmp_path, _dsc_for_csr(token, tmp_path), now=NOW, confirm=lambda q: True)
        assert not token.has_key(first_label) and token.has_key(active)
        assert issuer.issue(request_for("v"), operator="anna").kid == dsc.kid_of(load_dsc(tmp_path))
        signer.close()
    finally:
        token.release()
