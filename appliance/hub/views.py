"""The hub's status page for the central office (token required): every device with last seen,
backlog (from its signed head), chain and fork state, DSC expiry, software and reference-data
versions; filters by region and centre; keyset pages; the daily chart (SVG, drawn here)."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request

from appliance.errors import InvalidInput
from appliance.hub import chart, reports
from appliance.hub.api import error
from appliance.hub.auth import require_token
from appliance.hub.summary import device_summary

bp = Blueprint("hub_views", __name__, template_folder="templates")

PAGE = 200


@bp.get("/")
@require_token
def status():
    store = current_app.config["HUB_STORE"]
    now = current_app.config["HUB_NOW"]()
    filters = {k: request.args.get(k) or None for k in ("region", "centre")}
    try:
        software_below = reports.software_filter(request.args.get("software_below"))
    except InvalidInput as exc:
        return error(400, str(exc))
    rows = store.devices(after=request.args.get("after") or None, limit=PAGE + 1, software_below=software_below,
                         **filters)
    devices = [device_summary(d, full=True, now=now) for d in rows[:PAGE]]
    svg = chart.daily_svg(reports.chart_cells(store, **filters))
    return render_template("hub_status.html", devices=devices, now=now, facets=store.facets(),
                           filters=dict(filters, software_below=software_below),
                           next=devices[-1]["device_id"] if len(rows) > PAGE else None, chart=svg)
