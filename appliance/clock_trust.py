"""The clock policy: may the system time be used to issue a certificate?

A Raspberry Pi has no battery clock, so after a boot without network its time may be
anything. The issuer (:mod:`appliance.issue`) applies this policy before every certificate,
and the health snapshot reports it. Pure: the time, the newest journal entry and the clock's
answers come in as arguments.

- **Hard problems** no confirmation can lift: the time is before this software's release, or
  earlier than the newest journal entry. Only setting the clock fixes them.
- **Soft problem**: the clock is neither NTP-synchronised nor backed by an RTC. An admin's
  ``clock_confirmed`` entry for this boot lifts it.

Whether the time lies inside the DSC's validity is checked with the DSC itself
(:func:`appliance.dcc.dsc.check_dsc_for_issuing`), per certificate type.
"""

from __future__ import annotations

from datetime import date, datetime, timezone


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


def clock_problems(now: datetime, *, newest_entry: datetime | None, release_date: str,
                   synchronized: bool = True, has_rtc: bool = False, confirmed: bool = False) -> list[str]:
    """Every reason why ``now`` must not be used for issuing; empty = trusted.

    :param confirmed: an admin confirmed the time during this boot; it lifts only the
        "not synchronised and no RTC" problem.
    """
    problems = hard_problems(now, newest_entry=newest_entry, release_date=release_date)
    if not synchronized and not has_rtc and not confirmed:
        problems.append("the clock is not NTP-synchronised and there is no battery clock; "
                        "an admin must confirm the time before issuing")
    return problems


def needs_confirmation(*, synchronized: bool, has_rtc: bool) -> bool:
    """Only a clock with neither NTP nor an RTC needs an admin's confirmation (asked lazily)."""
    return not synchronized and not has_rtc
