"""Fixtures for the hub and sync tests: a hub app on its own state dir, a device journal.

Helpers live in ``hub_kit.py`` (importable as ``hub_kit`` once this conftest is loaded,
since pytest runs with ``--import-mode=importlib``).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from appliance.config import load_config
from appliance.hub import create_hub_app
from appliance.journal.journal import Journal

_spec = importlib.util.spec_from_file_location("hub_kit", Path(__file__).with_name("hub_kit.py"))
hub_kit = importlib.util.module_from_spec(_spec)
sys.modules["hub_kit"] = hub_kit
_spec.loader.exec_module(hub_kit)

NOW, DEVICE = hub_kit.NOW, hub_kit.DEVICE


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
def registered(hub_store, software_signer):
    hub_store.register_device(DEVICE, software_signer.certificate, now=NOW)
    return DEVICE


@pytest.fixture
def auth(hub_app) -> dict:
    return {"Authorization": f"Bearer {hub_app.config['HUB_TOKEN']}"}


@pytest.fixture
def device_config(tmp_path: Path):
    state = tmp_path / "dev"
    state.mkdir()
    return load_config(env={}, state_dir=state, overrides={"device": {"id": DEVICE}, "sync": {"batch_size": 50}})


@pytest.fixture
def journal(device_config):
    j = Journal.open(device_config.state_dir / "journal.sqlite")
    yield j
    j.close()
