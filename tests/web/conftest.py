"""Fixtures for the tablet UI: an app on a temp state dir with a software key, a fixed clock,
a file printer, and a seeded admin and staff account."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from appliance.devices.clock import FixedClock
from appliance.runtime import build_devices
from appliance.web import create_app

sys.path.insert(0, str(Path(__file__).resolve().parent))
from web_helpers import ADMIN, STAFF, Browser


@pytest.fixture
def clock(now):
    return FixedClock(now, synchronized=True)


@pytest.fixture
def devices(make_config, clock, software_signer):
    config = make_config({"printer": {"kind": "file"}, "gpio": {"enabled": False}})
    d = build_devices(config, clock=clock, signer=software_signer, with_panel=False)
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
