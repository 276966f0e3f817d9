"""Rows of the device's journal tampered with after they were written: the hub refuses them."""

from __future__ import annotations

import sqlite3

import pytest

from appliance.devices.hub_client import InProcessHubClient
from appliance.sync.agent import SyncAgent
from tests.support.clock import NOW
from tests.support.hub_kit import DEVICE
from tests.support.journal import issue_specs

COLS = ("seq, time, kind, operator, type, uvci, kid, hash_uci, hash_countrycodeuci, hash_signature, data, "
        "prev_hash, hash")


def _edit(db):
    db.execute("UPDATE entries SET operator = 'mallory' WHERE seq = 13")


def _delete(db):
    db.execute("DELETE FROM entries WHERE seq = 13")


def _insert(db):
    for seq in (15, 14, 13):
        db.execute("UPDATE entries SET seq = seq + 1 WHERE seq = ?", (seq,))
    db.execute(f"INSERT INTO entries ({COLS}) SELECT 13, time, kind, operator, type, 'URN:UVCI:FORGED', kid, "
               "hash_uci, hash_countrycodeuci, hash_signature, data, prev_hash, hash FROM entries WHERE seq = 12")


def _reorder(db):
    db.execute("UPDATE entries SET seq = -1 WHERE seq = 13")
    db.execute("UPDATE entries SET seq = 13 WHERE seq = 14")
    db.execute("UPDATE entries SET seq = 14 WHERE seq = -1")


@pytest.mark.parametrize("tamper, reason", [(_edit, "seq 13: hash does not match"),
                                            (_delete, "expected 13"),
                                            (_insert, "seq 13: prev_hash"),
                                            (_reorder, "seq 13: prev_hash")],
                         ids=["edit", "delete", "insert", "reorder"])
def test_tampered_journal_rows_are_refused_by_the_hub(device_config, journal, software_signer, hub_app,
                                                      registered, tamper, reason):
    journal.append_bulk(issue_specs(10, software_signer), now=NOW, operator="staff1")
    agent = SyncAgent(device_config, journal, software_signer, InProcessHubClient(hub_app))
    assert agent.run_once()
    synced = hub_app.config["HUB_STORE"].entries(DEVICE)
    journal.append_bulk(issue_specs(5, software_signer, start=11), now=NOW, operator="staff1")

    db = sqlite3.connect(journal.path, isolation_level=None)
    for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
        db.execute(f"DROP TRIGGER {name}")         # an attacker with the file is not stopped by triggers
    tamper(db)
    db.close()

    assert agent.run_once() is False
    error = journal.get_sync_status()["last_error"]
    assert "(400)" in error and reason in error, error
    assert hub_app.config["HUB_STORE"].entries(DEVICE) == synced
    assert journal.get_acknowledged() == 10
