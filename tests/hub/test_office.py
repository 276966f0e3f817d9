"""The central office's view: keyset pages, filters, the incremental revocation export, the SVG
chart, the status page, and ``appliance hub devices | device show | clear-fork``."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from appliance.journal import chain
from appliance.sync import batches
from tests.support.cli import appliance_env, run_appliance, write_config
from tests.support.clock import NOW
from tests.support.hub_kit import DEVICE
from tests.support.journal import make_entries


def _post(client, data: bytes, device: str = DEVICE, **headers):
    return client.post(f"/api/v1/devices/{device}/batches", data=data, content_type="application/cose",
                       headers=headers)


def _fleet(hub_store, software_signer) -> list[str]:
    ids = [f"dev-{i:04d}" for i in range(1, 6)]
    for i, device in enumerate(ids):
        hub_store.register_device(device, software_signer.certificate, now=NOW, region="Nord" if i % 2 else "Sued",
                                  centre=f"Zentrum {i % 3}")
    return ids


def test_devices_come_in_keyset_pages_and_filter_by_region_and_centre(hub_app, hub_store, software_signer, auth):
    ids = _fleet(hub_store, software_signer)
    client, seen, after = hub_app.test_client(), [], ""
    while True:
        page = client.get(f"/api/v1/devices?limit=2&after={after}", headers=auth).get_json()
        seen += [d["device_id"] for d in page["devices"]]
        if page["next"] is None:
            break
        after = page["next"]
    assert seen == ids
    nord = client.get("/api/v1/devices?region=Nord", headers=auth).get_json()["devices"]
    assert [d["device_id"] for d in nord] == ["dev-0002", "dev-0004"]
    assert client.get("/api/v1/devices?limit=0", headers=auth).status_code == 400


def test_entries_pages_and_the_incremental_revocation_export(hub_app, registered, software_signer, auth):
    client = hub_app.test_client()
    issued = make_entries(6)
    assert _post(client, batches.sign_batch(issued, device_id=DEVICE, signer=software_signer, now=NOW)).status_code == 200
    page = client.get(f"/api/v1/devices/{DEVICE}/entries?limit=4", headers=auth).get_json()
    assert [e["seq"] for e in page["entries"]] == [1, 2, 3, 4] and page["next"] == 4
    rest = client.get(f"/api/v1/devices/{DEVICE}/entries?after=4&limit=4", headers=auth).get_json()
    assert [e["seq"] for e in rest["entries"]] == [5, 6] and rest["next"] is None

    prev = issued[-1]["hash"]
    for seq, target in ((7, issued[0]), (8, issued[1])):
        entry = {"seq": seq, "time": "2026-11-28T12:00:00Z", "kind": "revoked", "operator": "op-1", "type": "v",
                 "uvci": target["uvci"], "kid": "AAAAAAAAAAA=", "hash_uci": f"{seq:02d}" + "A" * 20 + "==",
                 "hash_countrycodeuci": None, "hash_signature": None, "data": {}, "prev_hash": prev}
        entry["hash"] = prev = chain.entry_hash(entry)
        assert _post(client, batches.sign_batch([entry], device_id=DEVICE, signer=software_signer,
                                                now=NOW)).status_code == 200
        if seq == 7:
            first = client.get("/api/v1/revocations?hashType=UCI", headers=auth).get_json()
    assert [b["entries"] for b in first["batches"]] == [[{"hash": "07" + "A" * 20 + "=="}]]
    since = client.get(f"/api/v1/revocations?hashType=UCI&since={first['next']}", headers=auth).get_json()
    assert [b["entries"] for b in since["batches"]] == [[{"hash": "08" + "A" * 20 + "=="}]]
    assert since["more"] is False
    nothing = client.get(f"/api/v1/revocations?since={since['next']}", headers=auth).get_json()
    assert nothing["batches"] == [] and nothing["next"] == since["next"]


def test_the_chart_is_svg_per_centre_and_type_and_the_status_page_shows_the_fleet(hub_app, hub_store,
                                                                                 software_signer, auth):
    ids = _fleet(hub_store, software_signer)
    client = hub_app.test_client()
    tests = [dict(e, type="t") for e in make_entries(3)]
    prev = chain.GENESIS
    for e in tests:
        e["prev_hash"] = prev
        e["hash"] = prev = chain.entry_hash(e)
    assert _post(client, batches.sign_batch(make_entries(4), device_id=ids[0], signer=software_signer, now=NOW),
                 device=ids[0], **{"X-Appliance-Software": "1.4.2", "X-Appliance-Reference": "2026-11-27"}
                 ).status_code == 200
    assert _post(client, batches.sign_batch(tests, device_id=ids[1], signer=software_signer, now=NOW),
                 device=ids[1]).status_code == 200
    svg = client.get("/api/v1/stats/chart.svg", headers=auth)
    assert svg.mimetype == "image/svg+xml"
    root = ET.fromstring(svg.get_data(as_text=True))
    titles = [t.text for t in root.iter("{http://www.w3.org/2000/svg}title")]
    assert "Zentrum 0 2026-11-28 vaccination: 4" in titles and "Zentrum 1 2026-11-28 test: 3" in titles
    page = client.get("/?centre=Zentrum%200", headers=auth).get_data(as_text=True)
    assert ids[0] in page and ids[1] not in page and "1.4.2" in page and "2026-11-27" in page
    assert "<svg" in page and str(software_signer.certificate.not_valid_after_utc.date()) in page


def _cli_env(tmp_path, hub_config) -> dict:
    config = write_config(tmp_path / "office.toml", f'[hub]\ndatabase = "{hub_config.hub.database}"\n')
    return appliance_env(config, hub_config.state_dir)


def test_hub_devices_show_and_clear_fork_on_the_command_line(tmp_path, hub_config, hub_app, hub_store, registered,
                                                            software_signer):
    client = hub_app.test_client()
    entries = make_entries(4)
    _post(client, batches.sign_batch(entries, device_id=DEVICE, signer=software_signer, now=NOW))
    fork = [dict(entries[0], operator="someone-else")]
    fork[0]["hash"] = chain.entry_hash(fork[0])
    assert _post(client, batches.sign_batch(fork, device_id=DEVICE, signer=software_signer, now=NOW)).status_code == 409
    env = _cli_env(tmp_path, hub_config)
    r = run_appliance("hub", "devices", "--json", env=env)
    assert r.returncode == 0, r.stderr
    listed = json.loads(r.stdout)
    assert [(d["device_id"], d["chain_ok"], d["flag"]) for d in listed] == [(DEVICE, False, "fork")]
    r = run_appliance("hub", "device", "show", DEVICE, env=env)
    assert r.returncode == 0 and "fork at seq 1" in r.stdout and "stored chain: intact" in r.stdout, r.stdout
    r = run_appliance("hub", "clear-fork", DEVICE, "--reason", "device re-imaged, checked by the office", env=env)
    assert r.returncode == 0 and "cleared" in r.stdout, r.stderr
    r = run_appliance("hub", "device", "show", DEVICE, "--json", env=env)
    shown = json.loads(r.stdout)
    assert shown["chain_ok"] is True and shown["flag"] is None
    assert [e["kind"] for e in shown["events"]] == ["flag:fork", "clear-flag"]
    assert shown["events"][1]["reason"] == "device re-imaged, checked by the office"
    r = run_appliance("hub", "clear-fork", DEVICE, "--reason", "again", env=env)
    assert r.returncode == 1 and "not flagged" in r.stderr and "Traceback" not in r.stderr
    r = run_appliance("hub", "device", "show", "nobody", env=env)
    assert r.returncode == 1 and "not registered" in r.stderr
