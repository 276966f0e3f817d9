"""The journal: append/read, chain, sequences, purge, search, sync state, concurrency."""

from __future__ import annotations

import socket
import sqlite3
import subprocess
import sys
import threading
from datetime import timedelta

import pytest

from appliance.journal import chain
from appliance.errors import JournalError
from appliance.journal.journal import Journal
from tests.support.cli import clean_env


def test_append_returns_the_synced_fields_and_chains(journal, now, make_issued):
    first = journal.append("issued", now=now, operator="anna", **make_issued(1))
    second = journal.append("revoked", now=now + timedelta(minutes=1), operator="ben", type="v",
                            uvci=first["uvci"], data={"reason": "typo", "fraud": False})
    assert tuple(first) == chain.FIELDS
    assert first["seq"] == 1 and first["prev_hash"] == chain.GENESIS
    assert second["seq"] == 2 and second["prev_hash"] == first["hash"]
    assert first["hash"] == chain.entry_hash(first)
    assert first["time"] == "2026-11-28T10:00:00Z"
    assert first["hash_signature"] == chain.revocation_hashes(first["uvci"], "DE", bytes([1]) * 64)["hash_signature"]
    assert journal.entries() == [first, second]
    assert journal.entries(after_seq=1) == [second]
    assert journal.entries(limit=1) == [first]
    assert journal.last_seq() == 2
    assert journal.newest_time() == now + timedelta(minutes=1)
    assert journal.verify() is None


def test_nothing_personal_in_the_synced_entries(journal, now, make_issued):
    journal.append("issued", now=now, operator="anna", **make_issued(7))
    text = repr(journal.entries())
    for personal in ("Muster7", "Erika", "1964-08-12", "HC1:"):
        assert personal not in text


def test_entries_survive_reopen_and_sequence_persists(journal_path, now, make_issued):
    with Journal.open(journal_path) as j:
        assert j.peek_sequence() == 1 and j.peek_sequence("other") == 1
        entry = j.append("issued", now=now, operator="anna", **make_issued(1), sequence=("uvci", 2))
        j.append("note", now=now, operator="anna", sequence=("uvci", 1))      # a counter never goes back
        journal_id = j.journal_id
    with Journal.open(journal_path) as j:
        assert j.peek_sequence() == 3 and j.peek_sequence("other") == 1
        assert j.entries()[0] == entry and j.last_seq() == 2
        assert j.journal_id == journal_id


def test_duplicate_idempotency_key_and_uvci_are_refused(journal, now, make_issued):
    journal.append("issued", now=now, operator="anna", **make_issued(1, key="k1"))
    with pytest.raises(JournalError):
        journal.append("issued", now=now, operator="anna", **make_issued(2, key="k1"))
    with pytest.raises(JournalError):
        journal.append("issued", now=now, operator="anna", **make_issued(1))
    assert journal.last_seq() == 1
    assert journal.by_idempotency_key("k1").uvci == make_issued(1)["uvci"]
    assert journal.by_idempotency_key("k2") is None


def test_certificate_search_and_revoked_flag(journal, now, make_issued):
    for i in (1, 2, 3):
        journal.append("issued", now=now + timedelta(hours=i), operator="anna", **make_issued(i))
    uvci2 = make_issued(2)["uvci"]
    journal.append("revoked", now=now + timedelta(hours=4), operator="ben", type="v", uvci=uvci2,
                   data={"reason": "wrong person", "fraud": True})
    rec = journal.certificate(uvci2)
    assert rec.revoked and rec.seq == 2 and rec.type == "v" and rec.operator == "anna"
    assert rec.personal["family_name"] == "Muster2"
    assert rec.expires_at.year == 2027 and rec.issued_at == now + timedelta(hours=2)
    assert journal.certificate(make_issued(1)["uvci"]).revoked is False
    assert journal.certificate("URN:UVCI:01:DE:NOPE#1") is None
    assert [r.seq for r in journal.search()] == [3, 2, 1]
    assert [r.seq for r in journal.search("muster3")] == [3]         # case-insensitive names
    assert [r.seq for r in journal.search("TEST/0000001")] == [1]     # part of the UVCI
    assert [r.seq for r in journal.search(since=now + timedelta(hours=2))] == [3, 2]
    assert journal.search("100%_") == []                               # LIKE wildcards are literal
    assert len(journal.search(limit=2)) == 2


def test_purge_removes_old_personal_rows_only(journal, now, make_issued):
    journal.append("issued", now=now - timedelta(days=20), operator="anna", **make_issued(1))
    journal.append("issued", now=now - timedelta(days=2), operator="anna", **make_issued(2))
    before = journal.entries()
    assert journal.purge(now=now, retention_days=14) == 1
    assert journal.entries() == before
    assert journal.verify() is None
    assert journal.certificate(make_issued(1)["uvci"]).personal is None
    assert journal.certificate(make_issued(2)["uvci"]).personal["family_name"] == "Muster2"
    assert journal.search("Muster1") == []
    assert journal.purge(now=now, retention_days=14) == 0
    # the purged name is gone from the database file and its WAL, not just unlinked
    raw = b"".join(p.read_bytes() for p in journal.path.parent.glob("journal.sqlite*"))
    assert b"Muster1" not in raw and b"Muster2" in raw


def test_sync_state(journal):
    assert journal.get_acknowledged() == 0 and journal.get_sync_status() == {}
    journal.set_acknowledged(5)
    journal.set_sync_status(last_success="2026-11-28T10:00:00Z", last_error=None)
    journal.set_sync_status(last_error="hub unreachable")
    assert journal.get_acknowledged() == 5
    assert journal.get_sync_status() == {"last_success": "2026-11-28T10:00:00Z", "last_error": "hub unreachable"}


def test_missing_tail_is_reported_against_the_hub_acknowledgement(journal, now, make_issued):
    for i in (1, 2, 3):
        journal.append("issued", now=now, operator="anna", **make_issued(i))
    journal.set_acknowledged(3)
    assert journal.verify() is None
    with sqlite3.connect(journal.path) as db:
        db.execute("DELETE FROM entries WHERE seq = 3")
    seq, reason = journal.verify()
    assert seq == 3 and "acknowledged" in reason


def test_wakeup_datagram_after_each_commit(journal, now, make_issued):
    path = journal.path.parent / "sync-wakeup.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as listener:
        listener.bind(str(path))
        listener.settimeout(5)
        journal.append("issued", now=now, operator="anna", **make_issued(1))
        assert listener.recv(16)
    path.unlink()
    assert journal.append("issued", now=now, operator="anna", **make_issued(2))["seq"] == 2  # no listener: committed


def test_threads_share_one_journal(journal, now, make_issued):
    def worker(base):
        for i in range(25):
            journal.append("issued", now=now, operator="t", **make_issued(base + i), sequence=("uvci", base + i + 1))

    threads = [threading.Thread(target=worker, args=(k * 100,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert journal.last_seq() == 100 and journal.verify() is None
    assert journal.peek_sequence() == 326                  # the highest number taken (300 + 25), plus one


WRITER = """
import sys
from datetime import datetime
from pathlib import Path
from appliance.journal.journal import Journal
j = Journal.open(Path(sys.argv[1]))
tag, now = sys.argv[2], datetime.fromisoformat(sys.argv[3])
offset = 0 if tag == "a" else 60
for i in range(60):
    j.append("note", now=now, operator=tag, data={"i": i},
             sequence=("uvci", offset + i + 1))
j.close()
"""


def test_two_processes_append_to_one_file(journal_path, now):
    Journal.open(journal_path).close()
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(journal_path), tag, now.isoformat()], env=clean_env())
             for tag in ("a", "b")]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    with Journal.open(journal_path) as j:
        assert j.last_seq() == 120 and j.verify() is None
        assert j.peek_sequence() == 121
        assert sorted(e["operator"] for e in j.entries()).count(j.operator_pseudonym("a")) == 60


def test_bulk_append_is_one_chain(journal, now):
    last = journal.append_bulk(({"kind": "note", "data": {"i": i}} for i in range(500)), now=now, operator="bench")
    assert last == 500 and journal.verify() is None


def test_bulk_append_rolls_back_as_a_whole(journal, now, make_issued):
    specs = [{"kind": "issued", **make_issued(1)}, {"kind": "issued", **make_issued(1)}]  # duplicate uvci
    with pytest.raises(JournalError):
        journal.append_bulk(specs, now=now, operator="bench")
    assert journal.last_seq() == 0
    assert journal.append("note", now=now, operator="x")["seq"] == 1


def test_same_person_is_found_through_the_index(tmp_path, now):
    from datetime import timedelta

    from appliance.journal.journal import Journal

    with Journal.open(tmp_path / "j.sqlite") as j:
        def issue(i, fnt, gnt, dob, when):
            j.append("issued", now=when, operator="t", type="v", uvci=f"URN:UVCI:01:DE:X/{i}", kid=b"12345678",
                     signature=bytes(64), country="DE",
                     personal={"family_name_std": fnt, "given_name_std": gnt, "date_of_birth": dob, "hc1": "HC1:x"})
        issue(1, "MUELLER", "ANNA", "1980-01-02", now - timedelta(days=20))
        issue(2, "MUELLER", "ANNA", "1980-01-02", now)
        issue(3, "MUELLER", "ANNA", "1980-01-03", now)      # another birth date: another person
        issue(4, "MUELLER", "ANNAS", "1980-01-02", now)     # another given name
        me = {"family_name_std": "MUELLER", "given_name_std": "ANNA", "date_of_birth": "1980-01-02"}
        assert [r.uvci for r in j.same_person(me)] == ["URN:UVCI:01:DE:X/2", "URN:UVCI:01:DE:X/1"]
        assert [r.uvci for r in j.same_person(me, since=now - timedelta(days=14))] == ["URN:UVCI:01:DE:X/2"]
        plan = j._conn.execute("EXPLAIN QUERY PLAN SELECT uvci FROM personal WHERE person_key = ?", ("x",)).fetchall()
        assert "personal_person" in str(plan)


def test_migration_2_fills_the_person_key_of_existing_records(tmp_path, now):
    import json
    import sqlite3

    from appliance.journal import migrations
    from appliance.journal.journal import Journal

    path = tmp_path / "j.sqlite"
    with Journal.open(path) as j:
        j.append("issued", now=now, operator="t", type="v", uvci="URN:UVCI:01:DE:X/1", kid=b"12345678",
                 signature=bytes(64), country="DE",
                 personal={"family_name_std": "WEISS", "given_name_std": None, "date_of_birth": "1991"})
    con = sqlite3.connect(path)  # turn it back into a version-1 journal, written before the column existed
    con.execute("DROP INDEX personal_person")
    con.execute("ALTER TABLE personal DROP COLUMN person_key")
    con.execute("DROP TABLE heads")   # and what version 3 added
    con.execute("DROP TABLE counter_checkpoints")
    con.execute("ALTER TABLE entries DROP COLUMN operator_name")
    con.execute("ALTER TABLE entries DROP COLUMN note")
    con.execute("DELETE FROM meta WHERE key IN ('operator_secret', 'heads_since')")
    con.execute("PRAGMA user_version = 1")
    con.commit()
    con.close()
    assert migrations.latest() >= 2
    with Journal.open(path) as j:
        found = j.same_person({"family_name_std": "WEISS", "given_name_std": None, "date_of_birth": "1991"})
        assert [r.uvci for r in found] == ["URN:UVCI:01:DE:X/1"]
        assert json.loads(j._conn.execute("SELECT json FROM personal").fetchone()[0])["family_name_std"] == "WEISS"
