"""Records: recent certificates, search by name, QR, print/reprint; revoke and correct (admin).

Personal data shows only while the journal retains it (``record.personal``);
after the purge a record shows its UVCI, type and dates only.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)

from appliance import messages
from appliance.dcc import names, qr
from appliance.errors import ApplianceError, CertificateRevoked, InvalidInput, PrinterError
from appliance.issue import REVOCATION_REASONS
from appliance.web import readback, record_state
from appliance.web.common import (
    _,
    admin_required,
    audit,
    current_user,
    devices,
    effective_config,
    lang,
    login_required,
    message_for,
    now,
    uvci_tag,
)
from appliance.web.forms import centre_timezone, decode_record, render_form

log = logging.getLogger(__name__)
bp = Blueprint("records", __name__)

#: The form's name fields and their override fields; a correction starts with the overrides empty.
STANDARDISED_FIELDS = {"family_name": "family_name_standardised", "given_name": "given_name_standardised"}


def _record_or_404(uvci: str):
    record = devices().journal.certificate(uvci[:80])
    if record is None:
        abort(404)
    return record


@bp.route("/records")
@login_required
def index():
    text = request.args.get("q", "").strip()[:80] or None
    try:
        days = max(1, min(int(request.args.get("days", "1")), 366))
    except ValueError:
        days = 1
    since = now() - timedelta(days=days)
    records = devices().journal.search(text, since=since, limit=100)
    return render_template("records/index.html", records=records, q=text or "", days=days)


@bp.route("/records/<path:uvci>")
@login_required
def detail(uvci: str):
    record = _record_or_404(uvci)
    dcc = decode_record(record)
    return render_template("records/detail.html", record=record, dcc=dcc, reasons=REVOCATION_REASONS,
                           rows=readback.readback(dcc, lang()) if dcc else [],
                           revocation=record_state.revocation(record), test_dsc=record_state.signed_by_test_dsc(record))


@bp.route("/qr/<path:uvci>")
@login_required
def qr_svg(uvci: str):
    record = _record_or_404(uvci)
    hc1 = (record.personal or {}).get("hc1")
    if not hc1:
        abort(404)
    if record.revoked:          # a revoked certificate is never handed out as a scannable code
        abort(410)
    svg = qr.qr_svg(hc1, ecc=effective_config().issue.qr_ecc, scale=6, border=4)
    return Response(svg, mimetype="image/svg+xml", headers={"Cache-Control": "no-store"})


@bp.route("/print/<path:uvci>", methods=["POST"])
@login_required
def print_receipt(uvci: str):
    record = _record_or_404(uvci)
    back = url_for("issue.result", uvci=uvci) if request.form.get("back") != "records" else url_for("records.detail", uvci=uvci)
    dcc = decode_record(record)
    if record.revoked:
        flash(_("msg_print_revoked"), "error")
        return redirect(back, code=303)
    if dcc is None:
        flash(_("msg_no_personal"), "error")
        return redirect(back, code=303)
    printing = devices().printing
    reprint = request.form.get("reprint") == "1"
    try:   # a second tap after the receipt came out prints a second one, journaled as a reprint
        job = printing.submit(uvci=record.uvci, hc1=record.personal["hc1"], dcc=dcc, issued_at=record.issued_at,
                              operator=current_user()["name"], reprint=reprint,
                              test_dsc=record_state.signed_by_test_dsc(record))
        reprint = printing.queue.get(job).kind == "reprint"
        done = printing.wait(job, 3.0)
    except CertificateRevoked:   # revoked meanwhile
        flash(_("msg_print_revoked"), "error")
        return redirect(back, code=303)
    except PrinterError as exc:
        flash(message_for(exc), "error")
    else:
        flash(_(("msg_reprint_done" if reprint else "msg_print_done") if done else "msg_print_queued"),
              "ok" if done else "error")
    audit.info("%s %s by %s", "reprint" if reprint else "print", uvci_tag(record.uvci), current_user()["name"])
    return redirect(back, code=303)


@bp.route("/records/<path:uvci>/revoke", methods=["POST"])
@admin_required
def revoke(uvci: str):
    record = _record_or_404(uvci)
    reason = request.form.get("reason", "").strip()
    if request.form.get("confirm") != "1":     # the required "yes, revoke" box: no revocation by a stray tap
        flash(_("msg_revoke_confirm"), "error")
        return redirect(url_for("records.detail", uvci=record.uvci), code=303)
    if not reason:
        flash(f"{_('reason')}: {_('msg_give_reason')}", "error")
        return redirect(url_for("records.detail", uvci=record.uvci), code=303)
    try:
        devices().issuer.revoke(record.uvci, operator=current_user()["name"], reason=reason,
                                fraud=request.form.get("fraud") == "1", note=request.form.get("note", "")[:200])
        flash(_("msg_revoked"), "ok")
    except InvalidInput as exc:
        flash("; ".join(messages.render_all(exc.field_errors, lang()).values()), "error")
    except ApplianceError as exc:
        flash(message_for(exc), "error")
    return redirect(url_for("records.detail", uvci=record.uvci), code=303)


@bp.route("/records/<path:uvci>/correct")
@admin_required
def correct(uvci: str):
    record = _record_or_404(uvci)
    dcc = decode_record(record)
    if dcc is None or record.revoked:
        flash(_("msg_no_personal"), "error")
        return redirect(url_for("records.detail", uvci=record.uvci), code=303)
    values = readback.form_values(dcc, tz=centre_timezone())
    # the standardised names follow the names in the form unless staff type an override in THIS
    # form: the old ones are not carried over, or a corrected name would keep its old fnt/gnt
    if _had_override(values):
        flash(_("msg_std_names_retype"), "warn")
    for key in STANDARDISED_FIELDS.values():
        values.pop(key, None)
    return render_form(record.type, {**values, "corrects": record.uvci})[0]


def _had_override(values: dict) -> bool:
    """Whether the old certificate's standardised names were typed (not what its names give)."""
    for name_key, std_key in STANDARDISED_FIELDS.items():
        std = values.get(std_key)
        if not std:
            continue
        try:
            if names.transliterate(values.get(name_key) or "") != std:
                return True
        except InvalidInput:   # another script: staff typed it
            return True
    return False
