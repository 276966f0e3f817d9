"""The hub's HTTP API (JSON; errors are ``{"error": "..."}`` with a 4xx status).

=========================================  =====  ==========================================
``GET  /api/v1/devices/<id>``              open   the device's high-water mark (403 unknown)
``POST /api/v1/devices/<id>/batches``      sig.   a signed batch; 200 ``{"acknowledged_seq"}``
``GET  /api/v1/devices``                   token  every device with entries, gaps, chain, fork
``GET  /api/v1/devices/<id>/entries``      token  stored entries (``?after=SEQ&limit=N``)
``GET  /api/v1/revocations``               token  gateway revocation batches
``GET  /api/v1/stats/daily``               token  issued per day/device/centre/type/product/dose
``GET  /healthz``                          open   ``{"ok": true}``
=========================================  =====  ==========================================
"""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from appliance.sync import batches
from appliance.errors import InvalidInput
from appliance.hub import reports
from appliance.hub.auth import require_token
from appliance.hub.intake import BatchRejected, accept
from appliance.hub.store import HubStore

log = logging.getLogger(__name__)

bp = Blueprint("hub_api", __name__)


def _store() -> HubStore:
    return current_app.config["HUB_STORE"]


def _error(status: int, message: str):
    response = jsonify(error=message)
    response.status_code = status
    return response


def device_summary(store: HubStore, device: dict, *, full: bool = False) -> dict:
    broken = store.chain_state(device["device_id"])
    out = {"device_id": device["device_id"], "acknowledged_seq": device["acknowledged_seq"],
           "entries": store.count(device["device_id"]),
           "chain_ok": broken is None and not device["fork_flag"], "last_seen": device["last_seen"]}
    if full:
        out.update(gaps=store.gaps(device["device_id"]), fork=bool(device["fork_flag"]),
                   fork_detail=device["fork_detail"], chain_error=None if broken is None else
                   f"seq {broken[0]}: {broken[1]}", kid=device["kid"], country=device["country"],
                   registered_at=device["registered_at"])
    return out


@bp.get("/healthz")
def healthz():
    return jsonify(ok=True)


@bp.get("/api/v1/devices/<device_id>")
def device_status(device_id: str):
    device = _store().device(device_id)
    if device is None:
        return _error(403, f"device {device_id!r} is not registered at this hub")
    return jsonify(device_summary(_store(), device))


@bp.post("/api/v1/devices/<device_id>/batches")
def post_batch(device_id: str):
    try:
        data = request.get_data(cache=False)
    except RequestEntityTooLarge:
        return _error(413, f"batch is larger than {batches.MAX_BATCH_BYTES} bytes; send fewer entries per batch")
    try:
        accepted = accept(_store(), data, now=current_app.config["HUB_NOW"](), url_device_id=device_id,
                          max_entries=current_app.config["HUB_MAX_ENTRIES"])
    except BatchRejected as exc:
        log.warning("batch for device %r refused (%d): %s", device_id, exc.status, exc)
        return _error(exc.status, str(exc))
    return jsonify(acknowledged_seq=accepted.acknowledged_seq, stored=accepted.stored)


@bp.errorhandler(RequestEntityTooLarge)
def too_large(_exc):
    return _error(413, f"request is larger than {batches.MAX_BATCH_BYTES} bytes; send fewer entries per batch")


@bp.errorhandler(InvalidInput)
def invalid(exc: InvalidInput):
    return _error(400, str(exc))


@bp.get("/api/v1/devices")
@require_token
def devices():
    store = _store()
    return jsonify(devices=[device_summary(store, d, full=True) for d in store.devices()])


@bp.get("/api/v1/devices/<device_id>/entries")
@require_token
def device_entries(device_id: str):
    if _store().device(device_id) is None:
        return _error(404, f"device {device_id!r} is not registered at this hub")
    try:
        after = int(request.args.get("after", 0))
        limit = min(int(request.args.get("limit", 1000)), 10000)
    except ValueError:
        return _error(400, "after and limit must be integers")
    return jsonify(entries=_store().entries(device_id, after_seq=after, limit=limit))


@bp.get("/api/v1/revocations")
@require_token
def revocations():
    types = request.args.get("hashType")
    return jsonify(batches=reports.revocation_batches(
        _store(), country=request.args.get("country") or None,
        hash_types=types.split(",") if types else None))


@bp.get("/api/v1/stats/daily")
@require_token
def stats_daily():
    return jsonify(days=reports.daily_stats(_store(), since=request.args.get("since"),
                                            until=request.args.get("until")))
