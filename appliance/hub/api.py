"""The hub's device-facing HTTP API (JSON; errors are ``{"error": "..."}`` with a 4xx/503 status).

=========================================  =====  ==========================================
``GET  /api/v1/devices/<id>``              sig.   the device's high-water mark (a signed request)
``POST /api/v1/devices/<id>/batches``      sig.   a signed batch; 200 ``{"acknowledged_seq"}``
``GET  /healthz``                          open   ``{"ok": true}``
=========================================  =====  ==========================================

The read API for the central office is :mod:`appliance.hub.read_api`. ``GET /api/v1/devices/<id>``
shows a device's progress only to the device itself: a request signed by its key
(:mod:`appliance.sync.status_request`: the DSC's kid and signature, the URL's device id, a time
within ``HUB_STATUS_SKEW_S`` (300 s) of the hub's clock, a nonce not seen in that window).
Anonymous, wrongly signed, stale or replayed requests get exactly the answer an unknown id gets
(a registered device that has sent nothing), and the signature check costs the same for an
unknown id, so the answer does not tell which devices exist. With the hub token it adds the
flags, the signed head and the backlog, and says 404 for an unknown id. A database failure is a
503 with ``Retry-After`` (the agent retries), never a 500. The nonces are remembered per hub
process: with ``--workers N`` a captured request could be replayed once per process within the
window, which shows no more than its sender was shown.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from datetime import datetime, timedelta, timezone

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from flask import Blueprint, current_app, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from appliance.dcc import dsc
from appliance.errors import DecodeError, DscError, HubError
from appliance.hub import envelope
from appliance.hub.auth import has_token
from appliance.hub.intake import BatchRejected, accept
from appliance.hub.store import HubStore, StoreUnavailable
from appliance.hub.summary import device_summary, unknown_summary
from appliance.sync import status_request

log = logging.getLogger(__name__)

bp = Blueprint("hub_api", __name__)

_VERSION = re.compile(r"^[A-Za-z0-9._+:~-]{1,64}$")


def _store() -> HubStore:
    return current_app.config["HUB_STORE"]


def error(status: int, message: str):
    response = jsonify(error=message)
    response.status_code = status
    return response


class _Nonces:
    """Status-request nonces seen in the skew window (this process), to refuse a replay."""

    def __init__(self, limit: int = 100_000):
        self._seen: dict[bytes, float] = {}
        self._lock = threading.Lock()
        self._limit = limit

    def first_use(self, nonce: bytes, *, keep_s: float) -> bool:
        now = time.monotonic()
        with self._lock:
            if len(self._seen) >= self._limit:
                self._seen = {n: t for n, t in self._seen.items() if t > now}
                if len(self._seen) >= self._limit:   # a flood of valid requests: forget the oldest half
                    self._seen = dict(sorted(self._seen.items(), key=lambda kv: kv[1])[self._limit // 2:])
            expiry = self._seen.get(nonce)
            if expiry is not None and expiry > now:
                return False
            self._seen[nonce] = now + keep_s
            return True


_DECOY: list[str] = []   # a stand-in DSC (PEM), so an unknown id costs the same parse and signature check


def _decoy_pem() -> str:
    if not _DECOY:
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "decoy")])
        start = datetime(2020, 1, 1, tzinfo=timezone.utc)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                .serial_number(1).not_valid_before(start).not_valid_after(start + timedelta(days=1))
                .sign(key, hashes.SHA256()))
        _DECOY.append(cert.public_bytes(serialization.Encoding.PEM).decode())
    return _DECOY[0]


def _signed_by_device(device: dict | None, device_id: str) -> bool:
    """Does this request carry a fresh status request of ``device_id`` signed by its registered key?

    A known and an unknown id take the same steps (split, parse a DSC, one ES256 check)."""
    cose = status_request.cose_of(request.headers.get("Authorization"))
    if cose is None:
        return False
    try:
        opened = envelope.split(cose)
        certificate = dsc.load_certificate((device["dsc_pem"] if device else _decoy_pem()).encode())
        envelope.verify_signature(opened, certificate)
        if device is None or opened.kid != dsc.kid_of(certificate):
            return False
        body = status_request.read_body(opened.payload)
    except (DecodeError, HubError, DscError):
        return False
    skew = current_app.config.get("HUB_STATUS_SKEW_S", status_request.DEFAULT_SKEW_S)
    now = current_app.config["HUB_NOW"]().timestamp()
    if body.device_id != device_id or abs(body.time - now) > skew:
        return False
    nonces = current_app.extensions.setdefault("hub_status_nonces", _Nonces())
    return nonces.first_use(body.nonce, keep_s=2 * skew)


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
    answer = device_summary(device) if _signed_by_device(device, device_id) else unknown_summary(device_id)
    response = jsonify(answer)
    # the hub's time, on every answer alike: a device whose clock is off signs again at this time
    response.headers[status_request.HUB_TIME] = str(int(current_app.config["HUB_NOW"]().timestamp()))
    return response


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
