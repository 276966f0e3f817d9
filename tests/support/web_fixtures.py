"""Fixtures for every test of the tablet UI (a pytest plugin registered in tests/conftest.py): an
app on a temp state dir with a software key, the fixed clock, a file printer, and the seeded
admin and staff accounts of :mod:`tests.support.web`."""

from __future__ import annotations

import pytest

from appliance.runtime import build_services
from appliance.web import create_app
from tests.support.web import ADMIN, STAFF, Browser


@pytest.fixture
def devices(make_config, clock, software_signer):
    config = make_config({"printer": {"kind": "file"}, "gpio": {"enabled": False}})
    d = build_services(config, clock=clock, signer=software_signer, with_panel=False)
    d.settings.add_user(ADMIN[0], password=ADMIN[1], role="admin")
    d.settings.add_user(STAFF[0], password=STAFF[1], role="staff")
    yield d
    d.close()


@pytest.fixture
def app(devices):
    app = create_app(devices.config, devices)
    app.config["TESTING"] = True
    return app


@pytest.fixture
def browser(app):
    return Browser(app.test_client())


@pytest.fixture
def staff(browser):
    resp = browser.login(*STAFF)
    assert resp.status_code == 302, resp.get_data(as_text=True)
    return browser


@pytest.fixture
def admin(browser):
    resp = browser.login(*ADMIN)
    assert resp.status_code == 302
    return browser
