"""Small JSON helpers for the form's conveniences (live name preview, dose assistant).

The forms work without them; the server validates everything again on submit.
"""

from __future__ import annotations

import logging

from flask import Blueprint, request

from appliance.dcc import names
from appliance.errors import InvalidInput
from appliance.web.common import login_required
from appliance.web.forms import dose_choices

log = logging.getLogger(__name__)
bp = Blueprint("api", __name__, url_prefix="/api")


@bp.route("/names")
@login_required
def standardised_names():
    out = {}
    for key in ("family_name", "given_name"):
        value = request.args.get(key, "").strip()[:80]
        try:
            out[key] = names.transliterate(value) if value else ""
        except InvalidInput:
            out[key] = None
    return out


@bp.route("/doses")
@login_required
def dose_options():
    return {"options": [{"value": v, "label": label} for v, label in dose_choices(request.args.get("product", "")[:40])]}
