"""The clock policy (appliance.clock_trust), and the DSC validity check the issuer adds to it."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from appliance.clock_trust import clock_problems, hard_problems, needs_confirmation, release_datetime
from appliance.devices.clock import FixedClock
from appliance.errors import DscError
from appliance.issue import Issuer
from appliance.journal.journal import Journal

RELEASE = "2026-11-01"


def test_trusted_clock_has_no_problems(now):
    assert clock_problems(now, newest_entry=now - timedelta(seconds=1), release_date=RELEASE) == []


def test_time_before_release_date_is_refused():
    early = datetime(2026, 10, 31, 23, 59, tzinfo=timezone.utc)
    problems = clock_problems(early, newest_entry=None, release_date=RELEASE)
    assert len(problems) == 1 and "release date" in problems[0]
    assert release_datetime(RELEASE) == datetime(2026, 11, 1, tzinfo=timezone.utc)


def test_time_before_newest_entry_is_refused_even_when_confirmed(now):
    problems = clock_problems(now, newest_entry=now + timedelta(minutes=5), release_date=RELEASE,
                              synchronized=False, confirmed=True)
    assert len(problems) == 1 and "newest journal entry" in problems[0]
    assert hard_problems(now, newest_entry=now + timedelta(minutes=5), release_date=RELEASE) == problems


def test_unsynchronised_without_rtc_needs_a_confirmation(now):
    kw = dict(newest_entry=None, release_date=RELEASE, synchronized=False)
    problems = clock_problems(now, **kw)
    assert len(problems) == 1 and "confirm" in problems[0]
    assert clock_problems(now, **kw, confirmed=True) == []
    assert clock_problems(now, **kw, has_rtc=True) == []
    assert hard_problems(now, newest_entry=None, release_date=RELEASE) == []     # confirmable: not hard


@pytest.mark.parametrize("synchronized,rtc,needed", [(True, False, False), (False, True, False),
                                                     (True, True, False), (False, False, True)])
def test_only_a_clock_without_ntp_and_rtc_needs_confirmation(synchronized, rtc, needed):
    assert needs_confirmation(synchronized=synchronized, has_rtc=rtc) is needed


@pytest.mark.parametrize("offset", ["after", "before"])
def test_time_outside_the_dsc_validity_blocks_issuing(offset, config, software_signer, tmp_path):
    cert = software_signer.certificate
    at = cert.not_valid_after_utc + timedelta(days=1) if offset == "after" \
        else cert.not_valid_before_utc - timedelta(minutes=1)
    with Journal.open(tmp_path / "journal.sqlite") as journal:
        issuer = Issuer(config=config, signer=software_signer, journal=journal, clock=FixedClock(at))
        problems = issuer.readiness("v")
        assert len(problems) == 1 and "device certificate" in problems[0]
        assert issuer.clock_status()["trusted"] is True       # the clock policy itself has no objection
        with pytest.raises(DscError, match="device certificate"):
            issuer._refuse_if_blocked("v", at)
