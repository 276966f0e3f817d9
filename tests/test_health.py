"""The one health model: the pure verdict over facts, and the same verdict on all four outputs
(status page, ``/healthz``, the header badge and the GPIO lights) for each problem fed in."""

from __future__ import annotations

import re
import sqlite3
import time
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from appliance import health
from appliance.devices.clock import FixedClock
from appliance.devices.panel import StatusPanel
from appliance.devices.ports import PrinterStatus
from appliance.devices.signer import SoftwareSigner, make_self_signed_dsc
from appliance.health import ATTENTION, FAULT, READY, Facts, Thresholds, assess, snapshot, verdict
from appliance.runtime import build_services
from appliance.web import create_app

HEALTHY = Facts(key_ok=True, dsc_days_left=400, clock_trusted=True, printer_online=True, paper="ok",
                print_queue_stuck=False, sync_backlog_age_s=60, hub_offline=False, disk_free_mb=5000)


@pytest.mark.parametrize("change,expected", [
    ({}, READY),
    ({"key_ok": False}, FAULT),
    ({"clock_trusted": False}, FAULT),
    ({"blocking": ("the journal's hash chain is broken at seq 3",)}, FAULT),
    ({"printer_online": False}, FAULT),
    ({"paper": "out"}, FAULT),
    ({"dsc_days_left": 0}, FAULT),
    ({"dsc_days_left": -3}, FAULT),
    ({"dsc_days_left": 29}, ATTENTION),
    ({"dsc_days_left": 30}, READY),
    ({"paper": "near_end"}, ATTENTION),
    ({"print_queue_stuck": True}, ATTENTION),
    ({"sync_backlog_age_s": 24 * 3600 + 1}, ATTENTION),
    ({"sync_backlog_age_s": 24 * 3600}, READY),
    ({"hub_offline": True}, ATTENTION),
    ({"disk_free_mb": 199}, ATTENTION),
    ({"disk_free_mb": 200}, READY),
    ({"printer_online": None, "paper": "unknown", "dsc_days_left": None}, READY),
    ({"paper": "near_end", "key_ok": False}, FAULT),
])
def test_verdict_per_fact(change, expected):
    from dataclasses import replace
    assert verdict(assess(replace(HEALTHY, **change))) == expected


def test_unknown_facts_are_not_problems():
    assert assess(Facts()) == []


def test_thresholds_are_parameters():
    assert verdict(assess(Facts(sync_backlog_age_s=7200), Thresholds(sync_backlog_warn_s=3600))) == ATTENTION
    assert verdict(assess(Facts(dsc_days_left=50), Thresholds(dsc_warn_days=60))) == ATTENTION
    assert verdict(assess(Facts(disk_free_mb=900), Thresholds(disk_reserve_mb=1000))) == ATTENTION


def test_problems_worst_first_with_messages():
    found = assess(Facts(paper="near_end", clock_trusted=False))
    assert [p.state for p in found] == [FAULT, ATTENTION]
    assert "clock" in found[0].message and "paper" in found[1].message


def test_snapshot_json_and_badge_carry_the_same_verdict(now):
    h = snapshot(Facts(dsc_days_left=10), now=now, details={"sync": {"hub_offline": False, "backlog": 0}})
    assert h.state == h.to_json()["state"] == h.badge()["state"] == ATTENTION
    assert h.to_json()["problems"] == ["the device certificate (DSC) expires in 10 days"]
    assert h.badge()["text"] == h.to_json()["problems"][0]


# ------------------------------------------------------------- the four outputs, end to end
class PaperOut:
    kind = "fake"

    def send(self, data, *, name="receipt", preview=None):
        raise AssertionError("nothing is printed here")

    def status(self):
        return PrinterStatus(True, "out", "out of paper")


def _signer_expiring(now, days: int) -> SoftwareSigner:
    key = ec.generate_private_key(ec.SECP256R1())
    return SoftwareSigner(key, make_self_signed_dsc(key, country="DE", now=now, days=days))


def _unsynced_entry(services, at) -> None:
    services.journal.append("clock_confirmed", now=at, operator="test", data={"boot_id": "x"})


def _break_chain(services, now) -> None:
    _unsynced_entry(services, now - timedelta(minutes=1))
    with sqlite3.connect(services.journal.path) as conn:
        conn.execute("UPDATE entries SET hash = ? WHERE seq = 1", ("0" * 64,))


PROBLEMS = {
    "healthy": (lambda s, now: None, {}, READY),
    "DSC expires in 10 days": (lambda s, now: None, {"dsc_days": 10}, ATTENTION),
    "DSC expired": (lambda s, now: None, {"dsc_days": -1}, FAULT),
    "clock not trusted": (lambda s, now: None, {"synchronized": False}, FAULT),
    "printer out of paper": (lambda s, now: setattr(s.printing, "printer", PaperOut()), {}, FAULT),
    "sync backlog 25 h old": (lambda s, now: _unsynced_entry(s, now - timedelta(hours=25)), {}, ATTENTION),
    "hub offline": (lambda s, now: (_unsynced_entry(s, now - timedelta(minutes=5)),
                                    s.journal.set_sync_status(last_error="refused", last_error_at=now.isoformat())),
                    {}, ATTENTION),
    "journal chain broken": (_break_chain, {}, FAULT),
}


@pytest.mark.parametrize("name", list(PROBLEMS))
def test_each_problem_gives_the_same_verdict_on_page_healthz_badge_and_lights(
        name, make_config, software_signer, now, mock_pins):
    feed, options, expected = PROBLEMS[name]
    signer = _signer_expiring(now, options["dsc_days"]) if "dsc_days" in options else software_signer
    clock = FixedClock(now, synchronized=options.get("synchronized", True))
    config = make_config({"printer": {"kind": "file"}, "gpio": {"enabled": False}})
    services = build_services(config, clock=clock, signer=signer, with_panel=False)
    gpio = type(config.gpio)(enabled=True, green=17, amber=27, red=22, button=0, buzzer=0)
    services.devices.panel = StatusPanel(gpio, pin_factory=mock_pins)
    try:
        services.settings.add_user("admin", password="a-long-admin-password", role="admin")
        feed(services, now)
        app = create_app(config, services)
        app.config.update(TESTING=True, WTF_CSRF_ENABLED=False)
        client = app.test_client()
        healthz = client.get("/healthz")
        assert healthz.get_json()["state"] == expected, healthz.get_json()["problems"]
        assert healthz.status_code == (503 if expected == FAULT else 200)
        assert client.post("/login", data={"username": "admin", "password": "a-long-admin-password"}).status_code == 302
        page = client.get("/status").get_data(as_text=True)
        assert re.search(r'<span class="state (\w+)">', page).group(1) == expected
        badge = re.search(r'id="health-badge"[^>]*data-state="(\w+)"', page)
        assert (badge.group(1) if badge else READY) == expected
        assert client.get("/status.json").get_json()["state"] == expected
        pins = {"green": mock_pins.pin(17), "amber": mock_pins.pin(27), "red": mock_pins.pin(22)}
        for pin in pins.values():
            pin.clear_states()
        assert services.show_health() == expected
        assert services.panel.state == expected
        time.sleep(0.1)                     # a blinking light switches on at once, in its own thread
        lit = {light for light, pin in pins.items() if any(s.state for s in pin.states)}
        assert lit == {{READY: "green", ATTENTION: "amber", FAULT: "red"}[expected]}
    finally:
        services.close()


@pytest.fixture
def mock_pins():
    from gpiozero.pins.mock import MockFactory, MockPWMPin

    factory = MockFactory(pin_class=MockPWMPin)
    yield factory
    factory.reset()


def test_collect_reads_the_device_and_reports_no_personal_data(make_config, software_signer, now):
    config = make_config({"printer": {"kind": "file"}, "gpio": {"enabled": False}})
    services = build_services(config, clock=FixedClock(now), signer=software_signer, with_panel=False)
    try:
        h = health.collect(services, now=now)
        assert h.state == READY and h.facts.key_ok is True and h.facts.clock_trusted is True
        assert h.facts.dsc_days_left == 730                 # the test DSC is made at NOW for 730 days
        assert h.details["signer"]["kid"] and h.details["device_id"] == config.device.id
        assert h.details["sync"]["backlog"] == 0 and h.details["sync"]["backlog_age_s"] is None
    finally:
        services.close()
