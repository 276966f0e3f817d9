"""Would a certificate be accepted? The business rules of several countries over one DCC.

Used by the verifier (``"rules": {"AT": {"passed": true, "failed": []}}``), by
``appliance rules check`` and by the acceptance preview after issuing ("accepted in AT from
15.12."). The rules, the value sets and the time come in as arguments
(:mod:`appliance.dcc.rules` does the evaluation); nothing here reads the clock or the disk.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from appliance.dcc import rules as rules_mod
from appliance.dcc.rules import Rule, RuleReport

log = logging.getLogger(__name__)

#: How far ahead the preview looks for the first day a certificate passes.
PREVIEW_DAYS = 60


def external_base(valuesets, *, iat: datetime | None, exp: datetime | None) -> dict[str, Any]:
    """The ``external`` data besides clock and country: value sets (valueSetId -> codes), iat, exp."""
    base: dict[str, Any] = {"valueSets": valuesets.external() if valuesets is not None else {}}
    if iat is not None:
        base["iat"] = iat
    if exp is not None:
        base["exp"] = exp
    return base


def countries_of(rules: Iterable[Rule], wanted: Sequence[str] = ()) -> list[str]:
    """``wanted`` (in order, without repeats) that have rules; all rule countries if none wanted."""
    have = {r.country for r in rules}
    picked = [c.upper() for c in wanted] if wanted else sorted(have)
    return [c for c in dict.fromkeys(picked) if c in have]


def reports(rules: Sequence[Rule], payload: Mapping, *, countries: Sequence[str], at: datetime,
            base: Mapping[str, Any], lang: str = "en") -> dict[str, RuleReport]:
    """One :class:`RuleReport` per country that has rules for this certificate at ``at``."""
    out = {cc: rules_mod.check(rules, payload, country=cc, at=at, external_base=base, lang=lang)
           for cc in countries_of(rules, countries)}
    return {cc: report for cc, report in out.items() if report.outcomes}


def for_verifier(rules: Sequence[Rule], payload: Mapping, *, countries: Sequence[str], at: datetime, valuesets,
                 iat: datetime | None, exp: datetime | None) -> dict[str, RuleReport] | None:
    """:func:`reports` for the verifier; None when the payload cannot be evaluated at all."""
    try:
        return reports(rules, payload, countries=countries, at=at, base=external_base(valuesets, iat=iat, exp=exp))
    except (ValueError, TypeError) as exc:  # a payload the rules cannot read
        log.info("business rules not evaluated: %s", exc)
        return None


def summary(report: RuleReport) -> dict[str, Any]:
    """``{"passed": bool, "failed": [rule ids]}`` as ``appliance verify --json`` shows it."""
    return {"passed": report.accepted, "failed": [o.rule_id for o in report.failed]}


@dataclass(frozen=True)
class Preview:
    """The acceptance preview for one country."""

    country: str
    report: RuleReport               #: at the time of issuing
    accepted_from: datetime | None   #: first day (from issuing) at which every rule passes

    @property
    def accepted_now(self) -> bool:
        return self.report.accepted


def preview(rules: Sequence[Rule], payload: Mapping, *, countries: Sequence[str], at: datetime,
            base: Mapping[str, Any], lang: str = "en", days: int = PREVIEW_DAYS) -> list[Preview]:
    """For each country with rules: the outcome now, per rule, and the first day it passes
    (checked day by day from ``at``; None when not within ``days``, e.g. an expired test)."""
    out = []
    for cc, report in reports(rules, payload, countries=countries, at=at, base=base, lang=lang).items():
        if report.accepted:
            out.append(Preview(cc, report, at))
            continue
        first = _first_pass(rules, payload, cc, at, base, days)
        out.append(Preview(cc, report, first))
    return out


def _first_pass(rules: Sequence[Rule], payload: Mapping, country: str, start: datetime,
                base: Mapping[str, Any], days: int) -> datetime | None:
    """The first midnight-aligned day after ``start`` on which the rules pass (a day's start
    is checked, so "from 15.12." holds for the whole day)."""
    midnight = start.replace(hour=0, minute=0, second=0, microsecond=0)
    for n in range(1, days + 1):
        moment = midnight + timedelta(days=n)
        if rules_mod.check(rules, payload, country=country, at=moment, external_base=base).accepted:
            return moment
    return None
