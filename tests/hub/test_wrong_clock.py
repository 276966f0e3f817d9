"""Issue 11, finding 1 (hub side): the certificates inside a ``clock_corrected`` interval are flagged
"issued under a wrong clock" on the office page, in the device's status and in the read API.
Runs on both hub engines."""

from __future__ import annotations

from datetime import timedelta

from appliance.devices.hub_client import InProcessHubClient
from appliance.sync.agent import SyncAgent
from tests.support.clock import NOW
from tests.support.hub_kit import DEVICE


def test_certificates_issued_under_a_wrong_clock_are_flagged(hub_app, registered, software_signer, device_config,
                                                              make_issuer, journal, clock, request_for, auth):
    issuer = make_issuer(config=device_config)
    good = issuer.issue(request_for("v"), operator="anna")                    # seq 1, right time
    clock.step(timedelta(days=400))
    issuer.confirm_clock(operator="admin")                                     # seq 2, the wrong time confirmed
    bad = [issuer.issue(request_for("v"), operator="anna") for _ in range(2)]  # seq 3, 4
    issuer.revoke(good.uvci, operator="admin", reason="duplicate")            # seq 5: not a certificate
    clock.set(NOW + timedelta(hours=1))
    corrected = issuer.correct_clock(operator="admin")                        # seq 6: names 2..5
    after = issuer.issue(request_for("v"), operator="anna")                  # seq 7, right time again
    assert (corrected["data"]["bad_from_seq"], corrected["data"]["bad_until_seq"]) == (2, 5)

    agent = SyncAgent(device_config, journal, software_signer, InProcessHubClient(hub_app), clock=clock)
    assert agent.run_once(), journal.get_sync_status()
    store = hub_app.config["HUB_STORE"]
    assert store.device(DEVICE)["wrong_clock_certificates"] == 2

    client = hub_app.test_client()
    status = client.get(f"/api/v1/devices/{DEVICE}", headers=auth).get_json()
    assert status["wrong_clock_certificates"] == 2
    listed = client.get("/api/v1/devices", headers=auth).get_json()["devices"][0]
    assert listed["wrong_clock_certificates"] == 2
    flagged = client.get(f"/api/v1/devices/{DEVICE}/wrong-clock", headers=auth).get_json()
    assert [(c["seq"], c["uvci"], c["corrected_by"]) for c in flagged["certificates"]] == [
        (b.seq, b.uvci, corrected["seq"]) for b in bad]
    assert good.uvci not in str(flagged) and after.uvci not in str(flagged)
    assert [(i["bad_from_seq"], i["bad_until_seq"], i["certificates"]) for i in flagged["intervals"]] == [(2, 5, 2)]
    page = client.get(f"/api/v1/devices/{DEVICE}/wrong-clock?limit=1", headers=auth).get_json()
    assert len(page["certificates"]) == 1 and page["next"] == bad[0].seq
    assert client.get(f"/api/v1/devices/{DEVICE}/wrong-clock").status_code == 401
    html = client.get("/", headers=auth).get_data(as_text=True)
    assert "2 certificate(s) issued under a wrong clock" in html


def test_a_clock_correction_that_names_no_earlier_interval_is_refused(hub_app, registered, software_signer,
                                                                       device_config, journal, clock):
    journal.append("note", now=NOW, operator="staff1", data={"n": 1})
    journal.append("clock_corrected", now=NOW, operator="admin",
                   data={"bad_from_seq": 2, "bad_until_seq": 9, "entries": 8})   # seq 2: names itself and later
    agent = SyncAgent(device_config, journal, software_signer, InProcessHubClient(hub_app), clock=clock)
    assert not agent.run_once()
    error = journal.get_sync_status()["last_error"]
    assert "400" in error and "clock_corrected" in error and "seq 2" in error
    store = hub_app.config["HUB_STORE"]
    assert store.device(DEVICE)["acknowledged_seq"] == 0 and store.clock_intervals(DEVICE) == []
