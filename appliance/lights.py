"""Which status light to show: a pure function of a health snapshot.

``health`` is a dict; every key is optional (missing or ``None`` = not known, not a problem):

=====================  ===========================================  =====================
key                    meaning                                      problem when
=====================  ===========================================  =====================
``key_ok``             the signing key/token answers                False -> fault
``dsc_days_left``      days until the DSC expires                   <= 0 -> fault, < 30 -> attention
``clock_trusted``      the clock may be used for issuing            False -> fault
``printer_online``     the printer answered                         False -> fault
``paper``              ok | near_end | out | unknown                out -> fault, near_end -> attention
``print_queue_stuck``  receipts waiting longer than a minute        True -> attention
``sync_backlog_age_s`` age of the oldest entry the hub has not got  > 24 h -> attention
=====================  ===========================================  =====================

``fault`` (red) means issuing or printing cannot work; ``attention`` (amber) means it
works but someone should look soon; otherwise ``ready`` (green).
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)

READY, ATTENTION, FAULT = "ready", "attention", "fault"
STATES = (READY, ATTENTION, FAULT)
DSC_WARN_DAYS = 30
SYNC_BACKLOG_WARN_S = 24 * 3600


def problems(health: dict, *, dsc_warn_days: int = DSC_WARN_DAYS,
             sync_backlog_warn_s: float = SYNC_BACKLOG_WARN_S) -> list[tuple[str, str]]:
    """Every problem in ``health`` as ``(state, message)``, worst first."""
    found: list[tuple[str, str]] = []
    if health.get("key_ok") is False:
        found.append((FAULT, "the signing key is not available"))
    if health.get("clock_trusted") is False:
        found.append((FAULT, "the clock is not trusted; an admin must check the time"))
    days = health.get("dsc_days_left")
    if days is not None and days <= 0:
        found.append((FAULT, "the device certificate (DSC) has expired"))
    elif days is not None and days < dsc_warn_days:
        found.append((ATTENTION, f"the device certificate (DSC) expires in {days} days"))
    if health.get("printer_online") is False:
        found.append((FAULT, "the printer does not answer"))
    paper = health.get("paper")
    if paper == "out":
        found.append((FAULT, "the printer is out of paper"))
    elif paper == "near_end":
        found.append((ATTENTION, "the paper roll is running low"))
    if health.get("print_queue_stuck"):
        found.append((ATTENTION, "receipts are waiting to be printed"))
    age = health.get("sync_backlog_age_s")
    if age is not None and age > sync_backlog_warn_s:
        found.append((ATTENTION, f"the hub has not received entries for {age / 3600:.0f} hours"))
    return sorted(found, key=lambda item: STATES.index(item[0]), reverse=True)


def compute_state(health: dict, **thresholds) -> str:
    """``"fault"``, ``"attention"`` or ``"ready"`` (see the module docstring for the keys)."""
    found = problems(health, **thresholds)
    return found[0][0] if found else READY
