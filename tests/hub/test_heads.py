"""The hub's side of the signed journal heads: pinning, backlog, rollback, fork, and the device's
real journal and agent rewriting an already-synced entry."""

from __future__ import annotations

import sqlite3

from appliance.devices.hub_client import InProcessHubClient
from appliance.devices.signer import SoftwareSigner
from appliance.journal.journal import Journal
from appliance.sync import batches
from appliance.sync.agent import SyncAgent
from tests.support.clock import NOW
from tests.support.hub_batches import head_of, journal_key, later, with_head
from tests.support.hub_kit import DEVICE
from tests.support.journal import issue_specs, make_entries


def post(client, data: bytes):
    return client.post(f"/api/v1/devices/{DEVICE}/batches", data=data, content_type="application/cose")


def full(client, auth) -> dict:
    return client.get(f"/api/v1/devices/{DEVICE}", headers=auth).get_json()


def test_heads_are_kept_and_give_the_backlog(hub_app, hub_store, registered, software_signer, auth):
    client, jkey = hub_app.test_client(), journal_key()
    entries = make_entries(8)
    r = post(client, with_head(entries[:5], software_signer, jkey, head=head_of(jkey, 8, entries[7]["hash"])))
    assert r.status_code == 200, r.get_json()
    got = full(client, auth)
    assert (got["head_seq"], got["backlog"], got["chain_ok"]) == (8, 3, True)
    assert set(hub_app.test_client().get(f"/api/v1/devices/{DEVICE}").get_json()) == {
        "device_id", "acknowledged_seq", "entries", "chain_ok", "last_seen"}
    assert post(client, with_head(entries[5:], software_signer, jkey, at=later(5))).status_code == 200
    assert full(client, auth)["backlog"] == 0
    assert [h["seq"] for h in hub_store.heads(DEVICE)] == [8]


def test_the_first_journal_key_is_pinned_and_another_refused(hub_app, hub_store, registered, software_signer):
    client, jkey = hub_app.test_client(), journal_key()
    entries = make_entries(4)
    assert post(client, with_head(entries[:2], software_signer, jkey)).status_code == 200
    r = post(client, with_head(entries[2:], software_signer, journal_key(), at=later(3)))
    assert r.status_code == 403 and "another journal key" in r.get_json()["error"]
    assert hub_store.count(DEVICE) == 2


def test_a_head_that_does_not_verify_is_refused(hub_app, hub_store, registered, software_signer):
    client, jkey = hub_app.test_client(), journal_key()
    entries = make_entries(2)
    forged = dict(head_of(jkey, 2, entries[1]["hash"]), sig=b"\x02" * 64)
    r = post(client, with_head(entries, software_signer, jkey, head=forged))
    assert r.status_code == 403 and "does not verify" in r.get_json()["error"]
    assert hub_store.count(DEVICE) == 0


def test_a_lower_head_signed_later_is_a_rollback_an_earlier_one_a_delayed_request(hub_app, hub_store, registered,
                                                                                  software_signer, auth):
    client, jkey = hub_app.test_client(), journal_key()
    entries = make_entries(6)
    assert post(client, with_head(entries, software_signer, jkey, at=later(60))).status_code == 200
    stale = with_head(entries[:3], software_signer, jkey, at=later(30))          # signed before the newest head
    assert post(client, stale).status_code == 200 and full(client, auth)["chain_ok"] is True
    truncated = with_head(entries[:3], software_signer, jkey, at=later(90))      # signed after it: entries gone
    r = post(client, truncated)
    assert r.status_code == 409 and "rollback" in r.get_json()["error"]
    got = full(client, auth)
    assert got["chain_ok"] is False and got["flag"] == "rollback"
    assert hub_store.count(DEVICE) == 6


def test_a_head_that_contradicts_a_stored_entry_is_a_fork(hub_app, registered, software_signer, auth):
    client, jkey = hub_app.test_client(), journal_key()
    entries = make_entries(5)
    assert post(client, batches.sign_batch(entries, device_id=DEVICE, signer=software_signer, now=NOW)).status_code == 200
    r = post(client, with_head(entries[:2], software_signer, jkey, head=head_of(jkey, 4, "ab" * 32, at=later(9))))
    assert r.status_code == 409 and "fork at seq 4" in r.get_json()["error"]
    assert full(client, auth)["flag"] == "fork"


def test_entries_that_arrive_after_a_head_must_match_it(hub_app, hub_store, registered, software_signer, auth):
    client, jkey = hub_app.test_client(), journal_key()
    entries = make_entries(6)
    promised = head_of(jkey, 6, "cd" * 32)                                  # the device signed another seq 6
    assert post(client, with_head(entries[:3], software_signer, jkey, head=promised)).status_code == 200
    r = post(client, with_head(entries[3:], software_signer, jkey, head=promised))
    assert r.status_code == 409 and "fork at seq 6" in r.get_json()["error"]
    assert hub_store.count(DEVICE) == 3 and full(client, auth)["chain_ok"] is False


def test_an_already_synced_entry_rewritten_on_the_device_is_flagged_at_the_next_sync(tmp_path, device_config,
                                                                                    hub_app, hub_store, auth):
    state = device_config.state_dir
    signer = SoftwareSigner.open(state, now=NOW)                            # with its journal key
    hub_store.register_device(DEVICE, signer.certificate, now=NOW)
    with Journal.open(state / "journal.sqlite") as journal:
        journal.append_bulk(issue_specs(10, signer), now=NOW, operator="staff1")
        agent = SyncAgent(device_config, journal, signer, InProcessHubClient(hub_app))
        assert agent.run_once() and full(hub_app.test_client(), auth)["head_seq"] == 10
        db = sqlite3.connect(journal.path, isolation_level=None)
        for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
            db.execute(f"DROP TRIGGER {name}")                              # an attacker with the file
        db.execute("DELETE FROM entries WHERE seq = 10")                    # an already-synced entry disappears
        db.execute("DELETE FROM heads WHERE seq >= 10")
        db.close()
        journal.append_bulk(issue_specs(2, signer, start=20), now=NOW, operator="staff1")   # seq 10', 11
        assert agent.run_once() is False
    got = full(hub_app.test_client(), auth)
    assert got["chain_ok"] is False and got["flag"] == "fork" and "seq 10" in got["fork_detail"]
    assert got["acknowledged_seq"] == 10 and hub_store.count(DEVICE) == 10
