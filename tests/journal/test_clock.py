"""The Clock port and the pure clock-trust rules."""

from __future__ import annotations

import sys
from datetime import datetime, timedelta, timezone

from appliance.devices.clock import Clock, FixedClock, SystemClock, check_clock


def test_system_clock_probes_are_arguments(tmp_path):
    flag, rtc, boot = tmp_path / "synchronized", tmp_path / "rtc0", tmp_path / "boot_id"
    clock = SystemClock(ntp_flag=flag, rtc_paths=[rtc], timedatectl=None, boot_id_path=boot)
    assert isinstance(clock, Clock)
    assert not clock.is_synchronized() and not clock.has_rtc()
    assert clock.boot_id() == "unknown-boot"
    flag.touch()
    rtc.touch()
    boot.write_text("1234-abcd\n")
    assert clock.is_synchronized() and clock.has_rtc() and clock.boot_id() == "1234-abcd"
    t = clock.now()
    assert t.tzinfo is not None and t.utcoffset() == timedelta(0)


def test_timedatectl_answer_is_used_when_the_flag_file_is_missing(tmp_path):
    yes = SystemClock(ntp_flag=tmp_path / "none", timedatectl=[sys.executable, "-c", "print('yes')"])
    no = SystemClock(ntp_flag=tmp_path / "none", timedatectl=[sys.executable, "-c", "print('no')"])
    broken = SystemClock(ntp_flag=tmp_path / "none", timedatectl=[str(tmp_path / "no-such-program")])
    assert yes.is_synchronized() and not no.is_synchronized() and not broken.is_synchronized()


def test_fixed_clock(now):
    clock = FixedClock(now, synchronized=False, rtc=True, boot="b1")
    assert isinstance(clock, Clock)
    assert clock.now() == now and not clock.is_synchronized() and clock.has_rtc() and clock.boot_id() == "b1"
    clock.advance(timedelta(hours=1))
    assert clock.now() == now + timedelta(hours=1)


def test_trusted_clock_has_no_problems(now, software_signer):
    assert check_clock(now, newest_entry=now - timedelta(seconds=1), dsc_cert=software_signer.certificate,
                       release_date="2026-11-01") == []


def test_time_before_release_date_is_refused(software_signer):
    early = datetime(2026, 10, 31, 23, 59, tzinfo=timezone.utc)
    problems = check_clock(early, newest_entry=None, dsc_cert=None, release_date="2026-11-01")
    assert len(problems) == 1 and "release date" in problems[0]


def test_time_before_newest_entry_is_refused_even_when_confirmed(now):
    problems = check_clock(now, newest_entry=now + timedelta(minutes=5), dsc_cert=None,
                           release_date="2026-11-01", synchronized=False, confirmed=True)
    assert len(problems) == 1 and "newest journal entry" in problems[0]


def test_time_outside_dsc_validity_is_refused(now, software_signer):
    cert = software_signer.certificate
    later = cert.not_valid_after_utc + timedelta(days=1)
    problems = check_clock(later, newest_entry=None, dsc_cert=cert, release_date="2026-11-01")
    assert len(problems) == 1 and "device certificate" in problems[0]
    earlier = cert.not_valid_before_utc - timedelta(minutes=1)
    assert check_clock(earlier, newest_entry=None, dsc_cert=cert, release_date="2026-11-01")


def test_unsynchronised_without_rtc_needs_a_confirmation(now):
    kw = dict(newest_entry=None, dsc_cert=None, release_date="2026-11-01", synchronized=False)
    problems = check_clock(now, **kw)
    assert len(problems) == 1 and "confirm" in problems[0]
    assert check_clock(now, **kw, confirmed=True) == []
    assert check_clock(now, **kw, has_rtc=True) == []
