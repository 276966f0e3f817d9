"""Admin: reference data. Shows what is installed (version and age per content type), accepts
a ``.dccbundle`` upload (the same checks and atomic install as ``appliance reference
import``) and rolls back to the previous set."""

from __future__ import annotations

import logging
from datetime import timezone

from flask import Blueprint, flash, redirect, render_template, request, url_for

from appliance.errors import ApplianceError
from appliance.reference import freshness, store
from appliance.reference.anchor import load_anchor
from appliance.reference.bundle import MAX_BUNDLE_BYTES
from appliance.web.common import _, admin_required, current_user, effective_config, now

log = logging.getLogger(__name__)
audit = logging.getLogger("appliance.audit")
bp = Blueprint("reference", __name__, url_prefix="/admin/reference")


def _allow_bundle_size():
    """The app allows 64 KiB per request; a bundle upload may be as large as a bundle. It must
    run before CSRF protection reads the form, so it goes first among the app's hooks."""
    if request.method == "POST" and request.path == bp.url_prefix:
        request.max_content_length = MAX_BUNDLE_BYTES + 64 * 1024


bp.record_once(lambda state: state.app.before_request_funcs.setdefault(None, []).insert(0, _allow_bundle_size))


def _page(status: int = 200):
    cfg = effective_config()
    info = freshness.report(cfg, now=now().astimezone(timezone.utc))
    return render_template("admin/reference.html", info=info, anchor=bool(cfg.reference.trust_anchor)), status


@bp.get("")
@admin_required
def index():
    return _page()


@bp.post("")
@admin_required
def upload():
    file = request.files.get("bundle")
    data = file.read(MAX_BUNDLE_BYTES + 1) if file else b""
    cfg = effective_config()
    try:
        if not data:
            raise ApplianceError("choose a .dccbundle file")
        result = store.install(cfg.state_dir, data, anchor=load_anchor(cfg), now=now().astimezone(timezone.utc),
                               source=f"upload:{current_user()['name']}")
    except ApplianceError as exc:
        log.warning("reference bundle upload refused: %s", exc)
        flash(_("reference_refused", why=str(exc)), "error")
        return _page(422)
    audit.info("reference data %s uploaded by %s", result.name, current_user()["name"])
    flash(_("reference_installed", what=f"{result.name}: {result.describe()}"), "ok")
    return redirect(url_for("reference.index"), code=303)


@bp.post("/rollback")
@admin_required
def rollback():
    try:
        _was, name = store.rollback(effective_config().state_dir)
    except ApplianceError as exc:
        flash(str(exc), "error")
        return _page(409)
    flash(_("reference_rolled_back", name=name), "ok")
    return redirect(url_for("reference.index"), code=303)
