"""Soft warnings for the review screen: input that may be issued but is often a typo.

Hard limits (a date in the future, a sample older than the test validity, a dose numbering
no rule allows) are refused by :func:`appliance.dcc.payload.rule_errors`. What is only
unlikely is a :class:`SoftWarning` here; the review screen lists them and staff must confirm
that they checked them before the certificate is issued (``appliance.web.issue``).

Pure: ``now``, the centre's time zone ``tz`` (what "today" is) and the person's earlier
certificates on this device (``earlier``: their DCC payloads, from the journal's retained
data) come in as arguments. The warnings:

* ``vaccination_old``: the vaccination is more than :data:`VACCINATION_MAX_DAYS` (300) days
  before today;
* ``vaccination_year_typo``: the date does not fit but the same day one year later would (the
  "5.1.21 instead of 5.1.22" typo). A vaccination date *fits* when it is not after today, not
  more than 300 days before it, and after the date of this person's previous dose (the
  earlier certificate with the highest lower dose number) when there is one. The warning
  names the date meant and replaces ``vaccination_old`` / ``vaccination_before_earlier_dose``;
* ``vaccination_before_earlier_dose``: on or before this person's previous dose;
* ``dose_unusual``: a numbering the rules allow but that is not the product's own schedule
  (:func:`appliance.dcc.doses.is_usual`: e.g. 1/1 of a 2-dose vaccine, or 2/1);
* ``dose_sequence``: this person's latest earlier dose was ``n`` and this one is neither
  ``n`` (a duplicate: the review shows that warning) nor ``n + 1``;
* ``sample_old``: the test sample was taken more than :data:`SAMPLE_MAX_HOURS` (24) hours ago
  (the test validity refuses it later, by default after 72 hours);
* ``age_young`` / ``age_old``: the person is younger than 5 or older than 110 today. Partial
  birth dates (``YYYY``, ``YYYY-MM``) warn only when every day they can mean is outside.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from typing import Any, Mapping, Sequence

from appliance.dcc import doses, model
from appliance.dcc.model import IssueRequest

log = logging.getLogger(__name__)

VACCINATION_MAX_DAYS = 300
SAMPLE_MAX_HOURS = 24
MIN_AGE, MAX_AGE = 5, 110


@dataclass(frozen=True)
class SoftWarning:
    """One soft warning: a stable ``code`` (the UI's text is ``warn_<code>``), the form field it is
    about, and the values its text shows (dates as :class:`datetime.date`)."""

    code: str
    field: str
    params: dict[str, Any] = field(default_factory=dict)


def _a_year_later(day: date) -> date | None:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:          # 29 February
        return None


def _earlier_doses(earlier: Sequence[Mapping]) -> list[tuple[int, int, date]]:
    """(dn, sd, date) of the earlier vaccination certificates (unreadable ones are skipped)."""
    out = []
    for dcc in earlier:
        if model.type_of(dcc) != "v":
            continue
        e = model.event_values(dcc)
        try:
            out.append((int(e["dose_number"]), int(e["total_doses"]), date.fromisoformat(str(e["date"])[:10])))
        except (TypeError, ValueError):
            continue
    return out


def _vaccination(event: Mapping, today: date, earlier: Sequence[Mapping]) -> list[SoftWarning]:
    out: list[SoftWarning] = []
    day, dn, sd, mp = event.get("date"), event.get("dose_number"), event.get("total_doses"), event.get("product")
    prior = _earlier_doses(earlier)
    if isinstance(dn, int) and isinstance(sd, int) and isinstance(mp, str):
        if not doses.is_usual(mp, dn, sd):
            out.append(SoftWarning("dose_unusual", "dose", {"typed": f"{dn}/{sd}"}))
        if prior:
            last = max(prior)
            if dn not in (last[0], last[0] + 1):
                out.append(SoftWarning("dose_sequence", "dose", {"earlier": f"{last[0]}/{last[1]}", "typed": f"{dn}/{sd}"}))
    if not isinstance(day, date):
        return out
    previous = max((p for p in prior if isinstance(dn, int) and p[0] < dn), default=None)

    def fits(d: date) -> bool:
        return d <= today and (today - d).days <= VACCINATION_MAX_DAYS and (previous is None or d > previous[2])

    if fits(day):
        return out
    later = _a_year_later(day)
    if later is not None and fits(later):
        return [SoftWarning("vaccination_year_typo", "date", {"typed": day, "meant": later}), *out]
    if (today - day).days > VACCINATION_MAX_DAYS:
        out.insert(0, SoftWarning("vaccination_old", "date", {"days": (today - day).days}))
    if previous is not None and day <= previous[2]:
        out.insert(0, SoftWarning("vaccination_before_earlier_dose", "date", {"earlier": previous[2]}))
    return out


def _age_bounds(dob: str) -> tuple[date, date] | None:
    """The first and the last day a (possibly partial) birth date can mean."""
    try:
        parts = [int(x) for x in dob.split("-")]
        if len(parts) == 3:
            first = last = date(*parts)
        elif len(parts) == 2:
            first = date(parts[0], parts[1], 1)
            last = (date(parts[0] + (parts[1] == 12), parts[1] % 12 + 1, 1) - timedelta(days=1))
        else:
            first, last = date(parts[0], 1, 1), date(parts[0], 12, 31)
    except (ValueError, TypeError, IndexError):
        return None
    return first, last


def _age(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def _person(dob: str, today: date) -> list[SoftWarning]:
    bounds = _age_bounds(dob) if dob else None
    if bounds is None:
        return []
    first, last = bounds
    if _age(first, today) < MIN_AGE:            # even the earliest day it can mean: younger than 5
        return [SoftWarning("age_young", "date_of_birth", {"years": MIN_AGE})]
    if _age(last, today) > MAX_AGE:             # even the latest day: older than 110
        return [SoftWarning("age_old", "date_of_birth", {"years": MAX_AGE})]
    return []


def warnings(req: IssueRequest, *, now: datetime, tz: tzinfo, earlier: Sequence[Mapping] = ()) -> list[SoftWarning]:
    """The soft warnings for ``req`` at ``now`` (aware) in the centre's time zone ``tz``.

    ``earlier``: DCC payloads of this person's earlier certificates on this device.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    today = now.astimezone(tz).date()
    out = _person(req.person.date_of_birth, today)
    if req.type == "v":
        out += _vaccination(req.event, today, earlier)
    elif req.type == "t":
        sample = req.event.get("sample_time")
        if isinstance(sample, datetime) and now - sample > timedelta(hours=SAMPLE_MAX_HOURS):
            out.append(SoftWarning("sample_old", "sample_time", {"hours": int((now - sample).total_seconds() // 3600)}))
    if out:
        log.info("review warnings: %s", ", ".join(w.code for w in out))
    return out
