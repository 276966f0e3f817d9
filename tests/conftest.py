"""Fixtures shared by every test area (each area has its own conftest.py below tests/).

Helpers live in :mod:`tests.support`; the hub and device fixtures that tests/hub and tests/sync
share come from the plugin :mod:`tests.support.hub_fixtures`.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from appliance.config import load_config
from appliance.dcc.samples import example_input
from appliance.devices.clock import FixedClock
from appliance.devices.signer import SoftwareSigner
from appliance.journal.journal import Journal
from tests.support.clock import NOW
from tests.support.dcc import sample_dcc, sign_to_hc1

pytest_plugins = ["tests.support.hub_fixtures", "tests.support.web_fixtures"]


@pytest.fixture
def now() -> datetime:
    """:data:`tests.support.clock.NOW`, the fixed instant of the tests."""
    return NOW


@pytest.fixture
def clock(now) -> FixedClock:
    """A synchronised fixed clock at ``now`` (tests move it with ``advance`` / ``set``)."""
    return FixedClock(now, synchronized=True)


@pytest.fixture(scope="session")
def software_signer() -> SoftwareSigner:
    """An in-memory software signer whose DSC is valid around :data:`NOW`."""
    return SoftwareSigner.generate(country="DE", now=NOW)


@pytest.fixture
def make_hc1(software_signer, now):
    """``make_hc1(dcc=None, signer=None, iat=now, days=365)`` -> (hc1, Signed); the DCC defaults to
    :data:`tests.support.dcc.SAMPLE_DCC`."""

    def make(dcc: dict | None = None, *, signer=None, iat: datetime | None = None, days: int = 365):
        return sign_to_hc1(dcc or sample_dcc(), signer or software_signer, iat=iat or now, days=days)

    return make


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    """The device's state directory (empty)."""
    d = tmp_path / "state"
    d.mkdir()
    return d


@pytest.fixture
def make_config(state_dir: Path):
    """``make_config({"printer": {"kind": "file"}})`` -> a Config on a temp state dir, no files read."""

    def make(overrides: dict | None = None):
        return load_config(env={}, overrides=overrides or {}, state_dir=state_dir)

    return make


@pytest.fixture
def config(make_config):
    return make_config()


@pytest.fixture
def journal_path(state_dir: Path) -> Path:
    """Where the device's journal lives: ``state_dir/journal.sqlite``."""
    return state_dir / "journal.sqlite"


@pytest.fixture
def journal(journal_path: Path):
    """The device's journal, open for the test."""
    j = Journal.open(journal_path)
    yield j
    j.close()


@pytest.fixture
def example():
    """``example("v")`` -> a fresh copy of the packaged example input for that type
    (:func:`appliance.dcc.samples.example_input`, its dates as shipped, which fit :data:`NOW`)."""
    return example_input


@pytest.fixture
def request_for(config, now, example):
    """``request_for("v")`` -> a parsed IssueRequest from the packaged example."""
    from appliance.dcc import form

    return lambda t, data=None: form.parse_input(data or example(t), type=t, device=config.device, now=now)


@pytest.fixture
def make_issuer(config, journal, clock, software_signer):
    """``make_issuer(signer=..., clock=..., release_date=...)`` with the test defaults."""
    from appliance.issue import Issuer

    def make(**kw):
        kw.setdefault("signer", software_signer)
        kw.setdefault("clock", clock)
        return Issuer(config=kw.pop("config", config), journal=kw.pop("journal", journal), **kw)

    return make
