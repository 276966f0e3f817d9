"""Fixtures for the hub and sync tests (tests/hub, tests/sync): a hub app on its own state dir and a
device registered there. A pytest plugin, registered in tests/conftest.py.

The device side is the suite's ordinary device: its state dir is ``state_dir`` and its journal the
``journal`` fixture of tests/conftest.py; ``device_config`` gives it the id :data:`DEVICE`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from appliance.config import load_config
from appliance.hub import create_hub_app
from tests.support.clock import NOW
from tests.support.hub_kit import DEVICE


@pytest.fixture
def hub_config(tmp_path: Path):
    return load_config(env={}, state_dir=tmp_path / "hub")


@pytest.fixture
def hub_app(hub_config):
    app = create_hub_app(hub_config, now=lambda: NOW)
    yield app
    app.config["HUB_STORE"].close()


@pytest.fixture
def hub_store(hub_app):
    return hub_app.config["HUB_STORE"]


@pytest.fixture
def registered(hub_store, software_signer) -> str:
    """:data:`DEVICE` registered at the hub with the test signer's DSC; returns its id."""
    hub_store.register_device(DEVICE, software_signer.certificate, now=NOW)
    return DEVICE


@pytest.fixture
def auth(hub_app) -> dict:
    """The header that opens the hub's read API and status page."""
    return {"Authorization": f"Bearer {hub_app.config['HUB_TOKEN']}"}


@pytest.fixture
def device_config(state_dir: Path):
    """The device's config: id :data:`DEVICE`, batches of 50, on ``state_dir`` (where ``journal`` lives)."""
    return load_config(env={}, state_dir=state_dir, overrides={"device": {"id": DEVICE}, "sync": {"batch_size": 50}})
