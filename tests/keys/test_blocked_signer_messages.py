"""The blocked state of tests/web/test_blocked_messages.py that needs a real token: the signing key
is gone from the SoftHSM2 token (as after the token was swapped or the key deleted), so the signer
cannot load it. The German pages show the German text, the pseudo-locale only catalogue text.

It lives here for the session's SoftHSM2 token (tests/keys/conftest.py): one process loads one
SoftHSM2 configuration."""

from __future__ import annotations

import os
import uuid

import pytest

from appliance.devices.clock import FixedClock
from appliance.devices.pkcs11_signer import DSC_FILE, Pkcs11Signer
from appliance.devices.pkcs11_token import Token
from appliance.keys import labca
from appliance.runtime import build_services
from tests.support.clock import REAL_NOW
from tests.support.pki import make_dsc_pem
from tests.support.web import ADMIN, STAFF
from tests.web.test_blocked_messages import (
    Scenario,
    assert_german_pages,
    assert_pseudo_pages,
)
from tests.web.test_pseudo_locale import pseudo  # noqa: F401 - the fixture

SCENARIO = Scenario({"signer.no_key"})


@pytest.fixture
def devices(softhsm_token, make_config, state_dir):
    """A device on a SoftHSM2 key with a lab DSC; then the key is deleted from the token and the DSC
    file is written again (the signer reloads its key when the file changes)."""
    label = f"blocked-{uuid.uuid4().hex[:8]}"
    holder = Token.open(softhsm_token.module, softhsm_token.token_label, softhsm_token.pin)
    config = make_config({**softhsm_token.config_overrides(label), "printer": {"kind": "file"},
                          "gpio": {"enabled": False}})
    holder.generate(label)
    ca, _ = labca.init(state_dir / "ca-home", country="DE", now=REAL_NOW)
    pem = make_dsc_pem(ca, holder.public_key(label))
    (state_dir / DSC_FILE).write_bytes(pem)
    signer = Pkcs11Signer.from_config(config)
    d = build_services(config, clock=FixedClock(REAL_NOW, synchronized=True), signer=signer, with_panel=False)
    d.settings.add_user(ADMIN[0], password=ADMIN[1], role="admin")
    d.settings.add_user(STAFF[0], password=STAFF[1], role="staff")
    assert d.issuer.readiness(None) == []
    holder.destroy(label)
    (state_dir / "dsc.new").write_bytes(pem)
    os.replace(state_dir / "dsc.new", state_dir / DSC_FILE)
    yield d
    d.close()
    signer.close()
    holder.release()


def test_german_pages_show_the_german_text_when_the_key_is_gone(devices, browser):
    assert_german_pages(SCENARIO, devices, browser)


def test_the_missing_key_is_catalogue_text_in_the_pseudo_locale(pseudo, devices, browser):  # noqa: F811
    assert_pseudo_pages(SCENARIO, browser)
