"""The composition root: devices built from the config, the panel lit from health, a clean close."""

from __future__ import annotations

import socket
import time

from appliance.devices.clock import FixedClock
from appliance.runtime import CachingClock, build_services


class CountingClock(FixedClock):
    def __init__(self, instant):
        super().__init__(instant)
        self.probes = 0

    def is_synchronized(self) -> bool:
        self.probes += 1
        return True


def test_caching_clock_asks_the_system_once_per_ttl(now):
    inner = CountingClock(now)
    clock = CachingClock(inner, ttl_s=3600)
    assert all(clock.is_synchronized() for _ in range(5))
    assert inner.probes == 1
    assert clock.now() == now
    inner.advance(__import__("datetime").timedelta(hours=1))
    assert clock.now() == inner.now()                   # the time itself is never cached
    assert CachingClock(inner, ttl_s=0).is_synchronized() and inner.probes == 2


def test_build_services_with_a_mock_panel_shows_a_state(make_config, software_signer, now, monkeypatch):
    monkeypatch.setenv("GPIOZERO_PIN_FACTORY", "mock")
    config = make_config({"printer": {"kind": "file"}, "gpio": {"enabled": True}})
    devices = build_services(config, clock=FixedClock(now), signer=software_signer)
    try:
        assert devices.panel is not None and devices.panel.available
        devices.start()
        deadline = time.monotonic() + 30
        while devices.panel.state is None and time.monotonic() < deadline:
            time.sleep(0.05)
        health = devices.health(probe_printer=False)
        assert devices.panel.state == health.state          # the lights show the health verdict
        assert health.state == "ready", health.problems      # valid DSC, trusted clock, file printer, empty journal
    finally:
        devices.close()


def test_sync_now_button_wakes_the_sync_agent(make_config, software_signer, now, tmp_path):
    config = make_config({"printer": {"kind": "file"}, "gpio": {"enabled": False}})
    devices = build_services(config, clock=FixedClock(now), signer=software_signer, with_panel=False)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(str(config.state_dir / "sync-wakeup.sock"))
    listener.settimeout(10)
    try:
        devices.sync_now()
        assert listener.recv(64) == b"sync-now"
    finally:
        listener.close()
        devices.close()
