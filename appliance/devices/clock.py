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

:class:`SystemClock` probes paths given as arguments, so tests point them at
temporary files; :class:`FixedClock` is the fake.
"""

from __future__ import annotations

import logging
import subprocess
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Sequence


log = logging.getLogger(__name__)

NTP_FLAG = Path("/run/systemd/timesync/synchronized")
RTC_PATHS = (Path("/dev/rtc0"), Path("/sys/class/rtc/rtc0"))
BOOT_ID = Path("/proc/sys/kernel/random/boot_id")
TIMEDATECTL = ("timedatectl", "show", "-p", "NTPSynchronized", "--value")
TIMEDATECTL_CACHE_S = 30.0  #: issuing asks before every certificate; one subprocess per 30 s is plenty


class SystemClock:
    """The operating system's clock with NTP, RTC and boot-id probes.

    :param ntp_flag: file that systemd-timesyncd creates once synchronised.
    :param rtc_paths: any of these existing means a battery clock is fitted.
    :param timedatectl: argv asking systemd whether NTP is synchronised
        (used when ``ntp_flag`` is missing; answer cached 30 s); ``None`` skips it.
    :param boot_id_path: changes on every boot; a clock confirmation is bound to it.
    """

    def __init__(self, *, ntp_flag: Path = NTP_FLAG, rtc_paths: Sequence[Path] = RTC_PATHS,
                 timedatectl: Sequence[str] | None = TIMEDATECTL, boot_id_path: Path = BOOT_ID):
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


class FixedClock:
    """A clock that says what it is told (tests, demos, benchmarks)."""

    def __init__(self, instant: datetime, *, synchronized: bool = True, rtc: bool = False,
                 boot: str = "fixed-boot"):
        if instant.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self.instant = instant.astimezone(timezone.utc)
        self.synchronized = synchronized
        self.rtc = rtc
        self.boot = boot

    def now(self) -> datetime:
        return self.instant

    def advance(self, delta: timedelta) -> None:
        self.instant += delta

    def set(self, instant: datetime) -> None:
        self.instant = instant.astimezone(timezone.utc)

    def is_synchronized(self) -> bool:
        return self.synchronized

    def has_rtc(self) -> bool:
        return self.rtc

    def boot_id(self) -> str:
        return self.boot
