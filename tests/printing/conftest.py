"""Fixtures for the printing tests: real signed certificates and a fake network printer."""

from __future__ import annotations

import pytest

from tests.support.dcc import sign_to_hc1
from tests.support.fake_printer import FakePrinter
from tests.support.printing import schema_example_dcc


@pytest.fixture
def certificate(software_signer, now):
    """``certificate(kind="v", uvci=None)`` -> dict(dcc, uvci, hc1, issued_at) signed by the test signer."""

    def make(kind: str = "v", uvci: str | None = None) -> dict:
        dcc = schema_example_dcc(kind)
        entry = dcc[kind][0]
        if uvci:
            entry["ci"] = uvci
        hc1, _ = sign_to_hc1(dcc, software_signer, iat=now, days=30)
        return {"dcc": dcc, "uvci": entry["ci"], "hc1": hc1, "issued_at": now}

    return make


@pytest.fixture
def fake_printer():
    printer = FakePrinter()
    yield printer
    printer.close()
