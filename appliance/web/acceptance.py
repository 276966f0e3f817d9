"""The acceptance preview after issuing: does the new certificate pass the business rules of
the issuing country and of up to five destinations (``[reference] destinations``)?

Shown on the result page, per rule, in the staff's language (the rules' ``Description``),
with the day from which a certificate still in its waiting period will pass ("accepted in
AT from 15.12."). When it fails its own country's rules the page warns, and
:func:`note_own_failure` journals that staff went ahead (a ``rules_warning`` entry).
"""

from __future__ import annotations

import logging
from datetime import datetime

from appliance.dcc import acceptance
from appliance.errors import ApplianceError
from appliance.reference import installed
from appliance.web.common import _, devices, effective_config, lang

log = logging.getLogger(__name__)


def _countries(cfg) -> list[str]:
    return [cfg.device.country, *cfg.reference.destination_list()]


def _previews(dcc: dict, issued_at: datetime, expires_at: datetime | None, language: str) -> list:
    cfg = effective_config()
    ref = installed.load(cfg.state_dir)
    if not ref.has_rules or not isinstance(dcc, dict):
        return []
    base = acceptance.external_base(ref.valuesets, iat=issued_at, exp=expires_at)
    return acceptance.preview(list(ref.rules), dcc, countries=_countries(cfg), at=issued_at, base=base,
                              lang=language)


def view(record, dcc: dict | None) -> dict | None:
    """What the result template shows, or None without installed rules."""
    if not dcc:
        return None
    try:
        previews = _previews(dcc, record.issued_at, record.expires_at, lang())
    except (ApplianceError, ValueError, TypeError) as exc:
        log.warning("acceptance preview not available: %s", exc)
        return None
    if not previews:
        return None
    own = effective_config().device.country
    rows = []
    for p in previews:
        if p.accepted_now:
            verdict, ok = _("accept_now", cc=p.country), True
        elif p.accepted_from is not None:
            verdict, ok = _("accept_from", cc=p.country, date=p.accepted_from.strftime("%d.%m.")), None
        else:
            verdict, ok = _("accept_never", cc=p.country), False
        rows.append({"country": p.country, "verdict": verdict, "ok": ok,
                     "rules": [{"id": o.rule_id, "passed": o.passed, "text": o.description}
                               for o in p.report.outcomes]})
    own_row = next((p for p in previews if p.country == own), None)
    return {"rows": rows, "own_fails": own_row is not None and not own_row.accepted_now, "own": own}


def note_own_failure(issued, operator: str) -> None:
    """After issuing: journal a ``rules_warning`` when the certificate fails its own country's rules."""
    cfg = effective_config()
    try:
        previews = _previews(issued.dcc, issued.issued_at, issued.expires_at, "en")
        own = next((p for p in previews if p.country == cfg.device.country), None)
        if own is not None and not own.accepted_now:
            devices().issuer.note_rules_warning(issued.uvci, operator=operator, country=own.country,
                                                failed=[o.rule_id for o in own.report.failed])
    except (ApplianceError, ValueError, TypeError) as exc:
        log.warning("acceptance check after issuing failed: %s", exc)
