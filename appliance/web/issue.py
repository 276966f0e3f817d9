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
from appliance.errors import ApplianceError, IdempotencyConflict, InvalidInput
from appliance.reference import installed
from appliance.util import timefmt
from appliance.web import acceptance as acceptance_view
from appliance.web import readback, record_state
from appliance.web import review as review_state
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
              "date": now().date().isoformat(), "result": model.NOT_DETECTED,
              "sample_time": timefmt.to_local_input(now(), centre_timezone()),   # now, local; editable
              "draft": secrets.token_urlsafe(18)}   # the review's idempotency token (see review.py)
    values.update(session.get("sticky", {}))
    return values


@bp.app_context_processor
def _printer_banner() -> dict:
    """``partials/printer_banner.html`` calls this (lazily: only the pages that include it)."""
    return {"printer_problem": record_state.printer_problem}


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
    draft = request.form.get("draft", "")
    if _TOKEN.match(draft):
        values["draft"] = draft
    return readback.complete(type_, values)   # PCR: no device; recovery: dates from the first positive test


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
    token = values.get("draft") or secrets.token_urlsafe(18)
    done = _issued_for(token)
    if done is not None:          # the review of an issued form, sent again (Back + resubmit)
        flash(_("msg_already_issued"), "warn")
        return redirect(url_for("issue.result", uvci=done.uvci), code=303)
    try:
        req = _parse(type_, values)
        dcc = _preview_dcc(req)
    except InvalidInput as exc:
        return render_form(type_, values, readback.errors_by_field(exc.field_errors, lang()), 422)
    review_state.drafts().put(current_user()["name"], token, type_, values)
    return _render_review(type_, values, req, dcc, token)


@bp.route(f"/issue/{_TYPE}/drafts/<token>/review")   # ends in /review, like the POST it replaces
@login_required
def review_again(type_: str, token: str):
    """The review page by its own URL (the history entry app.js puts in place of the POST)."""
    done = _issued_for(token) if _TOKEN.match(token) else None
    if done is not None:          # Back after issuing: the certificate, not a second review
        flash(_("msg_already_issued"), "warn")
        return redirect(url_for("issue.result", uvci=done.uvci), code=303)
    draft = review_state.drafts().get(current_user()["name"], token) if _TOKEN.match(token) else None
    if draft is None or draft[0] != type_:
        flash(_("msg_review_expired"), "warn")
        return redirect(url_for("issue.start", type_=type_), code=303)
    values = draft[1]
    try:
        req = _parse(type_, values)
        dcc = _preview_dcc(req)
    except InvalidInput as exc:
        return render_form(type_, values, readback.errors_by_field(exc.field_errors, lang()), 422)
    return _render_review(type_, values, req, dcc, token)


def _issued_for(token: str):
    """The certificate already issued for this user's review token, or None."""
    return devices().journal.by_idempotency_key(f"{current_user()['name']}:{token}")


def _render_review(type_: str, values: dict, req, dcc: dict, token: str, *, status: int = 200,
                   problem: str | None = None, checks=None):
    tz = centre_timezone()
    checks = checks or review_state.check(req, dcc, tz)
    return render_template("issue/review.html", type_=type_, v=values, rows=readback.readback(dcc, lang(), tz),
                           token=token, duplicates=[checks.duplicate] if checks.duplicate else [],
                           warnings=checks.warnings, ack=checks.ack, problem=problem,
                           corrects=values.get("corrects", "")), status


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
        if _issued_for(token) is None:       # a replay returns the certificate; a new one needs the ticks
            dcc = _preview_dcc(req)
            checks = review_state.check(req, dcc, centre_timezone())
            if not review_state.acknowledged(checks, request.form.get("acknowledge", "")):
                log.info("issuing refused: review warnings not acknowledged")
                return _render_review(type_, values, req, dcc, token, status=422, checks=checks,
                                      problem=_("msg_acknowledge_warnings"))
        if values.get("corrects"):   # the new certificate and the old one's revocation: one commit
            issued = devices().issuer.correct(values["corrects"], req, operator=user, idempotency_key=f"{user}:{token}")
        else:
            issued = devices().issuer.issue(req, operator=user, idempotency_key=f"{user}:{token}")
    except InvalidInput as exc:
        return render_form(type_, values, readback.errors_by_field(exc.field_errors, lang()), 422)
    except IdempotencyConflict:   # the token of a review of other data: not that certificate, and no new one
        log.warning("issuing refused: the review token was already used with other data")
        return render_form(type_, values, {}, 409, problem=_("msg_token_conflict"))
    except ApplianceError as exc:
        log.warning("issuing failed: %s", type(exc).__name__)
        return render_form(type_, values, {}, 503, problem=message_for(exc))
    session["sticky"] = {k: values[k] for k in model.CENTRE_FIELDS if values.get(k)}
    review_state.drafts().forget(user, token)
    if values.get("corrects"):
        flash(_("msg_corrected"), "ok")
    if not issued.replayed:
        acceptance_view.note_own_failure(issued, user)  # journals a rules_warning if its own country's rules fail
    audit.info("issued %s type %s by %s%s", uvci_tag(issued.uvci), type_, user, " (replayed)" if issued.replayed else "")
    return redirect(url_for("issue.result", uvci=issued.uvci), code=303)


@bp.route("/result/<path:uvci>")
@login_required
def result(uvci: str):
    record = devices().journal.certificate(uvci)
    if record is None:
        abort(404)
    dcc = decode_record(record)
    return render_template("issue/result.html", record=record, dcc=dcc,
                           rows=readback.readback(dcc, lang(), centre_timezone()) if dcc else [],
                           type_=record.type, acceptance=acceptance_view.view(record, dcc),
                           revocation=record_state.revocation(record), test_dsc=record_state.signed_by_test_dsc(record))
