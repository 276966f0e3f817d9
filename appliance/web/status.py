"""Status: the device's health page, the header badge, ``/status.json`` for polling, ``/healthz``.

All of them read the one health snapshot of :mod:`appliance.health` (so do the GPIO lights).
Two hub indicators, never merged: "the tablet cannot reach the device" is raised by the
tablet's JS when ``/status.json`` stops answering; "the device cannot reach the hub" comes
from the snapshot's sync facts.
"""

from __future__ import annotations

import logging

from flask import Blueprint, flash, redirect, render_template, url_for

from appliance.errors import ApplianceError
from appliance.web.common import (
    _,
    admin_required,
    audit,
    current_user,
    devices,
    header_badge,
    login_required,
    message_for,
    now,
)

log = logging.getLogger(__name__)
bp = Blueprint("status", __name__)

def health() -> dict:
    """The one health snapshot (:mod:`appliance.health`) as the status page and monitoring show it."""
    return devices().health().to_json()


@bp.route("/status")
@login_required
def page():
    return render_template("status/index.html", h=health())


@bp.route("/status.json")
def poll():
    """What the tablet polls: small, no personal data. Without sign-in only ok-level facts (as
    ``/healthz``: whether the hub is reached, no counts); signed in also the backlog and the verdict."""
    badge = header_badge()
    out = {"ok": True, "time": now().isoformat(), "hub_offline": badge["hub_offline"]}
    if current_user() is not None:
        out.update(backlog=badge["backlog"], state=badge["state"],
                   hub_text=_("hub_offline", n=badge["backlog"]) if badge["hub_offline"] else "")
    return out


@bp.route("/healthz")
def healthz():
    """For monitoring: 503 when issuing is blocked. Without sign-in only the verdict (no paths,
    key ids or counts); signed in, the whole snapshot."""
    h = health()
    code = 200 if h["state"] != "fault" else 503
    if current_user() is None:
        return {"ok": code == 200, "state": h["state"]}, code
    return h, code


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


@bp.route("/status/correct-clock", methods=["POST"])
@admin_required
def correct_clock():
    """After a wrong, later clock (set right again): journal the bad interval, issue on."""
    try:
        entry = devices().issuer.correct_clock(operator=current_user()["name"])
        flash(_("msg_clock_corrected", n=entry["data"]["entries"]), "ok")
        audit.info("clock corrected by %s (seq %d)", current_user()["name"], entry["seq"])
    except ApplianceError as exc:
        flash(message_for(exc), "error")
    return redirect(url_for("status.page"), code=303)
