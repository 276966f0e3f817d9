"""The signing key cannot leave the token: attributes, reading the value, wrapping.

tpm2-pkcs11 1.9.0 accepts *setting* CKA_EXTRACTABLE=True (metadata only), so the
assertions are on CKA_NEVER_EXTRACTABLE / CKA_ALWAYS_SENSITIVE and on the
operations that would reveal the key actually failing.
"""

from __future__ import annotations

import pytest
from pkcs11 import Attribute as A, KeyType, Mechanism
from pkcs11 import exceptions as px


@pytest.fixture(params=["softhsm", "tpm"])
def token_key(request):
    signer = request.getfixturevalue(f"{request.param}_signer")
    return request.param, signer.token, signer.key_label


def test_key_was_born_sensitive_and_never_extractable(token_key):
    _, token, label = token_key
    attrs = token.security_attributes(label)
    assert attrs["never_extractable"] is True
    assert attrs["always_sensitive"] is True
    assert attrs["sensitive"] is True
    assert attrs["sign"] is True
    assert attrs["derive"] is False and attrs["decrypt"] is False


def test_the_private_value_cannot_be_read(token_key):
    _, token, label = token_key
    key = token.private_key(label)
    with token.lock, pytest.raises(px.PKCS11Error):
        key[A.VALUE]


def test_the_key_cannot_be_wrapped_out(token_key):
    kind, token, label = token_key
    key = token.private_key(label)
    with token.lock:
        if kind == "tpm":  # tpm2-pkcs11 has no C_GenerateKey/C_WrapKey: no key can ever wrap it out
            with pytest.raises(px.FunctionNotSupported):
                token.session.generate_key(KeyType.AES, 256, store=True, label="wrap-test", template={A.WRAP: True})
            return
        wrapper = token.session.generate_key(KeyType.AES, 256, store=False, template={A.WRAP: True})
        try:
            with pytest.raises(px.PKCS11Error):
                wrapper.wrap_key(key, mechanism=Mechanism.AES_KEY_WRAP_PAD)
        finally:
            wrapper.destroy()


def test_softhsm_refuses_to_make_the_key_extractable(softhsm_signer):
    token, label = softhsm_signer.token, softhsm_signer.key_label
    key = token.private_key(label)
    with token.lock, pytest.raises(px.PKCS11Error):
        key[A.EXTRACTABLE] = True
    assert token.security_attributes(label)["extractable"] is False



def test_softhsm_dcc_key_is_read_only(softhsm_signer):
    """CKA_MODIFIABLE=false: with the user PIN, C_SetAttributeValue is refused for every attribute."""
    token, label = softhsm_signer.token, softhsm_signer.key_label
    assert token.security_attributes(label)["modifiable"] is False
    key = token.private_key(label)
    for attribute, value in ((A.DERIVE, True), (A.LABEL, "renamed"), (A.SIGN, False), (A.DECRYPT, True)):
        with token.lock, pytest.raises(px.PKCS11Error):
            key[attribute] = value
    assert token.security_attributes(label)["derive"] is False and token.private_key(label) is not None


def test_the_dcc_key_is_not_copyable_and_cannot_derive(token_key):
    _, token, label = token_key
    attrs = token.security_attributes(label)
    assert attrs["copyable"] is False and attrs["derive"] is False


def test_the_journal_key_is_read_only_and_never_does_ecdh(softhsm_signer):
    """Finding 10: with the user PIN, switching on CKA_DERIVE must not give ECDH with the key.
    (On swtpm without a resource manager one process cannot make a second key while the session
    fixture's key is loaded; the TPM's journal key is checked in tests/keys/test_tpm_paths.py.)"""
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
    from pkcs11 import KDF

    from appliance.keys.provision import ensure_journal_key

    kind, token, label = "softhsm", softhsm_signer.token, softhsm_signer.key_label
    ensure_journal_key(token, label)
    journal_label = label + "-journal"
    attrs = token.security_attributes(journal_label)
    assert attrs["never_extractable"] and attrs["always_sensitive"] and attrs["sensitive"]
    assert attrs["copyable"] is False and attrs["derive"] is False and attrs["decrypt"] is False
    key = token.private_key(journal_label)
    peer = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(Encoding.X962,
                                                                             PublicFormat.UncompressedPoint)
    with token.lock:
        if kind == "softhsm":
            assert attrs["modifiable"] is False
            with pytest.raises(px.PKCS11Error):
                key[A.DERIVE] = True
            return
        key[A.DERIVE] = True  # tpm2-pkcs11 1.9 ignores CKA_MODIFIABLE (metadata only) ...
    key = token.private_key(journal_label)
    with token.lock, pytest.raises(px.PKCS11Error):  # ... but the TPM object has no ECDH (decrypt) right
        key.derive_key(KeyType.GENERIC_SECRET, 256, mechanism_param=(KDF.NULL, None, peer))
