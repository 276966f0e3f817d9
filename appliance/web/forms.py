"""What the issue and records screens share: the certificate form and a journal record's DCC.

The issue flow renders the form for a new certificate, the records screen for a correction;
both read a record's DCC back from its retained HC1 (for the result, a receipt, a correction
or "same person again").
"""

from __future__ import annotations

import logging

from flask import render_template

from appliance.dcc import doses, payload, verify
from appliance.reference import installed
from appliance.errors import ApplianceError
from appliance.web import readback
from appliance.web.common import centre_timezone, devices, lang, message_for

log = logging.getLogger(__name__)

#: Dose numberings offered when the product is unknown.
USUAL_DOSES = ("1/2", "2/2", "1/1", "2/1", "3/3", "3/2", "4/4")


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


def dose_choices(product: str) -> list[tuple[str, str]]:
    """("dn/sd", "1/2 – meaning") for the product, or the usual numberings if it is unknown."""
    try:
        options = doses.options(product) if product else []
    except (ApplianceError, KeyError, ValueError):
        options = []
    if options:
        return [(f"{o.dn}/{o.sd}", f"{o.dn}/{o.sd} – {o.meaning_de if lang() == 'de' else o.meaning_en}") for o in options]
    return [(d, d) for d in USUAL_DOSES]


def readiness(type_: str | None) -> list[str]:
    """Why the device cannot issue ``type_`` (any type for ``None``) right now; empty when it can."""
    try:
        return list(devices().issuer.readiness(type_))
    except ApplianceError as exc:
        return [message_for(exc)]


def _choices(type_: str) -> dict:
    vs = installed.current_valuesets(devices().config.state_dir)  # installed reference data over the packaged sets
    pick = lambda name: vs.choices(name, lang())
    out = {"country": pick("country-2-codes")}
    if type_ == "v":
        out["product"] = pick("vaccine-medicinal-product")
    elif type_ == "t":
        out.update(test_type=pick("test-type"), test_device=pick("test-manf"), result=pick("test-result"),
                   centre=list(devices().config.device.centre_map().items()))  # picked; only the id is synced
    return out


def render_form(type_: str, values: dict, errors: dict | None = None, status: int = 200, problem: str | None = None):
    """The form for a certificate of ``type_`` filled with ``values``: ``(html, status)``."""
    ready = [] if problem else readiness(type_)
    wrong = readback.wrong_fields(type_, errors or {})
    return render_template("issue/form.html", type_=type_, v=values, errors=errors or {}, choices=_choices(type_),
                           wrong=wrong, focus=wrong[0][0] if wrong else None,
                           recovery_days=(payload.RECOVERY_VALID_FROM_DAYS, payload.RECOVERY_MAX_DAYS),
                           doses=dose_choices(values.get("product", "")) if type_ == "v" else [],
                           problem=problem, readiness=ready, corrects=values.get("corrects", "")), status
