"""The ``StatusPanel`` port: three lights, one button and an optional buzzer (gpiozero).

Light patterns (one light at a time)::

    ready      green on, steady
    attention  amber blinking slowly   (1 s on, 1 s off)
    fault      red blinking fast       (0.25 s on, 0.25 s off); the buzzer (if fitted) beeps 3 times

The button: a short press reprints the last receipt; held for 3 s it starts a sync now.
Each accepted press is acknowledged by one short beep. Software debounce
(:class:`ButtonLogic`) drops contacts shorter than 50 ms and repeats within 1 s, whatever
the pin factory's ``bounce_time`` does (mock pins ignore it).

Pins come from ``[gpio]`` (BCM numbers, 0 = not fitted; ``active_high`` for the LEDs and
buzzer; the button switches to ground against the internal pull-up). Without GPIO
(no pin factory, e.g. a PC) the panel logs once and does nothing. Demo:
``GPIOZERO_PIN_FACTORY=mock``.
"""

from __future__ import annotations

import logging
import threading
import time
import warnings
from typing import Callable

log = logging.getLogger(__name__)

#: state -> (light, on_time, off_time); off_time None = steady
PATTERNS: dict[str, tuple[str, float, float | None]] = {
    "ready": ("green", 1.0, None),
    "attention": ("amber", 1.0, 1.0),
    "fault": ("red", 0.25, 0.25),
}
HOLD_S = 3.0


class ButtonLogic:
    """Short press / long hold decisions with software debounce; time comes from ``ticks``."""

    def __init__(self, *, on_short: Callable[[], None], on_long: Callable[[], None],
                 debounce_s: float = 0.05, repeat_guard_s: float = 1.0,
                 ticks: Callable[[], float] = time.monotonic):
        self.on_short, self.on_long = on_short, on_long
        self.debounce_s, self.repeat_guard_s, self.ticks = debounce_s, repeat_guard_s, ticks
        self._down_at: float | None = None
        self._held = False
        self._last_short = float("-inf")

    def pressed(self) -> None:
        self._down_at = self.ticks()
        self._held = False

    def held(self) -> None:
        if self._down_at is not None and not self._held:
            self._held = True
            _safe(self.on_long)

    def released(self) -> None:
        now = self.ticks()
        down, held = self._down_at, self._held
        self._down_at, self._held = None, False
        if down is None or held or now - down < self.debounce_s:
            return                       # no press seen, already handled as hold, or contact bounce
        if now - self._last_short < self.repeat_guard_s:
            return
        self._last_short = now
        _safe(self.on_short)


def _safe(fn: Callable[[], None]) -> None:
    try:
        fn()
    except Exception:  # a failing action must not kill gpiozero's callback thread
        log.exception("panel action failed")


class StatusPanel:
    """Lights, button and buzzer on the pins of ``[gpio]``.

    :param gpio: the :class:`~appliance.config.GpioSection`.
    :param pin_factory: a gpiozero pin factory (tests: ``MockFactory``); default gpiozero's own.
    :param patterns: override :data:`PATTERNS` (tests use short times).
    """

    def __init__(self, gpio, *, pin_factory=None, patterns: dict | None = None, hold_s: float = HOLD_S,
                 ticks: Callable[[], float] = time.monotonic):
        self.gpio = gpio
        self.patterns = dict(patterns or PATTERNS)
        self.state: str | None = None
        self.available = False
        self._reprint: Callable[[], None] = lambda: None
        self._sync_now: Callable[[], None] = lambda: None
        self._lock = threading.Lock()
        self.logic = ButtonLogic(on_short=lambda: self._act(self._reprint),
                                 on_long=lambda: self._act(self._sync_now), ticks=ticks)
        self.leds: dict = {}
        self.button = None
        self.buzzer = None
        if not gpio.enabled:
            log.info("status panel disabled in [gpio]")
            return
        try:
            self._open(pin_factory, hold_s)
            self.available = True
        except Exception as exc:  # gpiozero.exc.BadPinFactory and friends: no GPIO on this machine
            self._close_devices()
            log.warning("status panel not available (%s: %s); lights and button are off",
                        type(exc).__name__, exc)

    def _open(self, pin_factory, hold_s: float) -> None:
        from gpiozero import LED, Button, Buzzer  # lazy: gpiozero adds ~17-30 ms, needed only with [gpio] enabled

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")       # PinFactoryFallback noise on machines without GPIO
            for name in ("green", "amber", "red"):
                pin = getattr(self.gpio, name)
                if pin:
                    self.leds[name] = LED(pin, active_high=self.gpio.active_high, pin_factory=pin_factory)
            if self.gpio.button:
                self.button = Button(self.gpio.button, pull_up=True, hold_time=hold_s, pin_factory=pin_factory)
                self.button.when_pressed = lambda *_: self.logic.pressed()
                self.button.when_held = lambda *_: self.logic.held()
                self.button.when_released = lambda *_: self.logic.released()
            if self.gpio.buzzer:
                self.buzzer = Buzzer(self.gpio.buzzer, active_high=self.gpio.active_high, pin_factory=pin_factory)

    def _act(self, action: Callable[[], None]) -> None:
        self.beep(1)
        action()

    def on_reprint(self, callback: Callable[[], None]) -> None:
        """Called (on gpiozero's thread) after a short press."""
        self._reprint = callback

    def on_sync_now(self, callback: Callable[[], None]) -> None:
        """Called (on gpiozero's thread) once the button has been held for 3 s."""
        self._sync_now = callback

    def show(self, state: str) -> None:
        """Switch to ``ready``, ``attention`` or ``fault`` (repeating the same state changes nothing)."""
        if state not in self.patterns:
            raise ValueError(f"unknown panel state {state!r}; use one of {', '.join(self.patterns)}")
        with self._lock:
            if state == self.state:
                return
            previous, self.state = self.state, state
            if not self.available:
                return
            light, on_time, off_time = self.patterns[state]
            for name, led in self.leds.items():
                if name != light:
                    led.off()
            led = self.leds.get(light)
            if led is not None:
                if off_time is None:
                    led.on()
                else:
                    led.blink(on_time=on_time, off_time=off_time, background=True)
        log.info("status panel: %s -> %s", previous, state)
        if state == "fault":
            self.beep(3)

    def beep(self, times: int = 1) -> None:
        """Short beeps on the buzzer, if one is fitted."""
        if self.buzzer is not None:
            self.buzzer.beep(on_time=0.1, off_time=0.1, n=times, background=True)

    def _close_devices(self) -> None:
        for device in [*self.leds.values(), self.button, self.buzzer]:
            if device is not None:
                try:
                    device.close()
                except Exception:
                    log.debug("closing a GPIO device failed", exc_info=True)
        self.leds, self.button, self.buzzer = {}, None, None

    def close(self) -> None:
        """Lights off and pins released."""
        with self._lock:
            for led in self.leds.values():
                led.off()
            self._close_devices()
            self.available = False
