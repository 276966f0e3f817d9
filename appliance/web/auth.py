"""Sign-in and sign-out. Accounts live in :mod:`appliance.settings` (scrypt hashes); sessions in
:mod:`appliance.web.sessions` (server side); repeated wrong passwords in :mod:`appliance.web.throttle`.
Signing in writes nothing to disk."""

from __future__ import annotations

import logging

from flask import Blueprint, make_response, redirect, render_template, request, session, url_for

from appliance.web.common import _, audit, client_address, devices, now, sessions, throttle
from appliance.web.redirects import next_or

log = logging.getLogger(__name__)
bp = Blueprint("auth", __name__)


def _refused(name: str, message: str, status: int, retry_after: int = 0):
    resp = make_response(render_template("auth/login.html", error=message, name=name), status)
    if retry_after:
        resp.headers["Retry-After"] = str(retry_after)
    return resp


@bp.route("/login", methods=["GET", "POST"])
def login():
    if request.method != "POST":
        return render_template("auth/login.html", error=None, name="")
    name = request.form.get("username", "").strip()[:40]
    password = request.form.get("password", "")
    address, moment, limiter = client_address(), now(), throttle()
    wait = limiter.wait_seconds(name, address, now=moment)
    if wait:  # the same answer for every name, real or not; the password is not even looked at
        audit.info("sign-in refused: too many wrong passwords from this client")
        return _refused(name, _("login_locked", seconds=wait), 429, wait)
    user = devices().settings.check_password(name, password)
    if user is None:
        limiter.failed(name, address, now=moment)
        audit.info("sign-in refused")
        return _refused(name, _("login_failed"), 401)
    limiter.succeeded(name, address)
    language = session.get("lang")
    sessions().end(session.get("sid"))
    session.clear()                       # a new session: nothing of the anonymous one carries over
    session["sid"] = sessions().start(user["name"], int(user.get("session_version", 0)), now=moment)
    session["lang"] = language or user.get("language", "de")
    audit.info("sign-in by %s", user["name"])
    return redirect(next_or(request.args.get("next"), url_for("issue.choose")))


@bp.route("/logout", methods=["POST"])
def logout():
    language = session.get("lang")
    sessions().end(session.get("sid"))
    session.clear()
    if language:
        session["lang"] = language
    return redirect(url_for("auth.login"))
