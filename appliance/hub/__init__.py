"""The central hub: receives the signed journal batches of many devices and reports on them.

``create_hub_app(config)`` builds the Flask app on its own state directory
(``<state>/hub.sqlite`` and ``<state>/hub-token``); ``appliance hub serve`` runs it.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Callable

from flask import Flask

from appliance.sync import batches
from appliance.hub import api, views
from appliance.hub.auth import ensure_token
from appliance.hub.store import HubStore

log = logging.getLogger(__name__)

DB_FILE = "hub.sqlite"


def open_store(config) -> HubStore:
    return HubStore.open(config.state_dir / DB_FILE)


def create_hub_app(config, *, store: HubStore | None = None,
                   now: Callable[[], datetime] | None = None) -> Flask:
    """The hub's Flask app. ``now`` is injectable for tests (default: the system clock, UTC)."""
    app = Flask(__name__)
    app.config.update(
        HUB_STORE=store or open_store(config),
        HUB_TOKEN=ensure_token(config.state_dir),
        HUB_NOW=now or (lambda: datetime.now(timezone.utc)),
        HUB_MAX_ENTRIES=config.hub.max_batch,
        MAX_CONTENT_LENGTH=batches.MAX_BATCH_BYTES + 1024,
    )
    app.register_blueprint(api.bp)
    app.register_blueprint(views.bp)
    return app
