"""Fixtures for the DCC tests (codec, verifier, signing, payload, form, names, UVCI, value sets, schema):
a sample DCC, and the device and issuing settings a payload is built with. Signing a DCC into an HC1
is the ``make_hc1`` fixture and the packaged example inputs the ``example`` fixture, both in
tests/conftest.py."""

from __future__ import annotations

import pytest

from appliance.config import DeviceSection, IssueSection
from tests.support.dcc import sample_dcc


@pytest.fixture
def dcc() -> dict:
    """A fresh copy of :data:`tests.support.dcc.SAMPLE_DCC` (what ``make_hc1()`` signs by default)."""
    return sample_dcc()


@pytest.fixture
def device() -> DeviceSection:
    return DeviceSection(id="test-device-7", country="DE", issuer="Impfzentrum Testhausen", uvci_issuer="TST1")


@pytest.fixture
def issue_section() -> IssueSection:
    return IssueSection()
