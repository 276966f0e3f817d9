"""Admin: staff accounts, centre settings (issuer, defaults, validity, retention), printer settings.

Centre and printer settings take effect at once: the issuer, the print service (receipts,
the purge of old print jobs), the printer and the health verdict behind the lights read them
at the moment of use (:class:`appliance.settings.LiveConfig`). Only the GPIO pins of the
status lights (configuration file) need a restart; the page says so. "Test print" sends the
test page to the printer as it is set now and says whether the printer took it.
"""

from __future__ import annotations

import logging

from flask import Blueprint, flash, redirect, render_template, request, url_for

from appliance.dcc import valuesets
from appliance.errors import InvalidInput
from appliance.settings import CENTRE_FIELDS
from appliance.web.common import (
    _,
    admin_required,
    audit,
    current_user,
    devices,
    effective_config,
    lang,
    now,
    sessions,
    throttle,
)
from appliance.messages import render_all as translate_all

log = logging.getLogger(__name__)
bp = Blueprint("admin", __name__, url_prefix="/admin")

PRINTER_FORM = ("kind", "host", "port", "path", "paper_width_mm")


def _page(errors: dict | None = None, status: int = 200, values: dict | None = None,
          printer_values: dict | None = None):
    d = devices()
    cfg = effective_config()
    centre = {"name": "", "issuer": cfg.device.issuer, "uvci_issuer": cfg.device.uvci_issuer, "country": cfg.device.country,
              "validity_days_v": cfg.issue.validity_days_v, "validity_hours_t": cfg.issue.validity_hours_t,
              "validity_days_r": cfg.issue.validity_days_r, "retention_days": cfg.journal.retention_days,
              "timezone": "Europe/Berlin", **d.settings.centre(), **(values or {})}
    printer = {**{k: getattr(cfg.printer, k) for k in PRINTER_FORM}, **(printer_values or {})}
    vs = valuesets.load()
    return render_template("admin/index.html", users=d.settings.users(), centre=centre, printer=printer,
                           blocked=throttle().waiting(now=now()),
                           errors=errors or {}, products=vs.choices("vaccine-medicinal-product", lang()),
                           test_types=vs.choices("test-type", lang()), devices_=vs.choices("test-manf", lang())), status


@bp.route("/")
@admin_required
def index():
    return _page()[0]


@bp.route("/users", methods=["POST"])
@admin_required
def add_user():
    try:
        devices().settings.add_user(request.form.get("name", "").strip()[:40], password=request.form.get("password", "")[:200],
                                    role=request.form.get("role", ""), language=request.form.get("language", "de"))
    except InvalidInput as exc:
        return _page({f"user_{k}": v for k, v in translate_all(exc.field_errors, lang()).items()}, 422)
    audit.info("account added by %s", current_user()["name"])
    flash(_("msg_saved"), "ok")
    return redirect(url_for("admin.index"), code=303)


@bp.route("/users/<name>", methods=["POST"])
@admin_required
def change_user(name: str):
    settings = devices().settings
    action = request.form.get("action", "")
    try:
        if action == "password":
            settings.set_password(name, request.form.get("password", "")[:200])
        elif action in ("disable", "enable"):
            if name == current_user()["name"]:
                raise InvalidInput({"name": "you cannot disable your own account"})
            settings.set_active(name, action == "enable")
        elif action == "role":
            settings.set_role(name, request.form.get("role", ""))
        elif action == "unlock":
            if settings.user(name) is None:
                raise InvalidInput({"name": "no such account"})
            throttle().unlock(name)
        else:
            raise InvalidInput({"action": "unknown action"})
    except InvalidInput as exc:
        return _page({f"user_{k}": v for k, v in translate_all(exc.field_errors, lang()).items()}, 422)
    if action != "unlock" and name != current_user()["name"]:
        sessions().end_account(name)      # at once; the session version ends them in any case
    audit.info("account %s: %s by %s", action, name, current_user()["name"])
    flash(_("msg_saved"), "ok")
    return redirect(url_for("admin.index"), code=303)


@bp.route("/centre", methods=["POST"])
@admin_required
def centre():
    values = {k: request.form.get(k, "").strip()[:200] for k in CENTRE_FIELDS if k in request.form}
    try:
        devices().settings.update_centre(**values)
    except InvalidInput as exc:
        return _page(translate_all(exc.field_errors, lang()), 422, values)
    audit.info("centre settings changed by %s", current_user()["name"])
    flash(_("msg_saved"), "ok")
    return redirect(url_for("admin.index"), code=303)


@bp.route("/printer", methods=["POST"])
@admin_required
def printer():
    values = {k: request.form.get(k, "").strip()[:200] for k in PRINTER_FORM if k in request.form}
    try:
        devices().settings.update_devices(printer=values, config=devices().config)
    except InvalidInput as exc:
        errors = {k.removeprefix("printer."): v for k, v in translate_all(exc.field_errors, lang()).items()}
        return _page(errors, 422, printer_values=values)
    audit.info("printer settings changed by %s", current_user()["name"])
    flash(_("msg_saved"), "ok")
    return redirect(url_for("admin.index"), code=303)


@bp.route("/printer/test", methods=["POST"])
@admin_required
def test_print():
    """Print the test page now; the flash says honestly whether the printer took it."""
    failure = devices().test_print()
    section = effective_config().printer
    audit.info("test print by %s: %s", current_user()["name"], "ok" if failure is None else "failed")
    if failure is None:
        flash(_("msg_test_print_ok", target=_printer_target(section)), "ok")
    elif failure.paper == "out":
        flash(_("msg_test_print_no_paper", target=_printer_target(section)), "error")
    elif failure.online is False:
        flash(_("msg_test_print_unreachable", target=_printer_target(section)), "error")
    else:
        flash(_("msg_test_print_failed", target=_printer_target(section)), "error")
    return redirect(url_for("admin.index"), code=303)


def _printer_target(section) -> str:
    """Where the printer is, in the terms of the settings (no adapter or exception text)."""
    if section.kind == "network":
        return f"{section.host}:{section.port}"
    if section.kind == "usb":
        return f"USB {section.vendor_id}:{section.product_id}"
    if section.kind == "file":
        return section.path or str(effective_config().state_dir / "receipts")
    return section.path
