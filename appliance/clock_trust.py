"""The clock policy: may the system time be used to issue a certificate?

A Raspberry Pi has no battery clock, so after a boot without network its time may be
anything. The issuer (:mod:`appliance.issue`) applies this policy before every certificate,
and the health snapshot reports it. Pure: the time, the newest journal entry and the clock's
answers come in as arguments.

- **Hard problems** no confirmation can lift: the time is before this software's release, or
  earlier than the newest journal entry. Only setting the clock fixes them.
- **Soft problems**: the clock is neither NTP-synchronised nor backed by an RTC (an admin's
  ``clock_confirmed`` entry for this boot lifts it); or the wall clock was *stepped* forward by
  more than ``[clock] max_forward_hours`` during this boot (a mistyped ``date -s``, one bad NTP
  answer), NTP-synchronised or not: a confirmation no longer lasts the whole boot. A step is
  measured against the boot clock (:func:`forward_step`: wall time minus time since boot, against
  the last trusted reading of this boot), not against the newest entry, so a centre closed over
  the weekend (a new boot, or the device on and the clocks in step) issues on Monday. Only a new
  confirmation lifts it (it records the new reading).
- After a wrong, later clock left entries "in the future", ``appliance journal correct-clock``
  journals a ``clock_corrected`` entry; the issuer then counts only the entries since it as
  "the newest" (see :meth:`appliance.issue.Issuer.correct_clock`).

Whether the time lies inside the DSC's validity is checked with the DSC itself
(:func:`appliance.dcc.dsc.check_dsc_for_issuing`), per certificate type.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from appliance.errors import Msg


def release_datetime(release_date: str) -> datetime:
    """``"2026-11-01"`` -> midnight UTC of that day."""
    d = date.fromisoformat(release_date)
    return datetime(d.year, d.month, d.day, tzinfo=timezone.utc)


def hard_problems(now: datetime, *, newest_entry: datetime | None, release_date: str) -> list[str]:
    """Problems no confirmation can lift: the time itself is impossible (each a :class:`Msg`)."""
    problems = []
    stamp = f"{now:%Y-%m-%d %H:%M:%S} UTC"
    if now < release_datetime(release_date):
        problems.append(Msg("clock.before_release", time=stamp, release=date.fromisoformat(release_date)))
    if newest_entry is not None and now < newest_entry:
        problems.append(Msg("clock.before_newest", time=stamp, newest=f"{newest_entry:%Y-%m-%d %H:%M:%S} UTC"))
    return problems


def boot_epoch(now: datetime, since_boot_s: float) -> float:
    """Wall time minus time since boot, in Unix seconds: constant while nobody steps the clock."""
    return now.timestamp() - since_boot_s


def forward_step(reading: dict | None, *, now: datetime, since_boot_s: float, boot_id: str) -> timedelta | None:
    """How far the wall clock was stepped forward since ``reading`` (``{"boot_id", "epoch", ...}``,
    the last trusted reading), or None: no reading of this boot, or no forward step."""
    if reading is None or reading.get("boot_id") != boot_id:
        return None
    step = boot_epoch(now, since_boot_s) - float(reading["epoch"])
    return timedelta(seconds=step) if step > 0 else None


def max_forward(hours: int) -> timedelta | None:
    """``[clock] max_forward_hours`` as a span; 0 switches the forward check off."""
    return timedelta(hours=hours) if hours > 0 else None


def clock_problems(now: datetime, *, newest_entry: datetime | None, release_date: str,
                   synchronized: bool = True, has_rtc: bool = False, confirmed: bool = False,
                   max_forward: timedelta | None = None, step: timedelta | None = None,
                   step_since: str | None = None) -> list[str]:
    """Every reason why ``now`` must not be used for issuing; empty = trusted.

    :param confirmed: an admin confirmed the time during this boot; it lifts only the
        "not synchronised and no RTC" problem.
    :param max_forward: a forward ``step`` larger than this needs a new confirmation.
    :param step: the wall clock's forward step during this boot (:func:`forward_step`), and
        ``step_since`` the time of the reading it is measured from.
    """
    problems = hard_problems(now, newest_entry=newest_entry, release_date=release_date)
    if max_forward is not None and step is not None and step > max_forward:
        problems.append(Msg("clock.stepped", time=f"{now:%Y-%m-%d %H:%M} UTC", span=_span(max_forward),
                            since=step_since or Msg("clock.earlier_issue")))
    if not synchronized and not has_rtc and not confirmed:
        problems.append(Msg("clock.unconfirmed"))
    return problems


def needs_confirmation(*, synchronized: bool, has_rtc: bool) -> bool:
    """Only a clock with neither NTP nor an RTC needs an admin's confirmation (asked lazily)."""
    return not synchronized and not has_rtc


def _span(span: timedelta) -> str:
    hours = int(span.total_seconds() // 3600)
    return Msg("span.hours", n=hours) if hours % 24 else Msg("span.days", n=hours // 24)
