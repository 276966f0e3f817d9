"""The ``Clock`` port's adapters (:mod:`appliance.devices.ports`): what time it is, and what
the clock policy (:mod:`appliance.clock_trust`) needs to judge it.

A Raspberry Pi has no battery clock: after a power cut without network it boots
with whatever time the file system last saw. Issuing with a wrong clock makes
certificates that are already expired, or not valid yet, and breaks the
journal's order. So the clock is checked before every issue (:mod:`appliance.clock_trust`).

The rules (documented in the README, section "Clock trust"):

*Hard problems*, never lifted by a confirmation (fix the time instead):

- the time is earlier than the software's release date (:data:`appliance.RELEASE_DATE`);
- the time is earlier than the newest journal entry;
- the time is outside the validity of the device certificate (DSC).

*Soft problem*, lifted by an admin confirmation for the current boot:

- the clock is not NTP-synchronised **and** there is no battery clock (RTC).
  An admin looks at a watch, confirms the time on the admin page (a
  ``clock_confirmed`` journal entry carrying the boot id), and issuing goes on
  until the next reboot. With NTP or an RTC no confirmation is needed.

*A forward step during this boot* (a mistyped ``date -s``, one bad NTP answer): the wall
clock moved more than ``[clock] max_forward_hours`` further than the boot clock
(``since_boot``, CLOCK_BOOTTIME via ``/proc/uptime``) since the last trusted reading of
this boot (:class:`ClockReadings`, ``<state>/clock-reading.json``). A new confirmation
lifts it. A long gap while the device was off is a new boot, not a step.

:class:`SystemClock` probes paths given as arguments, so tests point them at
temporary files; :class:`FixedClock` is the fake.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Sequence


log = logging.getLogger(__name__)

NTP_FLAG = Path("/run/systemd/timesync/synchronized")
RTC_PATHS = (Path("/dev/rtc0"), Path("/sys/class/rtc/rtc0"))
BOOT_ID = Path("/proc/sys/kernel/random/boot_id")
UPTIME = Path("/proc/uptime")  #: CLOCK_BOOTTIME in seconds; a file, so libfaketime does not shift it
READING_FILE = "clock-reading.json"
#: a trusted reading is written again only when the wall clock moved this far against the boot clock
READING_TOLERANCE_S = 60.0
TIMEDATECTL = ("timedatectl", "show", "-p", "NTPSynchronized", "--value")
TIMEDATECTL_CACHE_S = 30.0  #: issuing asks before every certificate; one subprocess per 30 s is plenty


class SystemClock:
    """The operating system's clock with NTP, RTC and boot-id probes.

    :param ntp_flag: file that systemd-timesyncd creates once synchronised.
    :param rtc_paths: any of these existing means a battery clock is fitted.
    :param timedatectl: argv asking systemd whether NTP is synchronised
        (used when ``ntp_flag`` is missing; answer cached 30 s); ``None`` skips it.
    :param boot_id_path: changes on every boot; a clock confirmation is bound to it.
    :param uptime_path: ``/proc/uptime`` (seconds since boot, suspend included); when it cannot be
        read, ``CLOCK_BOOTTIME`` is asked directly.
    """

    def __init__(self, *, ntp_flag: Path = NTP_FLAG, rtc_paths: Sequence[Path] = RTC_PATHS,
                 timedatectl: Sequence[str] | None = TIMEDATECTL, boot_id_path: Path = BOOT_ID,
                 uptime_path: Path = UPTIME):
        self._uptime_path = Path(uptime_path)
        self._ntp_flag = Path(ntp_flag)
        self._rtc_paths = tuple(Path(p) for p in rtc_paths)
        self._timedatectl = tuple(timedatectl) if timedatectl else None
        self._boot_id_path = Path(boot_id_path)
        self._asked: tuple[float, bool] | None = None  # (monotonic time, answer) of the last timedatectl call

    def now(self) -> datetime:
        return datetime.now(timezone.utc)

    def is_synchronized(self) -> bool:
        if self._ntp_flag.exists():
            return True
        if self._timedatectl is None:
            return False
        now = time.monotonic()
        if self._asked is None or now - self._asked[0] > TIMEDATECTL_CACHE_S:
            self._asked = (now, self._ask_timedatectl())
        return self._asked[1]

    def _ask_timedatectl(self) -> bool:
        try:
            out = subprocess.run(self._timedatectl, capture_output=True, text=True, timeout=2, check=False)
        except (OSError, subprocess.SubprocessError):
            return False
        return out.returncode == 0 and out.stdout.strip() == "yes"

    def has_rtc(self) -> bool:
        return any(p.exists() for p in self._rtc_paths)

    def boot_id(self) -> str:
        try:
            return self._boot_id_path.read_text(encoding="ascii").strip()
        except OSError:
            return "unknown-boot"

    def since_boot(self) -> float:
        try:
            return float(self._uptime_path.read_text(encoding="ascii").split()[0])
        except (OSError, ValueError, IndexError):
            return time.clock_gettime(time.CLOCK_BOOTTIME)


class FixedClock:
    """A clock that says what it is told (tests, demos, benchmarks)."""

    def __init__(self, instant: datetime, *, synchronized: bool = True, rtc: bool = False,
                 boot: str = "fixed-boot", uptime: float = 3600.0):
        if instant.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self.instant = instant.astimezone(timezone.utc)
        self.synchronized = synchronized
        self.rtc = rtc
        self.boot = boot
        self.uptime = float(uptime)

    def now(self) -> datetime:
        return self.instant

    def advance(self, delta: timedelta) -> None:
        """Time passes with the device on: the wall clock and the boot clock move together."""
        self.instant += delta
        self.uptime += delta.total_seconds()

    def step(self, delta: timedelta) -> None:
        """The wall clock is stepped (``date -s``, an NTP answer); the boot clock does not move."""
        self.instant += delta

    def reboot(self, *, boot: str, uptime: float = 30.0) -> None:
        """A new boot (after the device was off): a new boot id, the boot clock starts again."""
        self.boot, self.uptime = boot, float(uptime)

    def set(self, instant: datetime) -> None:
        self.instant = instant.astimezone(timezone.utc)

    def is_synchronized(self) -> bool:
        return self.synchronized

    def has_rtc(self) -> bool:
        return self.rtc

    def boot_id(self) -> str:
        return self.boot

    def since_boot(self) -> float:
        return self.uptime


class ClockReadings:
    """The last trusted reading of this boot, ``{"boot_id", "epoch", "at"}`` in one small file.

    ``epoch`` is wall time minus boot time (seconds): constant while nobody steps the clock.
    Written only when it moved more than :data:`READING_TOLERANCE_S` or the boot changed, so
    issuing does not write it per certificate; it need not survive a power cut (that is a new boot).
    """

    def __init__(self, path: Path):
        self.path = Path(path)

    def load(self) -> dict | None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None   # missing or unreadable: no reading of this boot yet
        if (not isinstance(data, dict) or not isinstance(data.get("boot_id"), str)
                or not isinstance(data.get("epoch"), (int, float)) or not isinstance(data.get("at"), str)):
            return None
        return data

    def record(self, *, boot_id: str, epoch: float, at: str) -> bool:
        """Keep this reading; True when the file was written. :raises OSError: e.g. a full disk."""
        old = self.load()
        if old is not None and old["boot_id"] == boot_id and abs(old["epoch"] - epoch) <= READING_TOLERANCE_S:
            return False
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, json.dumps({"boot_id": boot_id, "epoch": epoch, "at": at}).encode())
        finally:
            os.close(fd)
        os.replace(tmp, self.path)
        return True
