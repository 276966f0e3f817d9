"""Fixtures for the hub and sync tests (tests/hub, tests/sync): a hub app on its own state dir and a
device registered there; its store is SQLite, or PostgreSQL where ``hub_engine`` says so (a private
cluster per session, a fresh database per test). A pytest plugin, registered in tests/conftest.py.

The device side is the suite's ordinary device: its state dir is ``state_dir`` and its journal the
``journal`` fixture of tests/conftest.py; ``device_config`` gives it the id :data:`DEVICE`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from appliance.config import load_config
from appliance.hub import create_hub_app
from appliance.hub.store import open_url
from tests.support.clock import NOW
from tests.support.hub_kit import DEVICE
from tests.support.pg import start_cluster
from tests.support.toolcheck import require


@pytest.fixture(scope="session")
def pg_cluster():
    """A private PostgreSQL cluster for the session (tests/support/pg.py); fails as root/in CI
    when the server is missing (``make test`` installs Debian's ``postgresql``)."""
    cluster = start_cluster()
    require(cluster is not None, "PostgreSQL's server (Debian package postgresql) is needed")
    yield cluster
    cluster.destroy()


@pytest.fixture(scope="session")
def pg_template(pg_cluster) -> str:
    """A database migrated once; each test's database is a copy of it."""
    name = pg_cluster.create_database()
    open_url(pg_cluster.url(name), Path("."), migrate=True).close()
    return name


@pytest.fixture
def pg_url(pg_cluster, pg_template) -> str:
    """A fresh, migrated database of the session cluster for this test."""
    return pg_cluster.url(pg_cluster.create_database(template=pg_template))


@pytest.fixture
def hub_engine() -> str:
    """The hub store's engine; tests/hub/conftest.py runs the hub tests on both."""
    return "sqlite"


@pytest.fixture
def hub_database(request, hub_engine) -> str:
    """``[hub] database`` of the test hub: the SQLite default or a fresh PostgreSQL database."""
    if hub_engine == "postgres":
        return request.getfixturevalue("pg_url")
    return "sqlite:///hub.sqlite"


@pytest.fixture
def hub_config(tmp_path: Path, hub_database):
    return load_config(env={}, state_dir=tmp_path / "hub", overrides={"hub": {"database": hub_database}})


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
