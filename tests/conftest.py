"""Fixtures shared by every test area (each area has its own conftest.py below tests/)."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import sys

import pytest

from appliance.config import load_config
from appliance.devices.signer import SoftwareSigner

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))  # shared helpers: toolcheck
VECTORS = REPO / "tests" / "vectors"

#: A fixed instant for tests that need "now".
NOW = datetime(2026, 11, 28, 10, 0, tzinfo=timezone.utc)


@pytest.fixture
def now() -> datetime:
    return NOW


@pytest.fixture(scope="session")
def software_signer() -> SoftwareSigner:
    """An in-memory software signer whose DSC is valid around :data:`NOW`."""
    return SoftwareSigner.generate(country="DE", now=NOW)


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
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

