"""The Issuer's clock duties: the verdict on the clock, an admin's confirmation, a correction.

A mixin of :class:`appliance.issue.Issuer` (like :class:`~appliance.journal.revocations.Revoking`):
the policy is pure (:mod:`appliance.clock_trust`); this module reads the Clock port and the
journal for it and journals ``clock_confirmed`` and ``clock_corrected``. ``_record_reading``
keeps this boot's last trusted reading, from which a forward step of the wall clock is measured.
Uses the host's ``_lock``, ``_clock``, ``_journal``, ``_config``, ``_release_date`` and ``_readings``.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone

from appliance.clock_trust import (boot_epoch, clock_problems, forward_step, hard_problems, max_forward,
                                   needs_confirmation)
from appliance.errors import ClockNotTrusted
from appliance.util.timefmt import fmt_utc

log = logging.getLogger("appliance.issue")
audit = logging.getLogger("appliance.audit")


class ClockKeeping:
    """Clock trust for the issuer: ``confirm_clock``, ``correct_clock``, ``clock_status``."""

    def _newest_entry_time(self) -> datetime | None:
        """The newest entry's time, counting only entries since the last clock correction."""
        corrected = self._journal.latest("clock_corrected")
        return self._journal.newest_time(after_seq=corrected["seq"] if corrected else 0)

    def _clock_problems(self, now: datetime) -> list[str]:
        synced, rtc = self._clock.is_synchronized(), self._clock.has_rtc()
        confirmed = needs_confirmation(synchronized=synced, has_rtc=rtc) and self._confirmed_this_boot()
        reading = self._readings.load()
        step = forward_step(reading, now=now, since_boot_s=self._clock.since_boot(), boot_id=self._clock.boot_id())
        return clock_problems(now, newest_entry=self._newest_entry_time(), release_date=self._release_date,
                              synchronized=synced, has_rtc=rtc, confirmed=confirmed,
                              max_forward=max_forward(self._config.clock.max_forward_hours),
                              step=step, step_since=reading and reading["at"])

    def _record_reading(self, now: datetime) -> None:
        """After a commit: this boot's trusted reading of the clock (a later forward step is measured from it)."""
        try:
            self._readings.record(boot_id=self._clock.boot_id(), epoch=boot_epoch(now, self._clock.since_boot()),
                                  at=fmt_utc(now))
        except OSError as exc:
            log.warning("cannot record the clock reading in %s (%s)", self._readings.path, exc.strerror)

    def _confirmed_this_boot(self) -> bool:
        boot = self._clock.boot_id()
        return any(entry is not None and entry["data"].get("boot_id") == boot
                   for entry in (self._journal.latest("clock_confirmed"), self._journal.latest("clock_corrected")))

    def confirm_clock(self, *, operator: str) -> dict:
        """An admin confirms the system time for this boot (a ``clock_confirmed`` entry).

        :raises ClockNotTrusted: when the time is impossible (before the release date or
            the newest entry); confirming cannot fix that, setting the clock can.
        """
        with self._lock:
            now = self._clock.now()
            hard = hard_problems(now, newest_entry=self._newest_entry_time(), release_date=self._release_date)
            if hard:
                raise ClockNotTrusted(hard[0] + "; a confirmation cannot override this. If the journal's "
                                      "newest entries carry a wrong, later time, the clock was wrong then: an "
                                      "admin runs 'appliance journal correct-clock' (or 'Correct the clock' on "
                                      "the status page) once the clock is right")
            entry = self._journal.append(
                "clock_confirmed", now=now, operator=operator,
                data={"confirmed_time": fmt_utc(now), "boot_id": self._clock.boot_id(),
                      "synchronized": self._clock.is_synchronized(), "rtc": self._clock.has_rtc()})
            self._record_reading(now)
        audit.info("clock_confirmed seq=%d operator=%s", entry["seq"], operator)
        return entry

    def correct_clock(self, *, operator: str) -> dict:
        """After a wrong, later clock: journal a ``clock_corrected`` entry naming the bad interval.

        Run once the clock is right again. The entries stamped later than now were made with
        the wrong time; the entry's ``data`` names them (``bad_from``/``bad_until`` times,
        ``bad_from_seq``/``bad_until_seq``, ``entries``) and ``corrected_to`` (now), so the hub
        flags the certificates issued in between for revocation and re-issue. From then on the
        clock must not go back behind ``corrected_to``.

        :raises ClockNotTrusted: nothing to correct, or the time is before the release date.
        """
        with self._lock:
            now = self._clock.now().astimezone(timezone.utc).replace(microsecond=0)
            hard = hard_problems(now, newest_entry=None, release_date=self._release_date)
            if hard:
                raise ClockNotTrusted(hard[0])
            corrected = self._journal.latest("clock_corrected")
            span = self._journal.time_span_after(now, after_seq=corrected["seq"] if corrected else 0)
            if span is None:
                raise ClockNotTrusted(f"nothing to correct: no journal entry is later than the current time "
                                      f"{fmt_utc(now)}; if the clock is wrong now, set it to the correct time first")
            count, bad_from, bad_until, first_seq, last_seq = span
            entry = self._journal.append(
                "clock_corrected", now=now, operator=operator,
                data={"bad_from": bad_from, "bad_until": bad_until, "bad_from_seq": first_seq,
                      "bad_until_seq": last_seq, "entries": count, "corrected_to": fmt_utc(now),
                      "boot_id": self._clock.boot_id()})
            self._record_reading(now)
        audit.info("clock_corrected seq=%d bad seq %d..%d operator=%s", entry["seq"], first_seq, last_seq, operator)
        return entry

    def clock_status(self) -> dict:
        """For the health snapshot: the time, NTP, RTC, this boot's confirmation, and the verdict."""
        with self._lock:
            now = self._clock.now()
            return {"now": fmt_utc(now), "synchronized": self._clock.is_synchronized(),
                    "rtc": self._clock.has_rtc(), "confirmed_this_boot": self._confirmed_this_boot(),
                    "trusted": not self._clock_problems(now)}
