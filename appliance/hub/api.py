"""The hub's device-facing HTTP API (JSON; errors are ``{"error": "..."}`` with a 4xx/503 status).

=========================================  =====  ==========================================
``GET  /api/v1/devices/<id>``              open   the device's high-water mark
``POST /api/v1/devices/<id>/batches``      sig.   a signed batch; 200 ``{"acknowledged_seq"}``
``GET  /healthz``                          open   ``{"ok": true}``
=========================================  =====  ==========================================

The read API for the central office is :mod:`appliance.hub.read_api`. Without the hub token,
``GET /api/v1/devices/<id>`` answers an unknown id exactly as a registered device that has sent
nothing, so it does not tell which devices exist; with the token it adds the flags, the signed
head and the backlog, and says 404 for an unknown id. A database failure is a 503 with
``Retry-After`` (the agent retries), never a 500.
"""

from __future__ import annotations

import logging
import re

from flask import Blueprint, current_app, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from appliance.hub.auth import has_token
from appliance.hub.intake import BatchRejected, accept
from appliance.hub.store import HubStore, StoreUnavailable
from appliance.hub.summary import device_summary, unknown_summary

log = logging.getLogger(__name__)

bp = Blueprint("hub_api", __name__)

_VERSION = re.compile(r"^[A-Za-z0-9._+:~-]{1,64}$")


def _store() -> HubStore:
    return current_app.config["HUB_STORE"]


def error(status: int, message: str):
    response = jsonify(error=message)
    response.status_code = status
    return response


def _version_header(name: str) -> str | None:
    value = request.headers.get(name)
    return value if value and _VERSION.match(value) else None


@bp.get("/healthz")
def healthz():
    return jsonify(ok=True)


@bp.get("/api/v1/devices/<device_id>")
def device_status(device_id: str):
    device = _store().device(device_id)
    if has_token():
        if device is None:
            return error(404, f"device {device_id!r} is not registered at this hub")
        return jsonify(device_summary(device, full=True, now=current_app.config["HUB_NOW"]()))
    return jsonify(unknown_summary(device_id) if device is None else device_summary(device))


@bp.post("/api/v1/devices/<device_id>/batches")
def post_batch(device_id: str):
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    if (request.content_length or 0) > limit:
        return error(413, f"batch is larger than {limit} bytes; send fewer entries per batch")
    try:
        data = request.get_data(cache=False)
    except RequestEntityTooLarge:
        return error(413, f"batch is larger than {limit} bytes; send fewer entries per batch")
    try:
        accepted = accept(_store(), data, now=current_app.config["HUB_NOW"](), url_device_id=device_id,
                          max_entries=current_app.config["HUB_MAX_ENTRIES"], max_bytes=limit,
                          software=_version_header("X-Appliance-Software"),
                          refdata=_version_header("X-Appliance-Reference"))
    except BatchRejected as exc:
        log.warning("batch for device %r refused (%d): %s", device_id, exc.status, exc)
        return error(exc.status, str(exc))
    return jsonify(acknowledged_seq=accepted.acknowledged_seq, stored=accepted.stored)


@bp.app_errorhandler(StoreUnavailable)
def unavailable(exc: StoreUnavailable):
    response = error(503, str(exc))
    response.headers["Retry-After"] = str(exc.retry_after_s)
    return response


@bp.app_errorhandler(RequestEntityTooLarge)
def too_large(_exc):
    return error(413, f"request is larger than {current_app.config['MAX_CONTENT_LENGTH']} bytes; "
                      "send fewer entries per batch")
