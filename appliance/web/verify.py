"""Verify page: paste or scan an HC1 string -> verdict and decoded content (:mod:`appliance.verify`)."""

from __future__ import annotations

import logging

from flask import Blueprint, render_template, request

from appliance.dcc import verify as verifier
from appliance.web import readback
from appliance.web.common import devices, lang, login_required, now

log = logging.getLogger(__name__)
bp = Blueprint("verify", __name__)

MAX_HC1 = 8000


@bp.route("/verify", methods=["GET", "POST"])
@login_required
def page():
    if request.method == "GET":
        return render_template("verify/index.html", hc1="", result=None)
    hc1 = request.form.get("hc1", "").strip()[:MAX_HC1]
    signer = devices().signer
    dscs = [signer.certificate] if signer.certificate is not None else []
    result = verifier.verify(hc1, dscs=dscs, at=now())
    data = result.to_json()
    rows = readback.readback(result.payload, lang()) if isinstance(result.payload, dict) else []
    return render_template("verify/index.html", hc1=hc1, result=data, rows=rows), 200 if result.valid else 422
