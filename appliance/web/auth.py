"""Sign-in and sign-out. Accounts live in :mod:`appliance.settings` (scrypt hashes, lockout)."""

from __future__ import annotations

import logging

from flask import Blueprint, redirect, render_template, request, session, url_for

from appliance.web.common import _, audit, devices, now

log = logging.getLogger(__name__)
bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    # only same-site paths: never an open redirect
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("issue.choose")


@bp.route("/login", methods=["GET", "POST"])
def login():
    error = None
    name = ""
    if request.method == "POST":
        name = request.form.get("username", "").strip()[:40]
        password = request.form.get("password", "")
        settings = devices().settings
        user = settings.check_password(name, password, now=now())
        if user is None:
            error = _("login_locked") if settings.locked_until(name, now=now()) else _("login_failed")
            audit.info("sign-in refused")
            return render_template("auth/login.html", error=error, name=name), 401
        language = session.get("lang")
        session.clear()
        session["user"] = user["name"]
        session["seen"] = now().isoformat()
        session["lang"] = language or user.get("language", "de")
        audit.info("sign-in by %s", user["name"])
        return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/login.html", error=error, name=name)


@bp.route("/logout", methods=["POST"])
def logout():
    language = session.get("lang")
    session.clear()
    if language:
        session["lang"] = language
    return redirect(url_for("auth.login"))
