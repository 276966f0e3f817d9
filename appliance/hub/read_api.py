"""The central office's read API (hub token required), paginated with keyset cursors.

=========================================  ===============================================
``GET /api/v1/devices``                    ``?after=ID&limit=N&region=R&centre=C&software_below=V``
                                           -> ``{"devices": [...], "next": ID|null}``
``GET /api/v1/devices/<id>/entries``       ``?after=SEQ&limit=N`` -> ``{"entries", "next"}``
``GET /api/v1/devices/<id>/wrong-clock``   ``?after=SEQ&limit=N`` -> ``{"intervals", "certificates", "next"}``
``GET /api/v1/revocations``                ``?since=CURSOR&limit=N&country=CC&hashType=UCI,...``
                                           -> ``{"batches": [gateway batches], "next", "more"}``
``GET /api/v1/stats/daily``                ``?since=&until=&centre=&region=&after=CURSOR&limit=N``
                                           -> ``{"days", "next": CURSOR|null}``
``GET /api/v1/stats/chart.svg``            certificates per day per centre and type (SVG)
=========================================  ===============================================

A ``next`` of ``null`` means the last page. Keyset pages stay correct while devices send. The
revocation export without ``since`` is the first page of the full export (1,000 revocations
unless ``limit`` says otherwise, at most 50,000): while ``more`` is true, ask again with
``since=next``; the ``next`` value is the same cursor an incremental export keeps. Paged
answers also carry an RFC 8288 ``Link: <...>; rel="next"`` header with that URL.
"""

from __future__ import annotations

from urllib.parse import urlencode

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


def _with_next(response, name: str, value) -> Response:
    """``response`` with ``Link: <this URL, name=value>; rel="next"`` (when there is a next page)."""
    if value is not None:
        args = {k: v for k, v in request.args.items() if k != name}
        args[name] = str(value)
        response.headers["Link"] = f'<{request.base_url}?{urlencode(args)}>; rel="next"'
    return response


@bp.errorhandler(InvalidInput)
def invalid(exc: InvalidInput):
    return error(400, str(exc))


@bp.get("/api/v1/devices")
@require_token
def devices():
    limit = _int_arg("limit", 1000, low=1, high=MAX_LIMIT)
    rows = current_app.config["HUB_STORE"].devices(after=request.args.get("after") or None, limit=limit + 1,
                                                   software_below=reports.software_filter(
                                                       request.args.get("software_below")), **_filters())
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


@bp.get("/api/v1/devices/<device_id>/wrong-clock")
@require_token
def device_wrong_clock(device_id: str):
    """The device's corrected clock intervals and the certificates issued inside them (to revoke and
    re-issue): ``{"intervals": [...], "certificates": [{seq, uvci, type, time, kid, corrected_by}], "next"}``."""
    store = current_app.config["HUB_STORE"]
    if store.device(device_id) is None:
        return error(404, f"device {device_id!r} is not registered at this hub")
    limit = _int_arg("limit", 1000, low=1, high=MAX_LIMIT)
    rows = store.wrong_clock_certificates(device_id, after_seq=_int_arg("after", 0), limit=limit + 1)
    page = rows[:limit]
    return jsonify(intervals=store.clock_intervals(device_id), certificates=page,
                   next=page[-1]["seq"] if len(rows) > limit else None)


@bp.get("/api/v1/revocations")
@require_token
def revocations():
    types = request.args.get("hashType")
    batches, cursor, more = reports.revocation_batches(
        current_app.config["HUB_STORE"], country=request.args.get("country") or None,
        hash_types=types.split(",") if types else None, since=_int_arg("since", 0),
        limit=_int_arg("limit", reports.EXPORT_PAGE, low=1, high=reports.MAX_EXPORT_ROWS))
    return _with_next(jsonify(batches=batches, next=cursor, more=more), "since", cursor if more else None)


@bp.get("/api/v1/stats/daily")
@require_token
def stats_daily():
    days, cursor = reports.daily_stats(current_app.config["HUB_STORE"], since=request.args.get("since"),
                                       until=request.args.get("until"), after=request.args.get("after") or None,
                                       limit=_int_arg("limit", reports.STATS_PAGE, low=1, high=reports.MAX_STATS_ROWS),
                                       **_filters())
    return _with_next(jsonify(days=days, next=cursor), "after", cursor)


@bp.get("/api/v1/stats/chart.svg")
@require_token
def stats_chart():
    cells = reports.chart_cells(current_app.config["HUB_STORE"], since=request.args.get("since"),
                                until=request.args.get("until"), **_filters())
    return Response(chart.daily_svg(cells), mimetype="image/svg+xml")
