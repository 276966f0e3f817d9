"""Finding 1: a forward clock jump needs a new confirmation; after one, 'correct-clock' lets issuing go on."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import datetime, timedelta, timezone

import pytest

from appliance.dcc import samples
from appliance.errors import ClockNotTrusted
from appliance.journal.journal import Journal
from tests.support.cli import APPLIANCE, appliance_env
from tests.support.toolcheck import require


STEPPED = "set forward by more than 1 day(s) during this boot"


def test_a_confirmation_no_longer_lasts_the_whole_boot(make_issuer, clock, request_for):
    clock.synchronized = False  # no NTP, no RTC: the time rests on an admin's confirmation
    issuer = make_issuer()
    issuer.confirm_clock(operator="admin")
    issuer.issue(request_for("v"), operator="anna")
    clock.step(timedelta(days=400))  # a mistyped date -s in the same boot
    problems = issuer.readiness("v")
    assert any(STEPPED in p for p in problems), problems
    with pytest.raises(ClockNotTrusted, match="confirm"):
        issuer.issue(request_for("v"), operator="anna")
    clock.step(-timedelta(days=400) + timedelta(hours=23))
    assert issuer.readiness("v") == []  # within the bound: fine
    clock.step(timedelta(days=400))
    issuer.confirm_clock(operator="admin")  # a new confirmation (a new reading) lifts it
    assert issuer.readiness("v") == []


def test_a_forward_step_needs_a_confirmation_even_with_ntp(make_issuer, clock, request_for):
    """One bad NTP answer: the clock is synchronised, and still stepped 400 days ahead in this boot."""
    issuer = make_issuer()
    issuer.issue(request_for("v"), operator="anna")
    clock.advance(timedelta(hours=5))               # five hours of work: both clocks move
    assert issuer.readiness("v") == []
    clock.step(timedelta(days=400))
    assert clock.is_synchronized() and any(STEPPED in p for p in issuer.readiness("v"))
    with pytest.raises(ClockNotTrusted, match="during this boot"):
        issuer.issue(request_for("v"), operator="anna")
    issuer.confirm_clock(operator="admin")
    assert issuer.readiness("v") == []
    clock.step(timedelta(hours=25))                 # measured from the newest trusted reading
    assert any(STEPPED in p for p in issuer.readiness("v"))


def test_a_long_gap_is_no_jump(make_issuer, clock, request_for):
    """Closed over the weekend: switched off (a new boot), or left on with both clocks moving."""
    issuer = make_issuer()
    issuer.issue(request_for("v"), operator="anna")
    clock.advance(timedelta(days=3))                # left on
    assert issuer.readiness("v") == []
    issuer.issue(request_for("v"), operator="anna")
    clock.reboot(boot="monday")                     # switched off, NTP set the time at boot
    clock.step(timedelta(days=3))
    assert issuer.readiness("v") == []
    clock.synchronized, clock.rtc = False, True     # a battery clock, two weeks off
    clock.reboot(boot="two-weeks-later")
    clock.step(timedelta(days=14))
    assert issuer.readiness("v") == []


def test_the_bound_is_configurable(make_issuer, make_config, clock, request_for):
    clock.synchronized, clock.rtc = False, True  # a battery clock needs no confirmation, but a date -s stays
    bounded = make_issuer(config=make_config({"clock": {"max_forward_hours": 48}}))
    bounded.issue(request_for("v"), operator="anna")
    clock.step(timedelta(hours=47))
    assert bounded.readiness("v") == []
    clock.step(timedelta(hours=2))
    assert any("more than 2 day(s) during this boot" in p for p in bounded.readiness("v"))
    assert make_issuer(config=make_config({"clock": {"max_forward_hours": 0}})).readiness("v") == []


def test_forward_step_is_measured_against_the_boot_clock():
    from appliance.clock_trust import boot_epoch, forward_step

    t0 = datetime(2026, 11, 28, 10, tzinfo=timezone.utc)
    reading = {"boot_id": "b", "epoch": boot_epoch(t0, 100.0), "at": "x"}
    later = t0 + timedelta(days=2)
    assert forward_step(reading, now=later, since_boot_s=100.0 + 2 * 86400, boot_id="b") is None   # time passed
    assert forward_step(reading, now=later, since_boot_s=160.0, boot_id="b") == timedelta(days=2, seconds=-60)
    assert forward_step(reading, now=later, since_boot_s=160.0, boot_id="other boot") is None
    assert forward_step(None, now=later, since_boot_s=160.0, boot_id="b") is None
    assert forward_step(reading, now=t0 - timedelta(days=1), since_boot_s=100.0, boot_id="b") is None  # backwards


def test_the_system_clock_reads_the_boot_clock(tmp_path):
    import time

    from appliance.devices.clock import SystemClock

    uptime = tmp_path / "uptime"
    uptime.write_text("12345.67 40000.00\n")
    assert SystemClock(timedatectl=None, uptime_path=uptime).since_boot() == 12345.67
    missing = SystemClock(timedatectl=None, uptime_path=tmp_path / "none").since_boot()
    assert abs(missing - time.clock_gettime(time.CLOCK_BOOTTIME)) < 5
    assert abs(SystemClock(timedatectl=None).since_boot() - time.clock_gettime(time.CLOCK_BOOTTIME)) < 5


def test_a_trusted_reading_is_written_once_not_per_certificate(make_issuer, clock, request_for, state_dir):
    issuer = make_issuer()
    issuer.issue(request_for("v"), operator="anna")
    path = state_dir / "clock-reading.json"
    first = path.stat()
    assert first.st_mode & 0o777 == 0o600
    clock.advance(timedelta(minutes=10))
    issuer.issue(request_for("v"), operator="anna")
    assert path.stat().st_mtime_ns == first.st_mtime_ns and path.stat().st_ino == first.st_ino


def test_correct_clock_names_the_bad_interval_and_issuing_goes_on(make_issuer, clock, request_for, journal, now):
    issuer = make_issuer()
    issuer.issue(request_for("v"), operator="anna")                  # seq 1, right time
    clock.advance(timedelta(days=400))
    issuer.confirm_clock(operator="admin")                           # seq 2: someone confirmed the wrong time
    bad = [issuer.issue(request_for("v"), operator="anna") for _ in range(2)]   # seq 3, 4
    clock.set(now + timedelta(hours=1))                              # the clock is right again
    with pytest.raises(ClockNotTrusted, match="earlier than the newest journal entry"):
        issuer.issue(request_for("v"), operator="anna")
    with pytest.raises(ClockNotTrusted, match="correct-clock"):
        issuer.confirm_clock(operator="admin")
    entry = issuer.correct_clock(operator="admin")
    assert entry["kind"] == "clock_corrected"
    bad_time = (now + timedelta(days=400)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert entry["data"] == {"bad_from": bad_time, "bad_until": bad_time, "bad_from_seq": 2, "bad_until_seq": 4,
                             "entries": 3, "corrected_to": "2026-11-28T11:00:00Z", "boot_id": "fixed-boot"}
    assert all(b.seq in range(2, 5) for b in bad)
    assert issuer.issue(request_for("v"), operator="anna").seq == 6   # issuing goes on
    clock.set(now + timedelta(minutes=30))                           # but never behind the correction
    with pytest.raises(ClockNotTrusted, match="earlier than the newest"):
        issuer.issue(request_for("v"), operator="anna")
    with pytest.raises(ClockNotTrusted, match="nothing to correct"):
        make_issuer(clock=type(clock)(now + timedelta(hours=2))).correct_clock(operator="admin")


def test_faketime_forward_jump_then_correct_clock_on_the_command_line(tmp_path, state_dir):
    """The issue's reproduction, with Debian's faketime around real `appliance` processes."""
    require(shutil.which("faketime") is not None, "faketime is not installed (apt-get install faketime)")
    cfg = tmp_path / "appliance.toml"
    cfg.write_text(f'[printer]\nkind = "file"\npath = "{tmp_path / "receipts"}"\n')
    env = appliance_env(cfg, state_dir)
    example = tmp_path / "v.json"
    example.write_text(json.dumps(samples.example_input("v", now=datetime.now(timezone.utc))), encoding="utf-8")

    def run(*args, jump=None):
        cmd = ("faketime", "-f", jump, *APPLIANCE) if jump else APPLIANCE
        return subprocess.run([*cmd, *args], env=env, capture_output=True, text=True, timeout=120)

    assert run("journal", "confirm-clock").returncode == 0
    assert run("issue", "--type", "v", "--input", example).returncode == 0
    r = run("issue", "--type", "v", "--input", example, jump="+400d")
    assert r.returncode != 0 and "during this boot" in r.stderr and "Traceback" not in r.stderr
    assert run("journal", "confirm-clock", jump="+400d").returncode == 0       # a confirmation of the wrong time
    assert run("issue", "--type", "v", "--input", example, jump="+400d").returncode == 0
    r = run("issue", "--type", "v", "--input", example)                       # back at the real time: stuck
    assert r.returncode != 0 and "earlier than the newest journal entry" in r.stderr
    r = run("journal", "confirm-clock")
    assert r.returncode != 0 and "correct-clock" in r.stderr
    r = run("journal", "correct-clock")
    assert r.returncode == 0, r.stderr
    assert "2 entries (seq 3 to 4" in r.stdout
    assert run("issue", "--type", "v", "--input", example).returncode == 0, "issuing goes on"
    with Journal.open(state_dir / "journal.sqlite") as j:
        corrected = j.latest("clock_corrected")
    assert (corrected["data"]["bad_from_seq"], corrected["data"]["bad_until_seq"]) == (3, 4)

