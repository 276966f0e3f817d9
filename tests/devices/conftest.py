"""Fixtures for the device adapters: gpiozero mock pins for the status panel."""

from __future__ import annotations

import pytest


@pytest.fixture
def mock_factory():
    """gpiozero's mock pin factory (PWM-capable pins) as the default for the test; restored after."""
    from gpiozero import Device
    from gpiozero.pins.mock import MockFactory, MockPWMPin

    saved = Device.pin_factory
    Device.pin_factory = MockFactory(pin_class=MockPWMPin)
    yield Device.pin_factory
    Device.pin_factory.reset()
    Device.pin_factory = saved
