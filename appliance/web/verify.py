"""Verify page: paste or scan an HC1 string -> verdict and decoded content (:mod:`appliance.dcc.verify`).

Trusted: the device's own DSC and the DSCs of the installed trust list. Revoked: a
certificate of this device revoked in its journal, or one on the installed revocation list.
With installed business rules the page shows per country whether they pass.
"""

from __future__ import annotations

import base64
import logging

from flask import Blueprint, render_template, request

from appliance.dcc import valuesets
from appliance.dcc import verify as verifier
from appliance.errors import ApplianceError
from appliance.reference import installed
from appliance.web import readback
from appliance.web.common import devices, effective_config, lang, login_required, now

log = logging.getLogger(__name__)
bp = Blueprint("verify", __name__)

MAX_HC1 = 8000


def _revoked_here(services, result) -> bool:
    """Revoked in this device's own journal: a certificate it issued with the key that signed this
    one (the current key or an earlier one: the journal keeps each certificate's kid)."""
    entry = (result.payload or {}).get(result.type) if result.type else None
    uvci = entry[0].get("ci") if isinstance(entry, list) and entry and isinstance(entry[0], dict) else None
    if not isinstance(uvci, str) or result.kid is None:
        return False
    return services.journal.revocation(uvci, kid=base64.b64encode(result.kid).decode()) is not None


@bp.route("/verify", methods=["GET", "POST"])
@login_required
def page():
    if request.method == "GET":
        return render_template("verify/index.html", hc1="", result=None)
    hc1 = request.form.get("hc1", "").strip()[:MAX_HC1]
    services, cfg = devices(), effective_config()
    dscs = [services.signer.certificate] if services.signer.certificate is not None else []
    try:
        ref = installed.load(cfg.state_dir)
    except ApplianceError as exc:  # damaged installed data: verify with the device's DSC alone
        log.error("%s", exc)
        ref = installed.Reference(None, {}, valuesets.load())
    countries = [cfg.device.country, *cfg.reference.destination_list(), *ref.rule_countries()]
    result = verifier.verify(hc1, dscs=dscs + ref.dscs(), at=now(), valuesets=ref.valuesets,
                             revocations=ref.revocations, rules=ref.rules if ref.has_rules else None,
                             rule_countries=countries, type_limits=ref.type_limits())
    if result.revoked is not True and result.checks.get("signature") and _revoked_here(services, result):
        result.revoked = True
        result.errors.append("revoked: this device revoked the certificate")
    data = result.to_json()
    rows = readback.readback(result.payload, lang()) if isinstance(result.payload, dict) else []
    return render_template("verify/index.html", hc1=hc1, result=data, rows=rows), 200 if result.valid else 422
