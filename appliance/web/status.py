"""Status: the device's health page, the header badge, ``/status.json`` for polling, ``/healthz``.

Two indicators, never merged: "the tablet cannot reach the device" is raised by
the tablet's JS when ``/status.json`` stops answering; "the device cannot reach
the hub" is computed here, on the server, from the journal's sync status.
"""

from __future__ import annotations

import base64
import logging
import shutil

from flask import Blueprint, flash, redirect, render_template, url_for

from appliance import lights
from appliance.dcc import dsc
from appliance.errors import ApplianceError
from appliance.web.common import (
    _,
    admin_required,
    audit,
    current_user,
    devices,
    login_required,
    message_for,
    now,
)

log = logging.getLogger(__name__)
bp = Blueprint("status", __name__)

DISK_WARN_MB = 200


def _sync(journal) -> dict:
    status = dict(journal.get_sync_status() or {})
    last, acked = journal.last_seq(), journal.get_acknowledged()
    # the sync agent records its last error and last success with times; the hub counts as
    # offline while entries wait and the latest attempt failed
    failing = bool(status.get("last_error")) and \
        str(status.get("last_error_at", "")) >= str(status.get("last_success", ""))
    return {**status, "last_seq": last, "acknowledged": acked, "backlog": max(0, last - acked),
            "hub_offline": failing and last > acked}


def _signer(signer, at) -> dict:
    cert = getattr(signer, "certificate", None)
    out = {"kid": base64.b64encode(signer.kid).decode() if getattr(signer, "kid", None) else None,
           "dsc": cert is not None, "dsc_days_left": None, "dsc_not_after": None}
    if cert is not None:
        out.update(dsc_days_left=dsc.days_left(cert, at), dsc_not_after=dsc.not_after(cert).isoformat())
    return out


def health() -> dict:
    """Everything the status page, the badge and monitoring show. No personal data."""
    d = devices()
    at = now()
    try:
        problems = list(d.issuer.readiness(None))
    except ApplianceError as exc:
        problems = [message_for(exc)]
    try:
        printer = dict(d.printing.status()) if d.printing is not None else {"kind": "none"}
    except ApplianceError as exc:
        printer = {"online": False, "detail": message_for(exc)}
    try:
        clock = dict(d.issuer.clock_status())
    except ApplianceError:
        clock = {"synchronized": bool(d.clock.is_synchronized()), "rtc": bool(d.clock.has_rtc())}
    disk = shutil.disk_usage(d.config.state_dir)
    out = {"time": at.isoformat(), "device_id": d.config.device.id, "problems": problems,
           "signer": _signer(d.signer, at), "printer": printer, "sync": _sync(d.journal), "clock": clock,
           "disk": {"free_mb": disk.free // 2**20, "total_mb": disk.total // 2**20}}
    out["state"] = compute_state(out)
    return out


def compute_state(h: dict) -> str:
    """The light: "fault" when issuing is blocked, else :func:`appliance.lights.compute_state`."""
    if h["problems"]:
        return lights.FAULT
    state = lights.compute_state({"dsc_days_left": h["signer"]["dsc_days_left"],
                                  "printer_online": h["printer"].get("online"), "paper": h["printer"].get("paper")})
    if state == lights.READY and (h["sync"]["hub_offline"] or h["disk"]["free_mb"] < DISK_WARN_MB):
        return lights.ATTENTION
    return state


def header_badge() -> dict:
    """The hub badge in every page's header (server side)."""
    try:
        sync = _sync(devices().journal)
    except ApplianceError:
        return {"hub_offline": False, "backlog": 0}
    return {"hub_offline": sync["hub_offline"], "backlog": sync["backlog"]}


@bp.route("/status")
@login_required
def page():
    return render_template("status/index.html", h=health())


@bp.route("/status.json")
def poll():
    """What the tablet polls: small, anonymous, no personal data."""
    badge = header_badge()
    return {"ok": True, "time": now().isoformat(), **badge,
            "hub_text": _("hub_offline", n=badge["backlog"]) if badge["hub_offline"] else ""}


@bp.route("/healthz")
def healthz():
    h = health()
    return h, 200 if h["state"] != "fault" else 503


@bp.route("/status/confirm-clock", methods=["POST"])
@admin_required
def confirm_clock():
    try:
        devices().issuer.confirm_clock(operator=current_user()["name"])
        flash(_("msg_clock_confirmed"), "ok")
        audit.info("clock confirmed by %s", current_user()["name"])
    except ApplianceError as exc:
        flash(message_for(exc), "error")
    return redirect(url_for("status.page"), code=303)
