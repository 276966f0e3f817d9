"""The hub's status page: one table of devices for the central office (token required)."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template

from appliance.hub.api import device_summary
from appliance.hub.auth import require_token

bp = Blueprint("hub_views", __name__, template_folder="templates")


@bp.get("/")
@require_token
def status():
    store = current_app.config["HUB_STORE"]
    rows = [device_summary(store, d, full=True) for d in store.devices()]
    return render_template("hub_status.html", devices=rows, now=current_app.config["HUB_NOW"]())
