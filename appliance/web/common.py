"""Helpers every blueprint shares: the devices, the clock, the signed-in user, roles, messages."""

from __future__ import annotations

import functools
import hashlib
import logging
from datetime import datetime

from flask import abort, current_app, g, redirect, request, session, url_for

from appliance import errors, messages
from appliance.errors import ApplianceError
from appliance.util import timefmt
from appliance.web.i18n import lookup, translate

log = logging.getLogger(__name__)
audit = logging.getLogger("appliance.audit")


def devices():
    """The :class:`appliance.runtime.Devices` the app was built with."""
    return current_app.extensions["appliance"]


def now() -> datetime:
    return devices().clock.now()


def sessions():
    """The :class:`appliance.web.sessions.SessionStore` of this app."""
    return current_app.extensions["appliance_sessions"]


def throttle():
    """The :class:`appliance.web.throttle.SignInThrottle` of this app."""
    return current_app.extensions["appliance_throttle"]


def client_address() -> str:
    """The tablet's address (behind nginx, ``[web] behind_proxy`` makes this the real client's)."""
    return request.remote_addr or "unknown"


def lang() -> str:
    """The request's language; before the app's own hook ran (a CSRF refusal), the session's."""
    return getattr(g, "lang", None) or session.get("lang") or "de"


def _(key: str, **params) -> str:
    return translate(key, lang(), **params)


def field_label(path: str) -> str | None:
    """The translated label of an input path (``vaccination.date`` -> "Impfdatum"), None if it has none."""
    head, _dot, rest = path.partition(".")
    for key in (f"field_{path.replace('.', '_')}", rest.split(".")[-1] if rest else head):
        if key and lookup(key, lang()) is not None:
            return translate(key, lang())
    return None


def field_message(message: object, fallback: str = messages.UNKNOWN) -> str:
    """One message (a :class:`~appliance.messages.Msg`) in the user's language (templates: ``msg(m)``)."""
    return messages.render(message, lang(), fallback)


def field_problems(field_errors) -> str:
    """Every problem of an :class:`~appliance.errors.InvalidInput` as one line: "label: message; ..."."""
    parts = []
    for path, message in field_errors.items():
        label = field_label(path)
        parts.append(f"{label}: {field_message(message)}" if label else field_message(message))
    return "; ".join(parts)


def effective_config():
    """The configuration with the admin's centre settings applied."""
    d = devices()
    return d.settings.effective_config(d.config)


def current_user() -> dict | None:
    return getattr(g, "user", None)


def login_required(view):
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if current_user() is None:
            if request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json":
                abort(401)
            return redirect(url_for("auth.login", next=request.full_path if request.method == "GET" else None))
        return view(*args, **kwargs)
    return wrapped


def admin_required(view):
    @functools.wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if current_user()["role"] != "admin":
            abort(403)
        return view(*args, **kwargs)
    return wrapped


#: exception class -> message key (most specific first)
_MESSAGE_KEYS: list[tuple[type, str]] = [
    (errors.PrinterUnavailable, "msg_printer_unavailable"),
    (errors.PrinterError, "msg_printer_unavailable"),
    (errors.ClockNotTrusted, "msg_clock_not_trusted"),
    (errors.SignerUnavailable, "msg_signer_unavailable"),
    (errors.DscError, "msg_dsc_error"),
    (errors.SigningError, "msg_signing_error"),
    (errors.JournalError, "msg_journal_error"),
]


def centre_timezone() -> str:
    """The centre's time zone (the tablet's times are typed and shown in it)."""
    d = devices()
    return d.settings.centre().get("timezone") or d.config.device.timezone   # the admin's setting, else [device]


def local_time(moment) -> str:
    """An aware datetime in the centre's time zone with its offset (``01.12.2026 14:05
    (UTC+01:00)``; the ``local_time`` template filter); the certificate itself keeps UTC."""
    return timefmt.fmt_local(moment, centre_timezone()) if moment else ""


def message_for(exc: BaseException) -> str:
    """The translated tablet message for an error: never the exception text."""
    for cls, key in _MESSAGE_KEYS:
        if isinstance(exc, cls):
            return _(key)
    return _("msg_error")


def uvci_tag(uvci: str) -> str:
    """A short hash of a UVCI for the audit log (no personal data)."""
    return hashlib.sha256(uvci.encode()).hexdigest()[:16]


def header_badge() -> dict:
    """The badge in every page's header: the same verdict, and the hub's state."""
    try:
        return devices().health(probe_printer=False).badge()
    except ApplianceError:
        return {"state": "fault", "text": "", "hub_offline": False, "backlog": 0}
