"""The central office's read API (hub token required), paginated with keyset cursors.

=========================================  ===============================================
``GET /api/v1/devices``                    ``?after=ID&limit=N&region=R&centre=C`` ->
                                           ``{"devices": [...], "next": ID|null}``
``GET /api/v1/devices/<id>/entries``       ``?after=SEQ&limit=N`` -> ``{"entries", "next"}``
``GET /api/v1/revocations``                ``?since=CURSOR&country=CC&hashType=UCI,...`` ->
                                           ``{"batches": [gateway batches], "next", "more"}``
``GET /api/v1/stats/daily``                ``?since=&until=&centre=&region=`` -> ``{"days"}``
``GET /api/v1/stats/chart.svg``            certificates per day per centre and type (SVG)
=========================================  ===============================================

A ``next`` of ``null`` means the last page. Keyset pages stay correct while devices send.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request

from appliance.errors import InvalidInput
from appliance.hub import chart, reports
from appliance.hub.api import error
from appliance.hub.auth import require_token
from appliance.hub.summary import device_summary

bp = Blueprint("hub_read_api", __name__)

MAX_LIMIT = 10_000


def _int_arg(name: str, default: int, *, low: int = 0, high: int | None = None) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidInput({name: "must be an integer"}) from None
    if value < low or (high is not None and value > high):
        raise InvalidInput({name: f"must be from {low}" + (f" to {high}" if high is not None else "")})
    return value


def _filters() -> dict:
    return {k: request.args.get(k) or None for k in ("region", "centre")}


@bp.errorhandler(InvalidInput)
def invalid(exc: InvalidInput):
    return error(400, str(exc))


@bp.get("/api/v1/devices")
@require_token
def devices():
    limit = _int_arg("limit", 1000, low=1, high=MAX_LIMIT)
    rows = current_app.config["HUB_STORE"].devices(after=request.args.get("after") or None, limit=limit + 1,
                                                   **_filters())
    now = current_app.config["HUB_NOW"]()
    page = [device_summary(d, full=True, now=now) for d in rows[:limit]]
    return jsonify(devices=page, next=page[-1]["device_id"] if len(rows) > limit else None)


@bp.get("/api/v1/devices/<device_id>/entries")
@require_token
def device_entries(device_id: str):
    store = current_app.config["HUB_STORE"]
    if store.device(device_id) is None:
        return error(404, f"device {device_id!r} is not registered at this hub")
    after = _int_arg("after", 0)
    limit = _int_arg("limit", 1000, low=1, high=MAX_LIMIT)
    rows = store.entries(device_id, after_seq=after, limit=limit + 1)
    page = rows[:limit]
    return jsonify(entries=page, next=page[-1]["seq"] if len(rows) > limit else None)


@bp.get("/api/v1/revocations")
@require_token
def revocations():
    types = request.args.get("hashType")
    batches, cursor, more = reports.revocation_batches(
        current_app.config["HUB_STORE"], country=request.args.get("country") or None,
        hash_types=types.split(",") if types else None, since=_int_arg("since", 0))
    return jsonify(batches=batches, next=cursor, more=more)


@bp.get("/api/v1/stats/daily")
@require_token
def stats_daily():
    return jsonify(days=reports.daily_stats(current_app.config["HUB_STORE"], since=request.args.get("since"),
                                            until=request.args.get("until"), **_filters()))


@bp.get("/api/v1/stats/chart.svg")
@require_token
def stats_chart():
    days = reports.daily_stats(current_app.config["HUB_STORE"], since=request.args.get("since"),
                               until=request.args.get("until"), **_filters())
    return Response(chart.daily_svg(days), mimetype="image/svg+xml")
