"""The clock policy: may the system time be used to issue a certificate?

A Raspberry Pi has no battery clock, so after a boot without network its time may be
anything. The issuer (:mod:`appliance.issue`) applies this policy before every certificate,
and the health snapshot reports it. Pure: the time, the newest journal entry and the clock's
answers come in as arguments.

- **Hard problems** no confirmation can lift: the time is before this software's release, or
  earlier than the newest journal entry. Only setting the clock fixes them.
- **Soft problems**: the clock is neither NTP-synchronised nor backed by an RTC (an admin's
  ``clock_confirmed`` entry for this boot lifts it); or a clock that NTP does not vouch for (an
  admin's confirmation, an RTC) lies more than ``[clock] max_forward_hours`` past the newest
  journal entry (a mistyped ``date -s``): a confirmation no longer lasts the whole boot. Only a
  new confirmation lifts that one: it is a new entry, so the time is no longer far past the
  newest. An NTP-synchronised clock is not bounded (a centre closed over the weekend issues on
  Monday); if NTP was wrong, ``correct-clock`` is the way back.
- After a wrong, later clock left entries "in the future", ``appliance journal correct-clock``
  journals a ``clock_corrected`` entry; the issuer then counts only the entries since it as
  "the newest" (see :meth:`appliance.issue.Issuer.correct_clock`).

Whether the time lies inside the DSC's validity is checked with the DSC itself
(:func:`appliance.dcc.dsc.check_dsc_for_issuing`), per certificate type.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone


def release_datetime(release_date: str) -> datetime:
    """``"2026-11-01"`` -> midnight UTC of that day."""
    d = date.fromisoformat(release_date)
    return datetime(d.year, d.month, d.day, tzinfo=timezone.utc)


def hard_problems(now: datetime, *, newest_entry: datetime | None, release_date: str) -> list[str]:
    """Problems no confirmation can lift: the time itself is impossible."""
    problems = []
    stamp = f"{now:%Y-%m-%d %H:%M:%S} UTC"
    if now < release_datetime(release_date):
        problems.append(f"the system time {stamp} is before this software's release date {release_date}; "
                        "set the clock to the correct time")
    if newest_entry is not None and now < newest_entry:
        problems.append(f"the system time {stamp} is earlier than the newest journal entry "
                        f"({newest_entry:%Y-%m-%d %H:%M:%S} UTC); set the clock to the correct time")
    return problems


def max_forward(hours: int) -> timedelta | None:
    """``[clock] max_forward_hours`` as a span; 0 switches the forward check off."""
    return timedelta(hours=hours) if hours > 0 else None


def clock_problems(now: datetime, *, newest_entry: datetime | None, release_date: str,
                   synchronized: bool = True, has_rtc: bool = False, confirmed: bool = False,
                   max_forward: timedelta | None = None) -> list[str]:
    """Every reason why ``now`` must not be used for issuing; empty = trusted.

    :param confirmed: an admin confirmed the time during this boot; it lifts only the
        "not synchronised and no RTC" problem.
    :param max_forward: a time further than this past the newest entry needs a new confirmation.
    """
    problems = hard_problems(now, newest_entry=newest_entry, release_date=release_date)
    if (max_forward is not None and not synchronized and newest_entry is not None
            and now - newest_entry > max_forward):
        problems.append(f"the system time {now:%Y-%m-%d %H:%M} UTC is more than {_span(max_forward)} past the "
                        f"newest journal entry ({newest_entry:%Y-%m-%d %H:%M} UTC): check it against a reliable "
                        "watch; if it is right, an admin confirms it ('appliance journal confirm-clock' or the "
                        "status page), else set the clock")
    if not synchronized and not has_rtc and not confirmed:
        problems.append("the clock is not NTP-synchronised and there is no battery clock; "
                        "an admin must confirm the time before issuing")
    return problems


def needs_confirmation(*, synchronized: bool, has_rtc: bool) -> bool:
    """Only a clock with neither NTP nor an RTC needs an admin's confirmation (asked lazily)."""
    return not synchronized and not has_rtc


def _span(span: timedelta) -> str:
    hours = int(span.total_seconds() // 3600)
    return f"{hours} hours" if hours % 24 else f"{hours // 24} day(s)"
