"""One device's status as the API, the status page and ``appliance hub devices`` show it.

Read from the device's row only (counters, flags and the newest signed head are kept at
intake), so listing a thousand devices costs one query, not a scan of their entries.
"""

from __future__ import annotations

from datetime import datetime

BASIC_KEYS = ("device_id", "acknowledged_seq", "entries", "chain_ok", "last_seen")


def device_summary(device: dict, *, full: bool = False, now: datetime | None = None) -> dict:
    """The documented ``{"device_id", "acknowledged_seq", "entries", "chain_ok", "last_seen"}``;
    ``full`` adds gaps, flags, the head and backlog, DSC expiry, versions, region and centre, and how
    many of its certificates were issued under a wrong clock (``wrong_clock_certificates``)."""
    flagged = bool(device["fork_flag"])
    out = {"device_id": device["device_id"], "acknowledged_seq": device["acknowledged_seq"],
           "entries": device["entry_count"], "chain_ok": not flagged and device["chain_error"] is None,
           "last_seen": device["last_seen"]}
    if not full:
        return out
    head_seq = device["head_seq"]
    out.update(gaps=max(device["acknowledged_seq"] - device["entry_count"], 0),
               fork=flagged and device["flag_kind"] in (None, "fork"), flag=device["flag_kind"] if flagged else None,
               fork_detail=device["fork_detail"], chain_error=device["chain_error"], kid=device["kid"],
               country=device["country"], registered_at=device["registered_at"], region=device["region"],
               centre=device["centre"], dsc_not_after=device["dsc_not_after"], head_seq=head_seq,
               head_time=device["head_time"],
               backlog=None if head_seq is None else max(head_seq - device["acknowledged_seq"], 0),
               software_version=device["software_version"], refdata_version=device["refdata_version"],
               # certificates issued inside a clock_corrected interval: to revoke and re-issue
               wrong_clock_certificates=device.get("wrong_clock_certificates") or 0)
    if now is not None and device["dsc_not_after"]:
        expires = datetime.fromisoformat(device["dsc_not_after"])
        out["dsc_days_left"] = (expires - now).days
    return out


def unknown_summary(device_id: str) -> dict:
    """What an anonymous caller sees for a device id the hub does not know: the same as for a
    registered device that has sent nothing (so the answer does not tell which devices exist)."""
    return {"device_id": device_id, "acknowledged_seq": 0, "entries": 0, "chain_ok": True, "last_seen": None}
