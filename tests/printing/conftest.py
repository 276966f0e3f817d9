"""Fixtures for the printer and panel tests: real signed certificates, a fake network printer, mock pins."""

from __future__ import annotations

import copy
import json
import sys
from datetime import timedelta
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # escpos_parse, fake_printer

from appliance.dcc.encode import to_hc1  # noqa: E402
from appliance.dcc.sign import sign_dcc  # noqa: E402
from fake_printer import FakePrinter  # noqa: E402

EXAMPLES = HERE.parent / "vectors" / "schema-examples"
SAMPLES = {
    "v": EXAMPLES / "vaccination" / "standard_case_3-of-3-moderna-moderna-moderna.json",
    "t": EXAMPLES / "test" / "simple-rat.json",
    "r": EXAMPLES / "recovery" / "simple.json",
}


def load_dcc(kind: str) -> dict:
    path = SAMPLES[kind]
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture
def certificate(software_signer, now):
    """``certificate(kind="v", uvci=None)`` -> dict(dcc, uvci, hc1, issued_at) signed by the test signer."""

    def make(kind: str = "v", uvci: str | None = None) -> dict:
        dcc = copy.deepcopy(load_dcc(kind))
        entry = dcc[kind][0]
        if uvci:
            entry["ci"] = uvci
        signed = sign_dcc(dcc, software_signer, issuer_country="DE", iat=now, exp=now + timedelta(days=30))
        return {"dcc": dcc, "uvci": entry["ci"], "hc1": to_hc1(signed.cose), "issued_at": now}

    return make


@pytest.fixture
def fake_printer():
    printer = FakePrinter()
    yield printer
    printer.close()


@pytest.fixture
def mock_factory():
    from gpiozero import Device
    from gpiozero.pins.mock import MockFactory, MockPWMPin

    saved = Device.pin_factory
    Device.pin_factory = MockFactory(pin_class=MockPWMPin)
    yield Device.pin_factory
    Device.pin_factory.reset()
    Device.pin_factory = saved
