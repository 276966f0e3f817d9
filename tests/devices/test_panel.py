"""Status panel on gpiozero mock pins: every light state, button press, hold, debounce, no GPIO."""

from __future__ import annotations

import threading
import time

import pytest

from appliance.config import GpioSection
from appliance.devices.panel import ButtonLogic, StatusPanel
from tests.support.waiting import wait_until

FAST = {"ready": ("green", 1.0, None), "attention": ("amber", 0.02, 0.02), "fault": ("red", 0.01, 0.01)}
PINS = {"green": 17, "amber": 27, "red": 22}


class Ticks:
    def __init__(self):
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def panel_factory(mock_factory):
    panels = []

    def make(**gpio):
        panel = StatusPanel(GpioSection(**gpio), pin_factory=mock_factory, patterns=FAST, hold_s=0.1,
                            ticks=make.ticks)
        panels.append(panel)
        return panel

    make.ticks = Ticks()
    yield make
    for panel in panels:
        panel.close()


def toggles(pin) -> int:
    return len(pin.states) - 1


def test_ready_is_steady_green(panel_factory, mock_factory):
    panel = panel_factory()
    assert panel.available
    panel.show("ready")
    assert mock_factory.pin(17).state == 1
    assert mock_factory.pin(27).state == 0 and mock_factory.pin(22).state == 0
    before = toggles(mock_factory.pin(17))
    time.sleep(0.1)
    assert toggles(mock_factory.pin(17)) == before, "steady, not blinking"


@pytest.mark.parametrize("state,light", [("attention", "amber"), ("fault", "red")])
def test_blinking_states(panel_factory, mock_factory, state, light):
    panel = panel_factory()
    panel.show("ready")
    panel.show(state)
    pin = mock_factory.pin(PINS[light])
    start = toggles(pin)
    assert wait_until(lambda: toggles(pin) >= start + 4, 10, interval_s=0.01), f"{light} blinks"
    others = [mock_factory.pin(p) for name, p in PINS.items() if name != light]
    assert all(o.state == 0 for o in others)


def test_active_low_inverts_the_pins(panel_factory, mock_factory):
    panel = panel_factory(active_high=False)
    panel.show("ready")
    assert mock_factory.pin(17).state == 0 and mock_factory.pin(27).state == 1


def test_fault_beeps_when_a_buzzer_is_fitted(panel_factory, mock_factory):
    panel = panel_factory(buzzer=24)
    panel.show("fault")
    buzzer = mock_factory.pin(24)
    assert wait_until(lambda: toggles(buzzer) >= 6, 10, interval_s=0.01), "three beeps"


def test_unknown_state_is_refused(panel_factory):
    with pytest.raises(ValueError, match="unknown panel state"):
        panel_factory().show("purple")


def test_short_press_reprints(panel_factory, mock_factory):
    panel = panel_factory()
    calls = []
    panel.on_reprint(lambda: calls.append("reprint"))
    panel.on_sync_now(lambda: calls.append("sync"))
    button = mock_factory.pin(23)
    button.drive_low()
    panel_factory.ticks.t += 0.2
    button.drive_high()
    assert calls == ["reprint"]


def test_hold_starts_sync_and_does_not_reprint(panel_factory, mock_factory):
    panel = panel_factory()
    calls, held = [], threading.Event()
    panel.on_reprint(lambda: calls.append("reprint"))
    panel.on_sync_now(lambda: (calls.append("sync"), held.set()))
    button = mock_factory.pin(23)
    button.drive_low()
    assert held.wait(10), "when_held fires on gpiozero's thread"
    panel_factory.ticks.t += 3.5
    button.drive_high()
    assert calls == ["sync"]


def test_bouncing_contact_reprints_once_through_the_pins(panel_factory, mock_factory):
    panel = panel_factory()
    calls = []
    panel.on_reprint(lambda: calls.append("reprint"))
    button, ticks = mock_factory.pin(23), panel_factory.ticks
    for _ in range(4):                    # 4 bounces of 2 ms: mock pins ignore bounce_time
        button.drive_low()
        ticks.t += 0.002
        button.drive_high()
        ticks.t += 0.002
    button.drive_low()
    ticks.t += 0.15
    button.drive_high()
    for _ in range(3):                    # release bounce
        ticks.t += 0.002
        button.drive_low()
        ticks.t += 0.002
        button.drive_high()
    assert calls == ["reprint"]


class TestButtonLogic:
    def make(self):
        ticks, calls = Ticks(), []
        logic = ButtonLogic(on_short=lambda: calls.append("short"), on_long=lambda: calls.append("long"),
                            debounce_s=0.05, repeat_guard_s=1.0, ticks=ticks)
        return logic, ticks, calls

    def press(self, logic, ticks, duration):
        logic.pressed()
        ticks.t += duration
        logic.released()

    def test_contact_shorter_than_debounce_is_ignored(self):
        logic, ticks, calls = self.make()
        self.press(logic, ticks, 0.01)
        assert calls == []

    def test_real_press_counts(self):
        logic, ticks, calls = self.make()
        self.press(logic, ticks, 0.2)
        assert calls == ["short"]

    def test_double_tap_within_guard_is_one_reprint(self):
        logic, ticks, calls = self.make()
        self.press(logic, ticks, 0.1)
        ticks.t += 0.3
        self.press(logic, ticks, 0.1)
        assert calls == ["short"]
        ticks.t += 1.0
        self.press(logic, ticks, 0.1)
        assert calls == ["short", "short"]

    def test_release_without_press_is_ignored(self):
        logic, ticks, calls = self.make()
        logic.released()
        assert calls == []

    def test_hold_then_release_is_only_long(self):
        logic, ticks, calls = self.make()
        logic.pressed()
        logic.held()
        logic.held()
        ticks.t += 3.2
        logic.released()
        assert calls == ["long"]

    def test_failing_action_is_logged_not_raised(self, caplog):
        logic = ButtonLogic(on_short=lambda: 1 / 0, on_long=lambda: None, ticks=Ticks())
        logic.pressed()
        logic.ticks.t += 0.2
        logic.released()
        assert "panel action failed" in caplog.text


def test_no_gpio_is_a_quiet_no_op(monkeypatch, caplog):
    from gpiozero import Device

    monkeypatch.delenv("GPIOZERO_PIN_FACTORY", raising=False)
    monkeypatch.setattr(Device, "pin_factory", None)
    panel = StatusPanel(GpioSection())
    try:
        assert not panel.available
        panel.show("fault")
        panel.beep()
        assert panel.state == "fault"
        assert "status panel not available" in caplog.text
    finally:
        panel.close()
        Device.pin_factory = None


def test_disabled_panel_touches_no_pins(mock_factory):
    panel = StatusPanel(GpioSection(enabled=False), pin_factory=mock_factory)
    panel.show("ready")
    assert not panel.available and panel.leds == {}
    panel.close()
