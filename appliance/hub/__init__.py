"""The central hub: receives the signed journal batches of many devices and reports on them.

``create_hub_app(config)`` builds the Flask app on its store (``[hub] database``: SQLite in
``<state>/hub.sqlite`` by default, or PostgreSQL) and its token (``<state>/hub-token``);
``appliance hub serve`` runs it, in one or several processes (:mod:`appliance.hub.workers`).
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Callable

from flask import Flask

from appliance.hub import api, read_api, reference, views
from appliance.hub.auth import ensure_token
from appliance.hub.store import HubStore, open_url

log = logging.getLogger(__name__)

DB_FILE = "hub.sqlite"


def open_store(config, *, migrate: bool | None = None, pool_size: int = 10) -> HubStore:
    """The store ``[hub] database`` names (SQLite: migrated on open; PostgreSQL: checked)."""
    return open_url(config.hub.database, config.state_dir, migrate=migrate, pool_size=pool_size)


def create_hub_app(config, *, store: HubStore | None = None,
                   now: Callable[[], datetime] | None = None) -> Flask:
    """The hub's Flask app. ``now`` is injectable for tests (default: the system clock, UTC)."""
    app = Flask(__name__)
    app.config.update(
        HUB_STORE=store or open_store(config),
        HUB_TOKEN=ensure_token(config.state_dir),
        HUB_NOW=now or (lambda: datetime.now(timezone.utc)),
        HUB_MAX_ENTRIES=config.hub.max_batch,
        MAX_CONTENT_LENGTH=config.hub.max_body_bytes,
    )
    app.register_blueprint(api.bp)
    app.register_blueprint(read_api.bp)
    app.register_blueprint(views.bp)
    reference.init_app(app, config)  # signed reference-data bundles (appliance/hub/reference.py)
    return app
