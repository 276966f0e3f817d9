"""The store's engines: migrations (numbered, forward only, the same numbers on both), bad
database URLs, month partitions on PostgreSQL, and a database that fails during a batch."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import psycopg
import pytest

from appliance.errors import ConfigError, HubError
from appliance.hub.intake import accept
from appliance.hub.store import base, open_url
from appliance.journal import chain
from appliance.sync import batches
from tests.support.cli import appliance_env, run_appliance, write_config
from tests.support.clock import NOW
from tests.support.hub_kit import DEVICE
from tests.support.journal import make_entries
from tests.support.waiting import free_port


def test_both_engines_have_the_same_numbered_migrations():
    numbers = {engine: [n for n, _name, _sql in base.migrations(engine)] for engine in ("sqlite", "postgres")}
    assert numbers["sqlite"] == numbers["postgres"] == list(range(1, len(numbers["sqlite"]) + 1))


def test_a_database_on_a_newer_schema_is_refused(hub_config, hub_store):
    newest = hub_store.code_version()
    with hub_store.transaction() as tx:
        tx.execute("INSERT INTO schema_version (version, name, applied_at) VALUES (?, 'future', 'x')", (newest + 1,))
    with pytest.raises(HubError, match=f"schema version {newest + 1}, newer than this software"):
        hub_store.migrate()
    with pytest.raises(HubError, match="upgrade the appliance software"):
        open_url(hub_config.hub.database, hub_config.state_dir, migrate=False)


def test_postgres_needs_hub_migrate_and_the_cli_runs_it(tmp_path, pg_cluster):
    url = pg_cluster.url(pg_cluster.create_database())
    env = appliance_env(write_config(tmp_path / "hub.toml", f'[hub]\ndatabase = "{url}"\n'), tmp_path / "hub")
    r = run_appliance("hub", "serve", "--port", "0", env=env)
    assert r.returncode == 1 and "run 'appliance hub migrate'" in r.stderr and "Traceback" not in r.stderr
    r = run_appliance("hub", "migrate", env=env)
    newest = max(n for n, _name, _sql in base.migrations("postgres"))
    assert r.returncode == 0 and f"schema version {newest}" in r.stdout, r.stderr
    assert run_appliance("hub", "migrate", env=env).returncode == 0               # idempotent


@pytest.mark.parametrize("url, says", [
    ("postgresql://hub:s3cret-pw@127.0.0.1:{port}/hub", "cannot connect to the hub database postgresql://hub:***@"),
    ("mysql://hub@127.0.0.1/hub", "use sqlite:///PATH or postgresql://"),
    ("sqlite:///", "an SQLite URL is sqlite:///PATH"),
])
def test_a_wrong_or_unreachable_database_url_is_one_clear_line(tmp_path, url, says):
    url = url.format(port=free_port())
    env = appliance_env(write_config(tmp_path / "hub.toml", f'[hub]\ndatabase = "{url}"\n'), tmp_path / "hub")
    r = run_appliance("hub", "devices", env=env)
    assert r.returncode == 1 and says in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "s3cret-pw" not in r.stderr and "Traceback" not in r.stderr


def test_entries_go_to_month_partitions_that_retention_drops(pg_url, software_signer):
    store = open_url(pg_url, Path("."))
    store.register_device(DEVICE, software_signer.certificate, now=NOW)
    entries = make_entries(3)
    entries[0]["time"] = "2026-10-31T23:59:59Z"
    prev = chain.GENESIS
    for e in entries:
        e["prev_hash"] = prev
        e["hash"] = prev = chain.entry_hash(e)
    accept(store, batches.sign_batch(entries, device_id=DEVICE, signer=software_signer, now=NOW), now=NOW,
           url_device_id=DEVICE)
    with psycopg.connect(pg_url) as conn:
        parts = dict(conn.execute("SELECT tableoid::regclass::text, COUNT(*) FROM entries GROUP BY 1").fetchall())
    assert parts == {"entries_2026_10": 1, "entries_2026_11": 2}
    assert store.drop_months_before("2026-11-01") == ["entries_2026_10"]
    assert [e["seq"] for e in store.entries(DEVICE)] == [2, 3]
    store.close()


def test_a_database_failure_during_a_batch_is_a_503_with_retry_after(hub_app, hub_store, registered,
                                                                      software_signer, hub_engine, pg_cluster):
    client = hub_app.test_client()
    data = batches.sign_batch(make_entries(5), device_id=DEVICE, signer=software_signer, now=NOW)
    if hub_engine == "sqlite":
        hub_store._conn.execute("PRAGMA query_only = ON")                     # every write now fails
    else:
        dbname = hub_store.url.rsplit("/", 1)[1]
        pg_cluster.execute(f"ALTER DATABASE {dbname} SET default_transaction_read_only = on")
        pg_cluster.execute(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{dbname}'")
    r = client.post(f"/api/v1/devices/{DEVICE}/batches", data=data, content_type="application/cose")
    assert r.status_code == 503 and r.headers["Retry-After"], r.get_data(as_text=True)
    assert "nothing was stored" in r.get_json()["error"] and "Traceback" not in r.get_data(as_text=True)
    if hub_engine == "sqlite":
        hub_store._conn.execute("PRAGMA query_only = OFF")
    else:
        pg_cluster.execute(f"ALTER DATABASE {dbname} SET default_transaction_read_only = off")
        pg_cluster.execute(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{dbname}'")
    assert hub_store.count(DEVICE) == 0
    r = client.post(f"/api/v1/devices/{DEVICE}/batches", data=data, content_type="application/cose")
    assert r.status_code == 200 and hub_store.count(DEVICE) == 5


def test_an_unknown_scheme_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match=r"\[hub\] database"):
        open_url("redis://x", tmp_path)


def test_a_store_made_by_the_older_hub_is_adopted_with_its_counts_and_revocations(tmp_path):
    sql = (base.MIGRATIONS / "sqlite" / "0001_initial.sql").read_text()
    db = sqlite3.connect(tmp_path / "hub.sqlite")
    db.executescript(sql)                                          # the old hub's schema, no schema_version
    db.execute("INSERT INTO devices VALUES ('d1', 'pem', 'kid', 'DE', '2026-01-01', NULL, 2, 'h', 0, NULL, 'C')")
    db.execute("INSERT INTO entries (device_id, seq, time, kind, uvci, data, prev_hash, hash, received_at, day, type,"
               " dose) VALUES ('d1', 1, '2026-01-01T00:00:00Z', 'issued', 'U1', '{\"expires_at\": \"2027-01-01\"}',"
               " 'p', 'h', 'x', '2026-01-01', 'v', 1)")
    db.execute("INSERT INTO entries (device_id, seq, time, kind, uvci, data, prev_hash, hash, received_at, hash_uci)"
               " VALUES ('d1', 2, '2026-01-02T00:00:00Z', 'revoked', 'U1', '{}', 'p', 'h', 'x', 'HH')")
    db.commit()
    db.close()
    store = open_url("sqlite:///hub.sqlite", tmp_path)
    try:
        assert store.schema_version() == store.code_version()
        assert store.device("d1")["entry_count"] == 2
        assert [(r["count"], r["dose"]) for r in store.daily_counts()] == [(1, 1)]
        assert [(r["hash_uci"], r["expires"]) for r in store.revocations()] == [("HH", "2027-01-01T00:00:00Z")]
    finally:
        store.close()
