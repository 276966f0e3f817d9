"""The composition root: build every device once from the configuration, close them at the end.

``build_devices(config)`` opens the clock, the signer, the journal, the issuer,
the settings store, the print service and (when fitted) the GPIO status panel,
and returns them as :class:`Devices` for :func:`appliance.web.create_app`.
Nothing here runs on import; each adapter opens its hardware when built.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

PANEL_INTERVAL_S = 10.0
CLOCK_PROBE_TTL_S = 10.0


class CachingClock:
    """Wraps a :class:`~appliance.devices.clock.Clock` and remembers its NTP and RTC answers for a
    few seconds: ``SystemClock.is_synchronized`` may run ``timedatectl`` (about 5 ms), and the
    issuer asks on every certificate while holding its lock. ``now()`` is never cached."""

    def __init__(self, clock, ttl_s: float = CLOCK_PROBE_TTL_S):
        self._clock, self._ttl = clock, ttl_s
        self._cache: dict[str, tuple[float, bool]] = {}
        self._lock = threading.Lock()

    def now(self):
        return self._clock.now()

    def _cached(self, name: str) -> bool:
        import time
        t = time.monotonic()
        with self._lock:
            hit = self._cache.get(name)
            if hit and t - hit[0] < self._ttl:
                return hit[1]
        value = bool(getattr(self._clock, name)())
        with self._lock:
            self._cache[name] = (t, value)
        return value

    def is_synchronized(self) -> bool:
        return self._cached("is_synchronized")

    def has_rtc(self) -> bool:
        return self._cached("has_rtc")

    def boot_id(self) -> str:
        return self._clock.boot_id()


@dataclass
class Devices:
    """Every side effect the web process uses, built by :func:`build_devices` (or by tests)."""

    config: Any
    clock: Any
    signer: Any
    journal: Any
    issuer: Any
    settings: Any
    printing: Any = None
    panel: Any = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)

    def apply_settings(self) -> None:
        """Rebuild the issuer with the admin's centre settings over the configuration."""
        from appliance.issue import Issuer
        with self._lock:
            effective = self.settings.effective_config(self.config)
            self.issuer = Issuer(config=effective, signer=self.signer, journal=self.journal, clock=self.clock)

    def start(self) -> None:
        """Start the print worker and the panel's light updates (``appliance serve``)."""
        if self.printing is not None:
            self.printing.start()
        if self.panel is not None:
            self.panel.on_reprint(self._reprint_last)
            self.panel.on_sync_now(self._sync_now)
            threading.Thread(target=self._panel_loop, name="status-panel", daemon=True).start()

    def _reprint_last(self) -> None:
        try:
            if self.printing is not None:
                self.printing.reprint_last(operator="panel-button")
        except Exception:  # a button press must never kill the callback thread
            log.exception("reprint from the panel button failed")

    def _sync_now(self) -> None:
        """Button held: wake the sync agent (its own process) through its wake-up socket."""
        import socket
        path = Path(self.config.state_dir) / "sync-wakeup.sock"
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
                sock.sendto(b"sync-now", str(path))
        except OSError:
            log.info("sync agent not listening; it will sync on its own schedule")

    def _panel_loop(self) -> None:
        from appliance import lights
        while True:
            try:
                problems = self.issuer.readiness(None)
                status = self.printing.status() if self.printing is not None else {}
                state = lights.FAULT if problems else lights.compute_state(
                    {"printer_online": status.get("online"), "paper": status.get("paper")})
                self.panel.show(state)
            except Exception:
                log.exception("status panel update failed")
            if self._stop.wait(PANEL_INTERVAL_S):
                return

    def close(self) -> None:
        self._stop.set()
        for name in ("printing", "panel", "settings", "journal", "signer"):
            part = getattr(self, name)
            closer = getattr(part, "close", None) or getattr(part, "stop", None)
            if closer is None:
                continue
            try:
                closer()
            except Exception:
                log.exception("closing %s failed", name)


def build_devices(config, *, clock=None, signer=None, with_panel: bool = True) -> Devices:
    """Open every device from ``config``; tests may pass their own ``clock`` and ``signer``."""
    from appliance.devices.clock import SystemClock
    from appliance.devices.signer import build_signer
    from appliance.issue import Issuer
    from appliance.journal.journal import Journal
    from appliance.printing.service import PrintService
    from appliance.settings import Settings

    state = Path(config.state_dir)
    state.mkdir(parents=True, exist_ok=True)
    clock = clock or CachingClock(SystemClock())
    signer = signer or build_signer(config)
    journal = Journal.open(state / "journal.sqlite")
    settings = Settings.open(state)
    effective = settings.effective_config(config)
    issuer = Issuer(config=effective, signer=signer, journal=journal, clock=clock)
    printing = PrintService(effective, journal=journal, clock=clock.now)
    panel = _panel(effective) if with_panel else None
    return Devices(config=config, clock=clock, signer=signer, journal=journal, issuer=issuer,
                   settings=settings, printing=printing, panel=panel)


def _panel(config):
    """The GPIO status panel, or ``None`` when disabled or no GPIO is present (logged)."""
    if not config.gpio.enabled:
        return None
    from appliance.devices.panel import StatusPanel
    return StatusPanel(config.gpio)  # logs and stays dark when the machine has no GPIO
