"""Tampering with the journal file is caught by Journal.verify and `appliance journal verify`;
a corrupt or foreign file is refused at open, never replaced by a new chain."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

import pytest

from appliance.journal import chain
from appliance.cli import main
from appliance.errors import JournalCorrupt
from appliance.journal.journal import Journal


@pytest.fixture
def filled(journal_path, now, make_issued):
    """A closed journal with 6 entries: issued x5 and one revocation."""
    with Journal.open(journal_path) as j:
        for i in range(1, 6):
            j.append("issued", now=now + timedelta(minutes=i), operator="anna", **make_issued(i))
        j.append("revoked", now=now + timedelta(minutes=9), operator="ben", type="v",
                 uvci=make_issued(2)["uvci"], data={"reason": "typo", "fraud": False})
        assert j.verify() is None
    return journal_path


@pytest.fixture
def cli_env(monkeypatch, state_dir, tmp_path):
    cfg = tmp_path / "appliance.toml"
    cfg.write_text("")
    monkeypatch.setenv("APPLIANCE_CONFIG", str(cfg))
    monkeypatch.setenv("APPLIANCE_STATE_DIR", str(state_dir))


def sql(path, *statements):
    db = sqlite3.connect(path)
    with db:
        for s in statements:
            db.execute(*s) if isinstance(s, tuple) else db.execute(s)
    db.close()


def row(path, seq):
    db = sqlite3.connect(path)
    db.row_factory = sqlite3.Row
    r = dict(db.execute("SELECT * FROM entries WHERE seq = ?", (seq,)).fetchone())
    db.close()
    return r


def forged(prev: dict, seq: int) -> dict:
    """A well-formed entry with a correct own hash, chained to ``prev``."""
    e = {"seq": seq, "time": prev["time"], "kind": "issued", "operator": "mallory", "type": "v",
         "uvci": "URN:UVCI:01:DE:FAKE/1#A", "kid": prev["kid"], "hash_uci": None, "hash_countrycodeuci": None,
         "hash_signature": None, "data": {}, "prev_hash": prev["hash"]}
    e["hash"] = chain.entry_hash(e)
    return e


def insert(path, e):
    cols = ", ".join(chain.FIELDS)
    values = [e[f] if f != "data" else "{}" for f in chain.FIELDS]
    sql(path, (f"INSERT INTO entries ({cols}) VALUES ({', '.join('?' * len(values))})", values))


def edit_operator(p):
    sql(p, "UPDATE entries SET operator = 'mallory' WHERE seq = 3")
    return 3


def edit_data(p):
    sql(p, """UPDATE entries SET data = '{"fraud":true,"reason":"typo"}' WHERE seq = 6""")
    return 6


def edit_and_rehash(p):
    e = {k: v for k, v in row(p, 3).items() if k in chain.FIELDS}
    e["data"] = {}
    e["uvci"] = "URN:UVCI:01:DE:OTHER/1#B"
    sql(p, ("UPDATE entries SET uvci = ?, data = '{}', hash = ? WHERE seq = 3", (e["uvci"], chain.entry_hash(e))))
    return 4  # its own hash is right now, so the next link breaks


def delete_row(p):
    sql(p, "DELETE FROM entries WHERE seq = 3")
    return 3


def insert_in_the_middle(p):
    prev = row(p, 3)
    sql(p, "UPDATE entries SET seq = seq + 1000 WHERE seq > 3", "UPDATE entries SET seq = seq - 999 WHERE seq > 1000")
    insert(p, forged(prev, 4))
    return 5


def insert_at_the_end(p):
    insert(p, forged({**row(p, 6), "hash": "ab" * 32}, 7))
    return 7


def swap_rows(p):
    a, b = row(p, 2), row(p, 5)
    cols = [c for c in a if c not in ("seq", "idempotency_key")]
    update = "UPDATE entries SET " + ", ".join(f"{c} = ?" for c in cols) + " WHERE seq = ?"
    sql(p, "UPDATE entries SET uvci = NULL WHERE seq IN (2, 5)",
        (update, [b[c] for c in cols] + [2]), (update, [a[c] for c in cols] + [5]))
    return 2


@pytest.mark.parametrize("tamper", [edit_operator, edit_data, edit_and_rehash, delete_row,
                                    insert_in_the_middle, insert_at_the_end, swap_rows])
def test_tampering_is_caught(filled, tamper, cli_env, capsys):
    expected = tamper(filled)
    with Journal.open(filled) as j:
        broken = j.verify()
    assert broken is not None and broken[0] == expected
    capsys.readouterr()
    assert main(["journal", "verify"]) == 1
    out = capsys.readouterr().out
    assert out.startswith(f"broken at seq {expected}: ")


def test_intact_chain_verifies_on_the_command_line(filled, cli_env, capsys):
    assert main(["journal", "verify"]) == 0
    assert capsys.readouterr().out.strip() == "chain ok, 6 entries"


def foreign_sqlite(p):
    sql(p, "CREATE TABLE notes (x TEXT)", "INSERT INTO notes VALUES ('hello')")


def random_bytes(p):
    p.write_bytes(bytes(range(256)) * 64)


def empty_file(p):
    p.write_bytes(b"")


def half_a_journal(p):
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])


def wrong_magic(p):
    sql(p, "UPDATE meta SET value = 'someone-else' WHERE key = 'magic'")


@pytest.mark.parametrize("damage", [foreign_sqlite, random_bytes, empty_file, half_a_journal, wrong_magic])
def test_corrupt_or_foreign_file_is_refused_not_replaced(filled, damage, cli_env, capsys):
    for extra in filled.parent.glob("journal.sqlite-*"):
        extra.unlink()
    if damage is foreign_sqlite:
        filled.unlink()
    damage(filled)
    before = filled.read_bytes()
    with pytest.raises(JournalCorrupt):
        Journal.open(filled)
    assert main(["journal", "verify"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("appliance: error: ") and "journal" in err[0]
    assert filled.read_bytes() == before
    # no new journal beside it; SQLite may leave an empty WAL index behind, nothing more
    assert {p.name for p in filled.parent.iterdir()} <= {"journal.sqlite", "journal.sqlite-wal", "journal.sqlite-shm"}
    wal = filled.parent / "journal.sqlite-wal"
    assert not wal.exists() or wal.stat().st_size == 0


def test_journal_from_a_newer_version_is_refused(filled):
    from appliance.errors import JournalError

    sql(filled, "PRAGMA user_version = 999")
    with pytest.raises(JournalError, match="newer software version"):
        Journal.open(filled)
