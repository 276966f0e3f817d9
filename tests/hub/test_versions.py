"""The device reports its software and reference-data versions with every batch
(``X-Appliance-Software``, ``X-Appliance-Reference``); the hub keeps them per device, shows them in
``hub devices`` / ``hub device show`` and on the status page, and lists the devices on an old
software version. On both engines, through a real HTTP server and the device's real client."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timezone
from importlib import metadata

import pytest
from werkzeug.serving import make_server

from appliance.devices.hub_client import HttpHubClient
from appliance.reference import store as reference_store
from appliance.sync import batches, versions
from appliance.sync.agent import SyncAgent
from tests.support import reference as R
from tests.support.cli import appliance_env, run_appliance, write_config
from tests.support.clock import NOW
from tests.support.journal import issue_specs, make_entries


@pytest.fixture
def live_hub(hub_app):
    server = make_server("127.0.0.1", 0, hub_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_the_device_reports_its_versions_with_every_push_and_the_hub_keeps_them(
        tmp_path, state_dir, journal, device_config, software_signer, hub_store, registered, live_hub):
    assert versions.headers(state_dir) == {"X-Appliance-Software": metadata.version("appliance"),
                                           "X-Appliance-Reference": "none"}
    journal.append_bulk(issue_specs(3, software_signer), now=NOW, operator="staff1")
    client = HttpHubClient(live_hub, report=versions.reporter(state_dir))
    try:
        assert SyncAgent(device_config, journal, software_signer, client).run_once()
        device = hub_store.device(registered)
        assert (device["software_version"], device["refdata_version"]) == (metadata.version("appliance"), "none")

        kit = R.ReferenceKit.make()                      # a real signed bundle, installed as a sync would
        bundle = kit.bundle(valuesets=R.new_valuesets(tmp_path / "vs"), rules=R.rules_folder(tmp_path / "rules", "EU"))
        reference_store.install(state_dir, bundle, anchor=kit.anchor, now=datetime.now(timezone.utc), source="test")
        installed = reference_store.versions(state_dir)
        journal.append_bulk(issue_specs(2, software_signer, start=4), now=NOW, operator="staff1")
        assert SyncAgent(device_config, journal, software_signer, client).run_once()
    finally:
        client.close()
    want = "+".join(f"{kind}:{n}" for kind, n in installed.items() if n)
    assert "valuesets:" in want and hub_store.device(registered)["refdata_version"] == want


def _push(client, device: str, software: str | None, signer, entries=None) -> None:
    headers = {"X-Appliance-Software": software, "X-Appliance-Reference": "valuesets:4"} if software else {}
    data = batches.sign_batch(entries or make_entries(2), device_id=device, signer=signer, now=NOW)
    response = client.post(f"/api/v1/devices/{device}/batches", data=data, content_type="application/cose",
                           headers=headers)
    assert response.status_code == 200, response.get_json()


def test_the_office_lists_devices_on_an_old_software_version(tmp_path, hub_app, hub_store, hub_config,
                                                             software_signer, auth):
    client = hub_app.test_client()
    reported = {"dev-a": "1.9.3", "dev-b": "1.10.0", "dev-c": "1.10.0rc1", "dev-d": None, "dev-e": "2.0"}
    for device, software in reported.items():
        hub_store.register_device(device, software_signer.certificate, now=NOW, region="Nord")
        _push(client, device, software, software_signer)
    first = make_entries(2)                             # a later batch without headers keeps the version
    more = make_entries(1, start=3, prev_hash=first[-1]["hash"])
    _push(client, "dev-e", None, software_signer, entries=first + more)
    assert hub_store.device("dev-e")["software_version"] == "2.0"

    old = client.get("/api/v1/devices?software_below=1.10.0", headers=auth).get_json()["devices"]
    assert [d["device_id"] for d in old] == ["dev-a", "dev-d"]       # 1.9 < 1.10; never reported counts as old
    assert [d["device_id"] for d in client.get("/api/v1/devices?software_below=2&region=Nord",
                                               headers=auth).get_json()["devices"]] == ["dev-a", "dev-b", "dev-c",
                                                                                        "dev-d"]
    bad = client.get("/api/v1/devices?software_below=%3Cscript%3E", headers=auth)
    assert bad.status_code == 400 and "software_below" in bad.get_json()["error"]

    page = client.get("/?software_below=1.10.0", headers=auth).get_data(as_text=True)
    assert "<td>dev-a</td>" in page and "<td>dev-b</td>" not in page and 'value="1.10.0"' in page
    assert "<td>1.9.3</td>" in page
    assert "<td>valuesets:4</td>" in page
    assert client.get("/?software_below=%3Cx%3E", headers=auth).status_code == 400

    env = appliance_env(write_config(tmp_path / "office.toml", f'[hub]\ndatabase = "{hub_config.hub.database}"\n'),
                        hub_config.state_dir)
    r = run_appliance("hub", "devices", "--software-below", "1.10", env=env)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert "software" in lines[0] and "reference data" in lines[0]
    assert [ln.split()[0] for ln in lines[1:]] == ["dev-a", "dev-d"] and "1.9.3" in lines[1] and "valuesets:4" in lines[1]
    r = run_appliance("hub", "device", "show", "dev-b", "--json", env=env)
    shown = json.loads(r.stdout)
    assert (shown["software_version"], shown["refdata_version"]) == ("1.10.0", "valuesets:4")
    r = run_appliance("hub", "devices", "--software-below", "a b", env=env)
    assert r.returncode == 2 and "--software-below" in r.stderr and "Traceback" not in r.stderr
