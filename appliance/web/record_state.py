"""What a certificate's pages must say besides its data: revoked (when, why) and LAB/TEST.

A revoked certificate is shown as revoked, with the date and the reason, and without a scannable
QR or a print button (the result page, the record page, the QR image); the print service
refuses it too. A certificate signed with a LAB/TEST or DEMO DSC (:func:`appliance.dcc.dsc.is_test_dsc`)
says so on screen, as its receipt does on paper.
"""

from __future__ import annotations

import logging

from appliance.dcc import dsc
from appliance.errors import ApplianceError
from appliance.issue import REVOCATION_REASONS
from appliance.util.timefmt import parse_utc
from appliance.web.common import _, devices, local_time

log = logging.getLogger(__name__)


def revocation(record) -> dict | None:
    """``{"when", "reason", "note", "fraud"}`` of a revoked record (None when it is not revoked)."""
    if record is None or not record.revoked:
        return None
    entry = devices().journal.revocation(record.uvci)
    if entry is None:
        return {"when": "", "reason": "", "note": None, "fraud": False}
    code = entry["data"].get("reason") or "other"
    return {"when": local_time(parse_utc(entry["time"])),
            "reason": _("reason_" + code) if code in REVOCATION_REASONS else _("reason_other"),
            "note": entry.get("note"), "fraud": bool(entry["data"].get("fraud"))}


def signed_by_test_dsc(record) -> bool:
    """The record was signed with this device's DSC and that DSC is a LAB/TEST (or DEMO) one."""
    signer = devices().signer
    try:
        cert = signer.certificate
    except ApplianceError:      # the token is unplugged: the page still shows, without the mark
        return False
    return cert is not None and record.kid == dsc.kid_b64(cert) and dsc.is_test_dsc(cert)


def printer_problem() -> str | None:
    """``offline``, ``paper_out`` or ``paper_low`` from the one health snapshot (its last printer probe)."""
    try:
        facts = devices().health(probe_printer=False).facts
    except ApplianceError:
        return None
    if facts.printer_online is False:
        return "offline"
    if facts.paper == "out":
        return "paper_out"
    return "paper_low" if facts.paper == "near_end" else None
