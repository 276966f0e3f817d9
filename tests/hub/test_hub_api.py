"""The hub's batch endpoint and read API, through the Flask test client."""

from __future__ import annotations

import dataclasses

import cbor2
import pytest

from appliance.sync import batches
from appliance.sync.status_request import sign_status_request
from appliance.journal import chain
from appliance.devices.signer import SoftwareSigner
from tests.support.clock import NOW
from tests.support.hub_kit import DEVICE, raw_signed_batch
from tests.support.journal import make_entries


def post(client, data: bytes, device: str = DEVICE):
    return client.post(f"/api/v1/devices/{device}/batches", data=data, content_type="application/cose")


def signed(entries, signer, device: str = DEVICE) -> bytes:
    return batches.sign_batch(entries, device_id=device, signer=signer, now=NOW)


def status(client, device: str = DEVICE, signer=None) -> dict:
    """The device's status as the device itself asks for it (a request signed by ``signer``)."""
    headers = {"Authorization": sign_status_request(device, signer, now=NOW)} if signer is not None else {}
    r = client.get(f"/api/v1/devices/{device}", headers=headers)
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def test_device_status_shape_and_batch_acceptance(hub_app, registered, software_signer):
    client = hub_app.test_client()
    assert status(client, signer=software_signer) == {"device_id": DEVICE, "acknowledged_seq": 0, "entries": 0,
                              "chain_ok": True, "last_seen": None}
    entries = make_entries(10)
    r = post(client, signed(entries[:6], software_signer))
    assert r.status_code == 200 and r.get_json()["acknowledged_seq"] == 6
    r = post(client, signed(entries[6:], software_signer))
    assert r.get_json() == {"acknowledged_seq": 10, "stored": 4}
    got = status(client, signer=software_signer)
    assert (got["acknowledged_seq"], got["entries"], got["chain_ok"]) == (10, 10, True)
    assert got["last_seen"].startswith("2026-11-28T10:00")
    assert hub_app.config["HUB_STORE"].entries(DEVICE) == entries


def test_resent_and_overlapping_batches_are_no_ops(hub_app, registered, software_signer):
    client = hub_app.test_client()
    entries = make_entries(8)
    first = signed(entries[:5], software_signer)
    assert post(client, first).status_code == 200
    r = post(client, first)
    assert r.status_code == 200 and r.get_json() == {"acknowledged_seq": 5, "stored": 0}
    r = post(client, signed(entries[3:], software_signer))       # overlaps 4..5, adds 6..8
    assert r.get_json() == {"acknowledged_seq": 8, "stored": 3}
    assert hub_app.config["HUB_STORE"].entries(DEVICE) == entries


def test_unknown_device_cannot_send_and_is_not_told_apart_from_a_known_one(hub_app, registered, software_signer,
                                                                           auth):
    client = hub_app.test_client()
    unknown, known = client.get("/api/v1/devices/nobody"), client.get(f"/api/v1/devices/{DEVICE}")
    assert unknown.status_code == known.status_code == 200
    assert dict(unknown.get_json(), device_id=DEVICE) == known.get_json()
    assert client.get("/api/v1/devices/nobody", headers=auth).status_code == 404
    r = post(client, signed(make_entries(1), software_signer, device="nobody"), device="nobody")
    assert r.status_code == 403 and "not registered" in r.get_json()["error"]


def _bad_batches(signer, other):
    good = make_entries(4)
    edited = [dict(e) for e in good]
    edited[2]["operator"] = "mallory"                 # content changed, hash left alone
    rehashed_gap = make_entries(3)
    return {
        "garbage": (b"not cbor \xff", 400, "malformed"),
        "unsigned": (cbor2.dumps(cbor2.CBORTag(18, [cbor2.dumps({1: -7, 4: signer.kid}), {},
                                                    cbor2.dumps({"entries": good}), b""])), 400, "unsigned"),
        "other key": (signed(good, other), 403, "another key"),
        "forged signature": (cbor2.dumps(cbor2.CBORTag(18, [cbor2.dumps({1: -7, 4: signer.kid}), {},
                                                             cbor2.dumps({"device_id": DEVICE, "created": 0,
                                                                          "first_seq": 1, "last_seq": 4,
                                                                          "entries": good}), b"\x01" * 64])),
                             403, "does not verify"),
        "other device's batch": (signed(good, signer, device="dev-9999"), 400, "sent for"),
        "edited entry": (signed(edited, signer), 400, "seq 3: hash does not match"),
        "deleted entry": (raw_signed_batch({"device_id": DEVICE, "created": 0, "first_seq": 1, "last_seq": 4,
                                            "entries": good[:2] + good[3:]}, signer), 400, "expected 3"),
        "inserted entry": (raw_signed_batch({"device_id": DEVICE, "created": 0, "first_seq": 1, "last_seq": 5,
                                             "entries": good[:2] + make_entries(1, start=3) + good[2:]}, signer),
                           400, "expected 4"),
        "reordered": (raw_signed_batch({"device_id": DEVICE, "created": 0, "first_seq": 1, "last_seq": 4,
                                        "entries": [good[0], good[2], good[1], good[3]]}, signer), 400,
                      "expected 2"),
        "renumbered after delete": (signed([dict(e, seq=i + 1) for i, e in enumerate(good[:1] + good[2:])],
                                           signer), 400, "seq 2: prev_hash"),
        "out of order": (signed(make_entries(2, start=3, prev_hash=rehashed_gap[1]["hash"]), signer),
                         400, "out-of-order"),
        "not first": (signed(make_entries(2, start=1, prev_hash="1" * 64), signer), 400, "seq 1: prev_hash"),
        "too many entries": (signed(make_entries(6), signer), 413, "limit is 5"),
        "too many bytes": (b"\x00" * (batches.MAX_BATCH_BYTES + 10), 413, "bytes"),
    }


BAD = list(_bad_batches(SoftwareSigner.generate(now=NOW), SoftwareSigner.generate(now=NOW)))


@pytest.mark.parametrize("kind", BAD)
def test_bad_batch_gets_4xx_with_reason_and_nothing_is_stored(hub_config, software_signer, kind):
    from appliance.hub import create_hub_app

    app = create_hub_app(hub_config.replace(hub=dataclasses.replace(hub_config.hub, max_batch=5)), now=lambda: NOW)
    store = app.config["HUB_STORE"]
    store.register_device(DEVICE, software_signer.certificate, now=NOW)
    data, code, reason = _bad_batches(software_signer, SoftwareSigner.generate(now=NOW))[kind]
    r = post(app.test_client(), data)
    assert r.status_code == code, r.get_json()
    assert reason in r.get_json()["error"]
    assert store.count(DEVICE) == 0
    assert store.device(DEVICE)["acknowledged_seq"] == 0
    assert store.device(DEVICE)["fork_flag"] == 0
    store.close()


def test_bad_batch_after_good_one_leaves_the_store_as_it_was(hub_app, registered, software_signer):
    client = hub_app.test_client()
    entries = make_entries(6)
    post(client, signed(entries[:3], software_signer))
    tampered = [dict(e) for e in entries[3:]]
    tampered[1]["data"] = {"mp": "EU/1/20/1507", "dn": 2}
    r = post(client, signed(tampered, software_signer))
    assert r.status_code == 400 and "seq 5" in r.get_json()["error"]
    assert hub_app.config["HUB_STORE"].entries(DEVICE) == entries[:3]
    assert status(client, signer=software_signer)["acknowledged_seq"] == 3


def test_fork_is_refused_and_flagged(hub_app, registered, software_signer, auth):
    client = hub_app.test_client()
    entries = make_entries(5)
    post(client, signed(entries, software_signer))
    fork = make_entries(3)
    fork[2] = dict(fork[2], operator="other")
    fork[2]["hash"] = chain.entry_hash(fork[2])       # a consistent but different history
    r = post(client, signed(fork, software_signer))
    assert r.status_code == 409 and "fork at seq 3" in r.get_json()["error"]
    assert hub_app.config["HUB_STORE"].entries(DEVICE) == entries
    got = status(client, signer=software_signer)
    assert got["chain_ok"] is False and got["acknowledged_seq"] == 5
    listed = client.get("/api/v1/devices", headers=auth).get_json()["devices"][0]
    assert listed["fork"] is True and "seq 3" in listed["fork_detail"]
    # further entries are refused until someone resolves it
    r = post(client, signed(make_entries(1, start=6, prev_hash=entries[-1]["hash"]), software_signer))
    assert r.status_code == 409


def test_read_api_and_status_page_need_the_token(hub_app, registered, auth):
    client = hub_app.test_client()
    for path in ("/", "/api/v1/devices", "/api/v1/revocations", "/api/v1/stats/daily",
                 f"/api/v1/devices/{DEVICE}/entries"):
        r = client.get(path)
        assert r.status_code == 401, path
        assert client.get(path, headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert client.get(path, headers=auth).status_code == 200, path
    import base64

    basic = base64.b64encode(f"office:{hub_app.config['HUB_TOKEN']}".encode()).decode()
    assert client.get("/", headers={"Authorization": f"Basic {basic}"}).status_code == 200


def test_status_page_lists_devices_with_gaps_and_chain_state(hub_app, registered, software_signer, auth):
    client = hub_app.test_client()
    post(client, signed(make_entries(7), software_signer))
    page = client.get("/", headers=auth).get_data(as_text=True)
    assert DEVICE in page and "<td>7</td>" in page and "<td>ok</td>" in page
    # tamper with the hub's own store: the status page must show it
    store = hub_app.config["HUB_STORE"]
    with store.transaction() as conn:
        conn.execute("UPDATE entries SET operator = 'x' WHERE seq = 4")
        conn.execute("DELETE FROM entries WHERE seq = 6")
        conn.execute("UPDATE devices SET acknowledged_seq = acknowledged_seq")
    assert store.audit(DEVICE)[0] == 4                 # the audit re-reads the stored chain
    listed = client.get("/api/v1/devices", headers=auth).get_json()["devices"][0]
    assert listed["chain_ok"] is False and listed["gaps"] == 1 and "seq 4" in listed["chain_error"]
    assert "BROKEN" in client.get("/", headers=auth).get_data(as_text=True)
