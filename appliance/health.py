"""ONE health snapshot of the device, read by the status page, ``/healthz``, the header badge
and the GPIO status lights.

:func:`collect` measures once (key and DSC, clock trust, printer and queue, sync backlog and
age, disk, journal chain); :func:`assess` is the pure verdict over those facts:

======================  ==============================================  =========================
fact                    meaning                                         problem when
======================  ==============================================  =========================
``blocking``            what stops issuing (chain, clock, DSC, token)   any -> fault
``key_ok``              the signing key/token answers                   False -> fault
``dsc_days_left``       days until the DSC expires                      <= 0 fault, < 30 attention
``clock_trusted``       the clock may be used for issuing               False -> fault
``printer_online``      the printer answered                            False -> fault
``paper``               ok | near_end | out | unknown                   out fault, near_end attention
``print_queue_stuck``   receipts waiting longer than a minute           True -> attention
``sync_backlog_age_s``  age of the oldest entry the hub has not got     > 24 h -> attention
``hub_offline``         entries wait and the last sync attempt failed   True -> attention
``disk_free_mb``        free space on the state directory's disk        < reserve -> attention
``reference_ages``      (type, age in days, limit) of reference data    age > limit -> attention
======================  ==============================================  =========================

``fault`` (red) means issuing or printing cannot work; ``attention`` (amber) means it works
but someone should look soon; otherwise ``ready`` (green). A fact that is ``None`` is not
known and is no problem.
"""

from __future__ import annotations

import base64
import logging
import shutil
from dataclasses import dataclass, field, replace
from datetime import datetime

from appliance.dcc import dsc
from appliance.errors import ApplianceError
from appliance.messages import Msg
from appliance.reference import freshness
from appliance.util.timefmt import parse_utc

log = logging.getLogger(__name__)

READY, ATTENTION, FAULT = "ready", "attention", "fault"
STATES = (READY, ATTENTION, FAULT)


@dataclass(frozen=True)
class Thresholds:
    dsc_warn_days: int = 30
    sync_backlog_warn_s: float = 24 * 3600
    disk_reserve_mb: int = 200


@dataclass(frozen=True)
class Facts:
    """What was measured; every field optional (``None`` = not known)."""

    blocking: tuple[str, ...] = ()
    key_ok: bool | None = None
    dsc_days_left: int | None = None
    clock_trusted: bool | None = None
    printer_online: bool | None = None
    paper: str | None = None
    print_queue_stuck: bool | None = None
    sync_backlog_age_s: float | None = None
    hub_offline: bool | None = None
    disk_free_mb: int | None = None
    reference_ages: tuple[tuple[str, float, int], ...] = ()  #: value sets, trust list, revocations


@dataclass(frozen=True)
class Problem:
    state: str       #: FAULT or ATTENTION
    message: str


def assess(facts: Facts, thresholds: Thresholds = Thresholds()) -> list[Problem]:
    """Every problem in ``facts``, worst first (pure)."""
    found = [Problem(FAULT, text) for text in facts.blocking]
    if facts.key_ok is False:
        found.append(Problem(FAULT, Msg("health.key")))
    if facts.clock_trusted is False and not facts.blocking:
        found.append(Problem(FAULT, Msg("health.clock")))
    found += _dsc(facts.dsc_days_left, thresholds.dsc_warn_days)
    found += _printer(facts)
    age = facts.sync_backlog_age_s
    if age is not None and age > thresholds.sync_backlog_warn_s:
        found.append(Problem(ATTENTION, Msg("health.hub_behind", hours=f"{age / 3600:.0f}")))
    elif facts.hub_offline:
        found.append(Problem(ATTENTION, Msg("health.hub_offline")))
    if facts.disk_free_mb is not None and facts.disk_free_mb < thresholds.disk_reserve_mb:
        found.append(Problem(ATTENTION, Msg("health.disk", free=facts.disk_free_mb, reserve=thresholds.disk_reserve_mb)))
    found += [Problem(ATTENTION, text) for text in freshness.warnings(facts.reference_ages)]
    return sorted(found, key=lambda p: STATES.index(p.state), reverse=True)


def _dsc(days: int | None, warn_days: int) -> list[Problem]:
    if days is None:
        return []
    if days <= 0:
        return [Problem(FAULT, Msg("health.dsc_expired"))]
    if days < warn_days:
        return [Problem(ATTENTION, Msg("health.dsc_expires", days=days))]
    return []


def _printer(facts: Facts) -> list[Problem]:
    found = []
    if facts.printer_online is False:
        found.append(Problem(FAULT, Msg("health.printer_offline")))
    if facts.paper == "out":
        found.append(Problem(FAULT, Msg("health.paper_out")))
    elif facts.paper == "near_end":
        found.append(Problem(ATTENTION, Msg("health.paper_low")))
    if facts.print_queue_stuck:
        found.append(Problem(ATTENTION, Msg("health.queue_stuck")))
    return found


def verdict(problems: list[Problem]) -> str:
    """``fault``, ``attention`` or ``ready``."""
    return problems[0].state if problems else READY


@dataclass(frozen=True)
class Health:
    """The snapshot: the facts, their verdict, and the details the status page shows."""

    time: datetime
    facts: Facts
    problems: tuple[Problem, ...]
    details: dict = field(default_factory=dict)

    @property
    def state(self) -> str:
        return verdict(list(self.problems))

    def badge(self) -> dict:
        """The header badge: the verdict, its first problem, and the hub's state."""
        sync = self.details.get("sync", {})
        return {"state": self.state, "text": self.problems[0].message if self.problems else "",
                "hub_offline": bool(sync.get("hub_offline")), "backlog": int(sync.get("backlog") or 0)}

    def to_json(self) -> dict:
        """``/healthz`` and the status page: no personal data."""
        return {"time": self.time.isoformat(), **self.details, "state": self.state,
                "problems": [p.message for p in self.problems],
                "findings": [{"state": p.state, "message": p.message} for p in self.problems]}


def snapshot(facts: Facts, *, now: datetime, details: dict | None = None,
             thresholds: Thresholds = Thresholds()) -> Health:
    """The snapshot for already measured ``facts`` (tests feed problems in here)."""
    return Health(time=now, facts=facts, problems=tuple(assess(facts, thresholds)), details=dict(details or {}))


def with_facts(health: Health, thresholds: Thresholds = Thresholds(), **changes) -> Health:
    """The same snapshot with some facts changed, re-assessed."""
    return snapshot(replace(health.facts, **changes), now=health.time, details=health.details,
                    thresholds=thresholds)



# ----------------------------------------------------------------------- measuring
def collect(services, *, now: datetime, printer: dict | None = None,
            thresholds: Thresholds | None = None) -> Health:
    """Measure everything once (``services`` is an :class:`appliance.runtime.AppServices`).

    :param printer: a recent printer status to reuse instead of probing the printer again
        (a probe of a switched-off network printer takes up to 2 s).
    :param thresholds: default: the built-in ones with ``[web] disk_reserve_mb``.
    """
    if thresholds is None:
        thresholds = Thresholds(disk_reserve_mb=services.config.web.disk_reserve_mb)
    blocking = _guard(lambda: list(services.issuer.readiness(None)), lambda exc: [exc.args[0] if exc.args and isinstance(exc.args[0], Msg) else str(exc)])
    signer = _signer(services.signer, now)
    clock = _guard(lambda: dict(services.issuer.clock_status()), lambda exc: {"trusted": False, "detail": str(exc)})
    printer = dict(printer) if printer is not None else printer_status(services.printing)
    sync = sync_status(services.journal, now)
    disk = shutil.disk_usage(services.config.state_dir)
    details = {"device_id": services.config.device.id, "signer": signer, "clock": clock, "printer": printer,
               "sync": sync, "disk": {"free_mb": disk.free // 2**20, "total_mb": disk.total // 2**20},
               "reference": freshness.report(services.config, now=now)}
    facts = Facts(blocking=tuple(blocking), key_ok=signer.pop("key_ok"), dsc_days_left=signer["dsc_days_left"],
                  clock_trusted=clock.get("trusted"), printer_online=printer.get("online"),
                  paper=printer.get("paper"), print_queue_stuck=printer.get("queue_stuck"),
                  sync_backlog_age_s=sync["backlog_age_s"], hub_offline=sync["hub_offline"],
                  disk_free_mb=details["disk"]["free_mb"],
                  reference_ages=freshness.ages(services.config, details["reference"]))
    return snapshot(facts, now=now, details=details, thresholds=thresholds)


def _guard(measure, on_error):
    try:
        return measure()
    except ApplianceError as exc:
        return on_error(exc)


def _signer(signer, now: datetime) -> dict:
    kid = getattr(signer, "kid", None)
    out = {"kid": base64.b64encode(kid).decode() if kid else None, "dsc": False, "dsc_days_left": None,
           "dsc_not_after": None, "key_ok": True}
    try:
        cert = signer.certificate
    except ApplianceError:  # e.g. the token was unplugged
        return {**out, "key_ok": False}
    if cert is not None:
        out.update(dsc=True, dsc_days_left=dsc.days_left(cert, now), dsc_not_after=dsc.not_after(cert).isoformat())
    return out


def printer_status(printing) -> dict:
    """The print service's status with a fresh probe of the printer."""
    if printing is None:
        return {"kind": "none"}
    return _guard(lambda: dict(printing.status()), lambda exc: {"online": False, "detail": str(exc)})


def sync_status(journal, now: datetime) -> dict:
    """The sync agent's last report, the backlog, its age, and whether the hub counts as offline."""
    status = dict(journal.get_sync_status() or {})
    last, acked = journal.last_seq(), journal.get_acknowledged()
    # the hub counts as offline while entries wait and the latest attempt failed
    failing = bool(status.get("last_error")) and \
        str(status.get("last_error_at", "")) >= str(status.get("last_success", ""))
    waiting = journal.entries(after_seq=acked, limit=1) if last > acked else []
    age = (now - parse_utc(waiting[0]["time"])).total_seconds() if waiting else None
    return {**status, "last_seq": last, "acknowledged": acked, "backlog": max(0, last - acked),
            "backlog_age_s": age, "hub_offline": failing and last > acked}
