"""The Clock port's adapters: the system clock's probes and the fixed clock."""

from __future__ import annotations

import sys
from datetime import timedelta

from appliance.devices.clock import FixedClock, SystemClock
from appliance.devices.ports import Clock


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
