"""Issue 11, finding 9 (rest): ``GET /api/v1/devices/<id>`` shows a device's progress only to a
request the device signed (fresh, not replayed); every other request gets the unknown-id answer.
Runs on both hub engines."""

from __future__ import annotations

from datetime import timedelta

from appliance.devices.hub_client import InProcessHubClient
from appliance.devices.signer import SoftwareSigner
from appliance.sync import batches
from appliance.sync.agent import SyncAgent
from appliance.sync.status_request import sign_status_request
from tests.support.clock import NOW
from tests.support.hub_kit import DEVICE
from tests.support.journal import make_entries


def _get(client, device: str = DEVICE, credential: str | None = None) -> dict:
    r = client.get(f"/api/v1/devices/{device}", headers={"Authorization": credential} if credential else {})
    assert r.status_code == 200
    return r.get_json()


def _unknown(device: str = DEVICE) -> dict:
    return {"device_id": device, "acknowledged_seq": 0, "entries": 0, "chain_ok": True, "last_seen": None}


def test_only_the_device_itself_sees_its_progress(hub_app, registered, software_signer):
    client = hub_app.test_client()
    data = batches.sign_batch(make_entries(7), device_id=DEVICE, signer=software_signer, now=NOW)
    assert client.post(f"/api/v1/devices/{DEVICE}/batches", data=data,
                       content_type="application/cose").status_code == 200
    signed = sign_status_request(DEVICE, software_signer, now=NOW)
    mine = _get(client, credential=signed)
    assert (mine["acknowledged_seq"], mine["entries"]) == (7, 7) and mine["last_seen"]

    other = SoftwareSigner.generate(now=NOW)
    refused = {
        "anonymous": _get(client),
        "replayed": _get(client, credential=signed),
        "another key": _get(client, credential=sign_status_request(DEVICE, other, now=NOW)),
        "stale": _get(client, credential=sign_status_request(DEVICE, software_signer, now=NOW - timedelta(minutes=6))),
        "future": _get(client, credential=sign_status_request(DEVICE, software_signer, now=NOW + timedelta(minutes=6))),
        "for another id": _get(client, credential=sign_status_request("dev-9999", software_signer, now=NOW)),
        "garbage": _get(client, credential="Device AAAA"),
        "bearer garbage": _get(client, credential="Bearer nonsense"),
        "tampered": _get(client, credential=sign_status_request(DEVICE, software_signer, now=NOW)[:-4] + "AAAA"),
    }
    for what, answer in refused.items():
        assert answer == _unknown(), what
    # an unknown id, asked the same ways, answers the same
    assert _get(client, "nobody") == _unknown("nobody")
    assert _get(client, "nobody", sign_status_request("nobody", software_signer, now=NOW)) == _unknown("nobody")
    # within the skew a fresh request still works
    fresh = sign_status_request(DEVICE, software_signer, now=NOW - timedelta(minutes=4))
    assert _get(client, credential=fresh)["acknowledged_seq"] == 7


def test_the_agent_signs_its_status_request_and_resumes_where_the_hub_stopped(hub_app, registered, software_signer,
                                                                               device_config, journal, clock):
    for n in range(12):
        journal.append("note", now=NOW, operator="staff1", data={"n": n})
    agent = SyncAgent(device_config, journal, software_signer, InProcessHubClient(hub_app), clock=clock)
    assert agent.run_once() and journal.get_acknowledged() == 12
    journal.set_acknowledged(0)                         # the device forgot; the hub tells it (signed)
    seen = []
    client = InProcessHubClient(hub_app)
    real = client.acknowledged
    client.acknowledged = lambda device_id, credential=None: seen.append(credential(None)) or real(device_id, credential)
    pushed = []
    client.push = lambda device_id, data: pushed.append(data)
    assert SyncAgent(device_config, journal, software_signer, client, clock=clock).run_once()
    assert seen and seen[0].startswith("Device ") and journal.get_acknowledged() == 12
    assert pushed == []                                 # it resumed at 12: nothing sent again
    assert hub_app.config["HUB_STORE"].device(DEVICE)["entry_count"] == 12


def test_a_device_whose_clock_is_off_still_resumes_at_the_hubs_time(hub_app, registered, software_signer,
                                                                     device_config, journal, clock, caplog):
    for n in range(5):
        journal.append("note", now=NOW, operator="staff1", data={"n": n})
    assert SyncAgent(device_config, journal, software_signer, InProcessHubClient(hub_app), clock=clock).run_once()
    journal.set_acknowledged(0)
    clock.step(timedelta(days=2))                       # the device's clock is two days ahead of the hub's
    client = InProcessHubClient(hub_app)
    pushed = []
    client.push = lambda device_id, data: pushed.append(data)
    assert SyncAgent(device_config, journal, software_signer, client, clock=clock).run_once()
    assert pushed == [] and journal.get_acknowledged() == 5
    assert "differs from the hub's" in caplog.text
    r = hub_app.test_client().get("/api/v1/devices/nobody")
    assert r.headers["X-Hub-Time"] == str(int(NOW.timestamp()))   # told to everyone alike
