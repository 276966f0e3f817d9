"""The tablet UI: Flask app factory, CSRF, security headers, sign-in session, languages.

``create_app(config, devices)`` takes the configuration and the devices built by
the composition root (:func:`appliance.runtime.build_devices`) and keeps the
devices in ``app.extensions["appliance"]``. One blueprint per screen group:
auth, issue, records, status, verify, admin.
"""

from __future__ import annotations

import logging
import os
import secrets
from datetime import timedelta
from pathlib import Path

from flask import (
    Flask,
    current_app,
    flash,
    g,
    render_template,
    request,
    session,
)
from flask_wtf.csrf import CSRFError, CSRFProtect, generate_csrf
from werkzeug.exceptions import HTTPException

from appliance.errors import ApplianceError, ConfigError, InvalidInput
from appliance.web import i18n
from appliance.web.common import _, field_message, field_problems, header_badge, lang, local_time, message_for
from appliance.web.sessions import SessionStore
from appliance.web.throttle import SignInThrottle

log = logging.getLogger(__name__)

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
       "media-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
       "form-action 'self'; frame-ancestors 'none'")


def secret_key(config) -> bytes:
    """The session signing key from ``[web] secret_key_file`` or ``<state>/web-secret`` (made 0600 once)."""
    path = Path(config.web.secret_key_file) if config.web.secret_key_file else Path(config.state_dir) / "web-secret"
    if not path.exists():
        if config.web.secret_key_file:
            raise ConfigError(f"{config.source}: [web] secret_key_file {path} does not exist")
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(secrets.token_bytes(32))
            fh.flush()
            os.fsync(fh.fileno())
        log.info("made a new web session key in %s", path)
    try:
        key = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{config.source}: cannot read the web secret key {path}: {exc.strerror}") from None
    if len(key) < 16:
        raise ConfigError(f"{config.source}: the web secret key {path} is shorter than 16 bytes")
    return key


def create_app(config, devices) -> Flask:
    """Build the Flask app for ``config`` with ``devices`` (see :mod:`appliance.runtime`)."""
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=secret_key(config),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_SECURE=bool(config.web.tls_cert) or config.web.behind_proxy,  # nginx serves HTTPS
        SESSION_COOKIE_NAME="appliance_session",
        WTF_CSRF_TIME_LIMIT=None,  # the session's idle timeout bounds the token's life
        MAX_CONTENT_LENGTH=64 * 1024,
        IDLE_TIMEOUT=timedelta(minutes=config.web.idle_timeout_min),
        SEND_FILE_MAX_AGE_DEFAULT=3600,
    )
    app.extensions["appliance"] = devices
    app.extensions["appliance_sessions"] = SessionStore(idle=app.config["IDLE_TIMEOUT"])
    app.extensions["appliance_throttle"] = SignInThrottle()
    CSRFProtect(app)
    i18n.init_app(app)
    app.jinja_env.globals.update(csrf_token=generate_csrf)
    app.jinja_env.filters["local_time"] = local_time

    # lazy: importing a helper (web.i18n, web.common) must not load every screen (~130 ms)
    from appliance.web import admin, api, auth, issue, records, status, verify
    from appliance.web import reference  # lazy: as above
    for bp in (auth.bp, issue.bp, records.bp, status.bp, verify.bp, admin.bp, api.bp):
        app.register_blueprint(bp)
    app.register_blueprint(reference.bp)  # admin upload of reference-data bundles (appliance/web/reference.py)
    # lazy: the bulk-issuance screens load the batch pipeline (openpyxl and reportlab only when used)
    from appliance.web import batch
    app.register_blueprint(batch.bp)

    app.before_request(_before)
    app.after_request(_headers)
    app.context_processor(_context)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(InvalidInput, _invalid_input)
    app.register_error_handler(ApplianceError, _appliance_error)
    app.register_error_handler(Exception, _server_error)
    return app


def _before() -> None:
    devices = current_app.extensions["appliance"]
    asked = i18n.pick(request.args.get("lang"))
    g.user = None
    if "sid" in session:
        _resume(devices, asked)
    if asked:
        session["lang"] = asked
        if g.user and g.user.get("language") != asked and asked in i18n.LANGUAGES:  # not a test's pseudo-locale
            devices.settings.set_language(g.user["name"], asked)
            g.user = {**g.user, "language": asked}
    g.lang = asked or session.get("lang") or (g.user or {}).get("language") or i18n.DEFAULT


def _resume(devices, asked: str | None) -> None:
    """Find the server-side session of the cookie's id; end it if it is idle, unknown, or its
    account was disabled or changed (password, role) since sign-in."""
    store = current_app.extensions["appliance_sessions"]
    sid, now = session.get("sid"), devices.clock.now()
    live, expired = store.check(sid, now=now)
    user = devices.settings.user(live.name) if live else None
    if user is not None and user.get("active", True) and int(user.get("session_version", 0)) == live.version:
        g.user = user
        if request.endpoint not in ("static", "status.poll"):
            store.touch(sid, now=now)
        return
    store.end(sid)
    language = session.get("lang")
    session.clear()
    if language:
        session["lang"] = language
    if expired and request.endpoint != "static":
        g.lang = asked or language or i18n.DEFAULT
        flash(_("session_expired"), "error")


def _headers(response):
    h = response.headers
    h.setdefault("Content-Security-Policy", CSP)
    h.setdefault("X-Frame-Options", "DENY")
    h.setdefault("X-Content-Type-Options", "nosniff")
    # same-origin, not no-referrer: over HTTPS the CSRF check wants a Referer of this origin, and
    # browsers send none with no-referrer (every POST behind nginx failed); other sites get none
    h.setdefault("Referrer-Policy", "same-origin")
    h.setdefault("Permissions-Policy", "camera=(self), microphone=(), geolocation=()")
    if request.endpoint != "static":
        h["Cache-Control"] = "no-store"
        h["Pragma"] = "no-cache"
    if request.is_secure:
        h.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response


def _context() -> dict:
    return {"_": _, "lang": lang(), "user": g.get("user"), "badge": header_badge, "msg": field_message}


def _page(status: int, message: str):
    return render_template("error.html", message=message, code=status), status


def _csrf_error(exc):
    return _page(400, _("csrf_failed"))


def _http_error(exc: HTTPException):
    if request.path.startswith("/api/") or request.path in ("/healthz", "/status.json"):
        return {"error": exc.name}, exc.code
    key = {401: "login_needed", 403: "forbidden", 404: "not_found"}.get(exc.code)
    return _page(exc.code, _(key) if key else _("http_error", code=exc.code))


def _invalid_input(exc: InvalidInput):
    return _page(400, field_problems(exc.field_errors))


def _appliance_error(exc: ApplianceError):
    log.warning("request failed: %s", type(exc).__name__)
    return _page(503, message_for(exc))


def _server_error(exc: Exception):
    log.exception("unhandled error in %s", request.endpoint)
    return _page(500, _("server_error"))
