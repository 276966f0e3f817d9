"""The Clock port's adapters: the system clock's probes and the fixed clock."""

from __future__ import annotations

import sys
from datetime import datetime, timedelta

from appliance.devices.clock import FixedClock, SystemClock
from appliance.devices.ports import Clock

#: what each member of the Clock port must give back
CLOCK_MEMBERS = {"now": datetime, "is_synchronized": bool, "has_rtc": bool, "boot_id": str, "since_boot": float}


def assert_is_a_clock(clock) -> None:
    """The Clock port by what its members give when called (``isinstance`` only looks at names)."""
    assert {name for name in vars(Clock) if not name.startswith("_")} == set(CLOCK_MEMBERS)
    for name, kind in CLOCK_MEMBERS.items():
        value = getattr(clock, name)()
        assert type(value) is kind, (name, value)
    t = clock.now()
    assert t.tzinfo is not None and t.utcoffset() == timedelta(0), "aware UTC"
    assert clock.boot_id().strip() == clock.boot_id() != "", "a boot id without whitespace"


def test_system_clock_probes_are_arguments(tmp_path):
    flag, rtc, boot = tmp_path / "synchronized", tmp_path / "rtc0", tmp_path / "boot_id"
    clock = SystemClock(ntp_flag=flag, rtc_paths=[rtc], timedatectl=None, boot_id_path=boot)
    assert_is_a_clock(clock)
    assert not clock.is_synchronized() and not clock.has_rtc()
    assert clock.boot_id() == "unknown-boot"
    flag.touch()
    rtc.touch()
    boot.write_text("1234-abcd\n")
    assert clock.is_synchronized() and clock.has_rtc() and clock.boot_id() == "1234-abcd"
    assert_is_a_clock(clock)


def test_timedatectl_answer_is_used_when_the_flag_file_is_missing(tmp_path):
    yes = SystemClock(ntp_flag=tmp_path / "none", timedatectl=[sys.executable, "-c", "print('yes')"])
    no = SystemClock(ntp_flag=tmp_path / "none", timedatectl=[sys.executable, "-c", "print('no')"])
    broken = SystemClock(ntp_flag=tmp_path / "none", timedatectl=[str(tmp_path / "no-such-program")])
    assert yes.is_synchronized() and not no.is_synchronized() and not broken.is_synchronized()


def test_fixed_clock(now):
    clock = FixedClock(now, synchronized=False, rtc=True, boot="b1")
    assert_is_a_clock(clock)
    assert clock.now() == now and not clock.is_synchronized() and clock.has_rtc() and clock.boot_id() == "b1"
    clock.advance(timedelta(hours=1))
    assert clock.now() == now + timedelta(hours=1)
