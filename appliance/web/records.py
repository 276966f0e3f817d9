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

from appliance.dcc import qr, verify
from appliance.errors import ApplianceError, InvalidInput, PrinterError
from appliance.web import field_messages, readback
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

log = logging.getLogger(__name__)
bp = Blueprint("records", __name__)


def decode_record(record) -> dict | None:
    """The DCC of a journal record, decoded from its retained HC1 string (``None`` once purged)."""
    personal = (record.personal or {}) if record else {}
    if isinstance(personal.get("dcc"), dict):
        return personal["dcc"]
    hc1 = personal.get("hc1")
    if not hc1:
        return None
    d = devices()
    certs = [d.signer.certificate] if d.signer.certificate is not None else []
    result = verify.verify(hc1, dscs=certs, at=record.issued_at)
    return result.payload


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
    return render_template("records/detail.html", record=record, dcc=dcc,
                           rows=readback.readback(dcc, lang()) if dcc else [])


@bp.route("/qr/<path:uvci>")
@login_required
def qr_svg(uvci: str):
    record = _record_or_404(uvci)
    hc1 = (record.personal or {}).get("hc1")
    if not hc1:
        abort(404)
    svg = qr.qr_svg(hc1, ecc=effective_config().issue.qr_ecc, scale=6, border=4)
    return Response(svg, mimetype="image/svg+xml", headers={"Cache-Control": "no-store"})


@bp.route("/print/<path:uvci>", methods=["POST"])
@login_required
def print_receipt(uvci: str):
    record = _record_or_404(uvci)
    back = url_for("issue.result", uvci=uvci) if request.form.get("back") != "records" else url_for("records.detail", uvci=uvci)
    dcc = decode_record(record)
    if dcc is None:
        flash(_("msg_no_personal"), "error")
        return redirect(back, code=303)
    printing = devices().printing
    reprint = request.form.get("reprint") == "1"
    try:
        job = printing.submit(uvci=record.uvci, hc1=record.personal["hc1"], dcc=dcc, issued_at=record.issued_at,
                              operator=current_user()["name"], reprint=reprint)
        done = printing.wait(job, 3.0)
    except PrinterError as exc:
        flash(message_for(exc), "error")
    else:
        flash(_("msg_print_done") if done else _("msg_print_queued"), "ok" if done else "error")
    audit.info("%s %s by %s", "reprint" if reprint else "print", uvci_tag(record.uvci), current_user()["name"])
    return redirect(back, code=303)


@bp.route("/records/<path:uvci>/revoke", methods=["POST"])
@admin_required
def revoke(uvci: str):
    record = _record_or_404(uvci)
    reason = request.form.get("reason", "").strip()[:200]
    if not reason:
        flash(f"{_('reason')}: " + ("Bitte einen Grund angeben." if lang() == "de" else "Please give a reason."), "error")
        return redirect(url_for("records.detail", uvci=record.uvci), code=303)
    try:
        devices().issuer.revoke(record.uvci, operator=current_user()["name"], reason=reason,
                                fraud=request.form.get("fraud") == "1")
        flash(_("msg_revoked"), "ok")
    except InvalidInput as exc:
        flash("; ".join(field_messages.translate_all(exc.field_errors, lang()).values()), "error")
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
    from appliance.web.issue import _render_form
    return _render_form(record.type, {**values_from_dcc(dcc), "corrects": record.uvci})[0]


def values_from_dcc(dcc: dict) -> dict:
    """The web form's values for an issued DCC (for corrections)."""
    nam = dcc.get("nam", {})
    out = {"family_name": nam.get("fn", ""), "given_name": nam.get("gn", ""), "date_of_birth": dcc.get("dob", ""),
           "family_name_standardised": nam.get("fnt", ""), "given_name_standardised": nam.get("gnt", "")}
    if dcc.get("v"):
        v = dcc["v"][0]
        out.update(product=v.get("mp", ""), dose=f"{v.get('dn')}/{v.get('sd')}", date=v.get("dt", ""),
                   country=v.get("co", ""), issuer=v.get("is", ""))
    elif dcc.get("t"):
        t = dcc["t"][0]
        out.update(test_type=t.get("tt", ""), test_name=t.get("nm", ""), test_device=t.get("ma", ""),
                   sample_time=_local(t.get("sc", "")), result=t.get("tr", ""), centre=t.get("tc", ""),
                   country=t.get("co", ""), issuer=t.get("is", ""))
    elif dcc.get("r"):
        r = dcc["r"][0]
        out.update(first_positive=r.get("fr", ""), valid_from=r.get("df", ""), valid_until=r.get("du", ""),
                   country=r.get("co", ""), issuer=r.get("is", ""))
    return out


def _local(iso: str) -> str:
    """A DCC timestamp -> the centre's local time for a datetime-local input."""
    from datetime import datetime
    from zoneinfo import ZoneInfo
    try:
        moment = datetime.fromisoformat(str(iso))
    except ValueError:
        return ""
    tz = ZoneInfo(devices().settings.centre().get("timezone", "Europe/Berlin"))
    return moment.astimezone(tz).strftime("%Y-%m-%dT%H:%M")
