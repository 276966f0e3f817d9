"""The composition root: build every device and service once from the configuration.

``build_services(config)`` opens the ports (clock, signer, GPIO panel when fitted) as
:class:`Devices`, then the journal, the issuer, the settings store and the print service, and
returns them as one typed :class:`AppServices` for :func:`appliance.web.create_app`. Nothing
here runs on import; each adapter opens its hardware when built.

The issuer and the print service get a :class:`~appliance.settings.LiveConfig`, and the print
service a :class:`LivePrinter`: what an admin saves applies to the next certificate, receipt,
purge and status probe, without a restart. Only the GPIO panel's pins are read once.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
import time
from pathlib import Path

from appliance import health
from appliance.config import Config
from appliance.devices.clock import SystemClock
from appliance.devices.panel import StatusPanel
from appliance.devices.ports import Clock, Panel, PrinterStatus, Signer
from appliance.devices.printer import UnusablePrinter, build_printer
from appliance.devices.signer import build_signer
from appliance.errors import ApplianceError
from appliance.health import Health
from appliance.issue import Issuer
from appliance.journal.journal import Journal
from appliance.printing.service import PrintService
from appliance.printing.receipt import build_test_page
from appliance.settings import LiveConfig, Settings
from appliance.util import wakeup

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

    def since_boot(self) -> float:
        return self._clock.since_boot()


class LivePrinter:
    """The receipt printer that the ``[printer]`` settings name right now (a ``ReceiptPrinter``).

    Built again when the settings changed since the last use; a section that cannot be built
    becomes an :class:`UnusablePrinter` that says why (jobs stay queued). Other attributes
    (``wants_preview``, ``prune``, ``preview_path``) are the current adapter's.
    """

    def __init__(self, config):
        self._config = config
        self._lock = threading.Lock()
        self._built: tuple | None = None

    def current(self):
        config = self._config.current() if isinstance(self._config, LiveConfig) else self._config
        key = (config.printer, config.state_dir)
        with self._lock:
            if self._built is None or self._built[0] != key:
                try:
                    printer = build_printer(config)
                except ApplianceError as exc:
                    log.error("receipt printer not usable: %s", exc)
                    printer = UnusablePrinter(str(exc))
                self._built = (key, printer)
            return self._built[1]

    def send(self, data: bytes, *, name: str = "receipt", preview: bytes | None = None) -> None:
        self.current().send(data, name=name, preview=preview)

    def status(self) -> PrinterStatus:
        return self.current().status()

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.current(), name)


@dataclass
class Devices:
    """The ports, opened once: the only things here that touch hardware."""

    clock: Clock
    signer: Signer
    panel: Panel | None = None


@dataclass
class AppServices:
    """Everything the web process uses, made once by :func:`build_services` (or by tests)."""

    config: Config
    devices: Devices
    journal: Journal
    issuer: Issuer
    settings: Settings
    printing: PrintService | None = None
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)
    _printer: dict | None = field(default=None, repr=False)   #: the last probed printer status

    @property
    def clock(self) -> Clock:
        return self.devices.clock

    @property
    def signer(self) -> Signer:
        return self.devices.signer

    @property
    def panel(self) -> Panel | None:
        return self.devices.panel

    def health(self, *, probe_printer: bool = True) -> Health:
        """The one health snapshot. The header badge passes ``probe_printer=False`` to reuse the
        printer status of the last probe (status page, ``/healthz``, the panel every 10 s)."""
        printer = None if probe_printer or self._printer is None else self._printer
        snapshot = health.collect(self, now=self.clock.now(), printer=printer)
        if printer is None:
            self._printer = snapshot.details["printer"]
        return snapshot

    def test_print(self) -> PrinterStatus | None:
        """Print the test page (no certificate) on the printer the settings name now, at once.

        Returns ``None`` when the printer took it, else the printer's status after the failure
        (offline, no paper, unreachable: its ``detail`` is for the log, not for the tablet).
        """
        if self.printing is None:
            return PrinterStatus(False, "unknown", "no print service in this process")
        live = LiveConfig(self.settings, self.config)
        section = live.printer
        data = build_test_page(centre=live.centre_name, profile=section.profile, paper_width_mm=section.paper_width_mm,
                               native_qr=section.native_qr, ecc=section.qr_ecc or None)
        printer = self.printing.printer
        try:
            printer.send(data, name="test-page")
        except ApplianceError as exc:
            log.warning("test print failed: %s", exc)
            status = printer.status()
            return status if status.online is False or status.paper == "out" else PrinterStatus(False, status.paper, str(exc))
        return None

    def start(self) -> None:
        """Start the print worker and the panel's light updates (``appliance serve``)."""
        if self.printing is not None:
            self.printing.start()
        panel = self.devices.panel
        if panel is not None:
            panel.on_reprint(self.reprint_last)
            panel.on_sync_now(self.sync_now)
            threading.Thread(target=self._panel_loop, name="status-panel", daemon=True).start()

    def reprint_last(self) -> None:
        """Button pressed: reprint the last receipt."""
        try:
            if self.printing is not None:
                self.printing.reprint_last(operator="panel-button")
        except Exception:  # a button press must never kill the callback thread
            log.exception("reprint from the panel button failed")

    def sync_now(self) -> None:
        """Button held: wake the sync agent (its own process) through its wake-up socket."""
        if not wakeup.notify(Path(self.config.state_dir), b"sync-now"):
            log.info("sync agent not listening; it will sync on its own schedule")

    def show_health(self) -> str:
        """Put the health verdict on the panel's lights; returns it."""
        state = self.health().state
        if self.devices.panel is not None:
            self.devices.panel.show(state)
        return state

    def _panel_loop(self) -> None:
        while True:
            try:
                self.show_health()
            except Exception:
                log.exception("status panel update failed")
            if self._stop.wait(PANEL_INTERVAL_S):
                return

    def close(self) -> None:
        self._stop.set()
        for name, part in (("printing", self.printing), ("panel", self.devices.panel), ("settings", self.settings),
                           ("journal", self.journal), ("signer", self.signer)):
            closer = getattr(part, "close", None) or getattr(part, "stop", None)
            if closer is None:
                continue
            try:
                closer()
            except Exception:
                log.exception("closing %s failed", name)


def build_services(config: Config, *, clock: Clock | None = None, signer: Signer | None = None,
                   with_panel: bool = True) -> AppServices:
    """Open every device and service from ``config``; tests may pass their own ``clock`` and ``signer``."""
    state = Path(config.state_dir)
    state.mkdir(parents=True, exist_ok=True)
    clock = clock or CachingClock(SystemClock())
    signer = signer or build_signer(config)
    journal = Journal.open(state / "journal.sqlite")
    settings = Settings.open(state)
    live = LiveConfig(settings, config)      # read at every use: the admin's changes apply at once
    issuer = Issuer(config=live, signer=signer, journal=journal, clock=clock)
    printing = PrintService(live, journal=journal, clock=clock.now, printer=LivePrinter(live), signer=signer)
    panel = _panel(live.current()) if with_panel else None   # GPIO pins: opened once, at start-up
    return AppServices(config=config, devices=Devices(clock=clock, signer=signer, panel=panel), journal=journal,
                       issuer=issuer, settings=settings, printing=printing)


def _panel(config: Config) -> Panel | None:
    """The GPIO status panel, or ``None`` when disabled (it logs and stays dark without GPIO)."""
    if not config.gpio.enabled:
        return None
    return StatusPanel(config.gpio)
