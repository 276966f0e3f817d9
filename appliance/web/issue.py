"""Issue flow: choose the type -> form (sticky defaults) -> review (read-back) -> issue -> result.

Issuing is POST -> redirect -> GET. The review page carries a fresh idempotency
token; the Issue POST passes it to :meth:`appliance.issue.Issuer.issue`, so a
double tap or a re-sent POST returns the first certificate instead of a second.
Nothing is signed, journaled or printed on a GET.
"""

from __future__ import annotations

import logging
import re
import secrets
from datetime import timedelta

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from appliance.dcc import form as form_mod
from appliance.dcc import model, payload
from appliance.errors import ApplianceError, InvalidInput
from appliance.reference import installed
from appliance.web import acceptance as acceptance_view
from appliance.web import readback
from appliance.web.common import (
    _,
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
from appliance.web.forms import centre_timezone, decode_record, readiness, render_form

log = logging.getLogger(__name__)
bp = Blueprint("issue", __name__)

_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_TYPE = f"<any({','.join(model.TYPES)}):type_>"


def _defaults(type_: str) -> dict:
    cfg = effective_config()
    centre = devices().settings.centre()
    values = {"country": cfg.device.country, "issuer": cfg.device.issuer,
              "product": centre.get("default_product", ""), "test_type": centre.get("default_test_type", ""),
              "test_device": centre.get("default_test_device", ""), "centre": next(iter(cfg.device.centre_map()), ""),
              "date": now().date().isoformat(), "result": model.NOT_DETECTED}
    values.update(session.get("sticky", {}))
    return values


@bp.route("/")
@login_required
def choose():
    return render_template("issue/choose.html", readiness=readiness(None))


@bp.route(f"/issue/{_TYPE}")
@login_required
def start(type_: str):
    values = _defaults(type_)
    source = request.args.get("from", "")
    if source:
        values.update(_same_person(source, type_))
    return render_form(type_, values)[0]


def _same_person(uvci: str, type_: str) -> dict:
    """The person of an earlier certificate and, after a vaccination, the product and the next dose."""
    record = devices().journal.certificate(uvci[:80])
    dcc = decode_record(record) if record else None
    if not dcc:
        return {}
    out = model.person_values(dcc)
    if type_ == "v" and model.type_of(dcc) == "v":
        prev = model.event_values(dcc)
        dn, sd = int(prev["dose_number"] or 0), int(prev["total_doses"] or 0)
        out.update(product=prev["product"], dose=f"{dn + 1}/{max(sd, dn + 1)}")
    return out


def _submitted(type_: str) -> dict:
    values = {k: request.form.get(k, "")[:readback.MAX_FIELD] for k in readback.form_fields(type_)}
    corrects = request.form.get("corrects", "")[:80]
    if corrects and current_user()["role"] == "admin":
        values["corrects"] = corrects
    return values


def _parse(type_: str, values: dict):
    cfg = effective_config()
    data = readback.to_input(type_, values, tz=centre_timezone())
    return form_mod.parse_input(data, type=type_, device=cfg.device, now=now(),
                                valuesets=installed.current_valuesets(cfg.state_dir))  # installed reference data


def _preview_dcc(req) -> dict:
    cfg = effective_config()
    vs = installed.current_valuesets(cfg.state_dir)  # installed reference data
    dcc = payload.build_dcc(req, uvci="URN:UVCI:01:XX:PREVIEW", schema_version=cfg.issue.schema_version, vs=vs)
    payload.validate_dcc(dcc, now=now(), vs=vs)
    return dcc


@bp.route(f"/issue/{_TYPE}/review", methods=["POST"])
@login_required
def review(type_: str):
    values = _submitted(type_)
    try:
        req = _parse(type_, values)
        dcc = _preview_dcc(req)
    except InvalidInput as exc:
        return render_form(type_, values, readback.errors_by_field(exc.field_errors, lang()), 422)
    return render_template("issue/review.html", type_=type_, v=values, rows=readback.readback(dcc, lang()),
                           token=secrets.token_urlsafe(18), duplicates=_duplicates(dcc),
                           corrects=values.get("corrects", ""))


def _duplicates(dcc: dict) -> list[dict]:
    """Certificates of the same person for the same event within the retention window."""
    cfg = effective_config()
    since = now() - timedelta(days=cfg.journal.retention_days)
    who = model.person_values(dcc)
    person = {"family_name_std": who["family_name_standardised"], "given_name_std": who["given_name_standardised"],
              "date_of_birth": who["date_of_birth"]}
    out = []
    for record in devices().journal.same_person(person, since=since, limit=50):
        if record.revoked or not record.personal:
            continue
        old = decode_record(record)
        if old and readback.same_event(old, dcc):
            out.append({"uvci": record.uvci, "when": record.issued_at.strftime("%Y-%m-%d %H:%M")})
    return out


@bp.route(f"/issue/{_TYPE}/confirm", methods=["POST"])
@login_required
def confirm(type_: str):
    values = _submitted(type_)
    if request.form.get("action") == "back":
        return render_form(type_, values)[0]
    token = request.form.get("token", "")
    if not _TOKEN.match(token):
        abort(400)
    user = current_user()["name"]
    try:
        req = _parse(type_, values)
        issued = devices().issuer.issue(req, operator=user, idempotency_key=f"{user}:{token}")
    except InvalidInput as exc:
        return render_form(type_, values, readback.errors_by_field(exc.field_errors, lang()), 422)
    except ApplianceError as exc:
        log.warning("issuing failed: %s", type(exc).__name__)
        return render_form(type_, values, {}, 503, problem=message_for(exc))
    session["sticky"] = {k: values[k] for k in model.CENTRE_FIELDS if values.get(k)}
    if values.get("corrects") and not issued.replayed:
        _revoke_corrected(values["corrects"], issued.uvci, user)
    if not issued.replayed:
        acceptance_view.note_own_failure(issued, user)  # journals a rules_warning if its own country's rules fail
    audit.info("issued %s type %s by %s%s", uvci_tag(issued.uvci), type_, user, " (replayed)" if issued.replayed else "")
    return redirect(url_for("issue.result", uvci=issued.uvci), code=303)


def _revoke_corrected(old: str, new: str, user: str) -> None:
    try:
        devices().issuer.revoke(old, operator=user, reason="corrected", note=f"replaced by {new}")
        flash(_("msg_corrected"), "ok")
    except ApplianceError as exc:
        flash(message_for(exc), "error")


@bp.route("/result/<path:uvci>")
@login_required
def result(uvci: str):
    record = devices().journal.certificate(uvci)
    if record is None:
        abort(404)
    dcc = decode_record(record)
    return render_template("issue/result.html", record=record, dcc=dcc,
                           rows=readback.readback(dcc, lang()) if dcc else [],
                           type_=record.type, acceptance=acceptance_view.view(record, dcc))
