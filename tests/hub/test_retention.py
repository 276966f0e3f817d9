"""Retention at the hub (``appliance hub purge --keep-months N [--dry-run]``), on both engines:
whole months of entries go (PostgreSQL: their partitions), revocations stay until the certificate
expires, a certificate of a dropped month can still be revoked and exported, and the chain audit
and the listing tell dropped entries from lost ones."""

from __future__ import annotations

import psycopg
import pytest

from appliance.hub.store.retention import cutoff_month
from appliance.journal import chain
from appliance.sync import batches
from tests.support.cli import appliance_env, run_appliance, write_config
from tests.support.clock import NOW
from tests.support.hub_kit import DEVICE

LATER = "2027-06-30T00:00:00Z"          #: still valid at NOW
GONE = "2026-10-15T00:00:00Z"           #: expired before NOW (2026-11-28)


def _chain(specs: list[tuple], prev: str = chain.GENESIS, start: int = 1) -> list[dict]:
    out = []
    for i, (time, kind, target, expires) in enumerate(specs):
        seq = start + i
        out.append({"seq": seq, "time": time, "kind": kind, "operator": "op-1", "type": "v",
                    "uvci": f"URN:UVCI:01:DE:RET/{target or seq}#A", "kid": "AAAAAAAAAAA=",
                    "hash_uci": None if kind == "revoked" else f"U{seq:03d}" + "A" * 18 + "==",
                    "hash_countrycodeuci": None, "hash_signature": None,
                    "data": {"mp": "EU/1/20/1528", "dn": 1, "expires_at": expires} if kind == "issued" else {}})
    for entry in out:
        entry["prev_hash"] = prev
        entry["hash"] = prev = chain.entry_hash(entry)
    return out


SPECS = [("2026-09-10T08:00:00Z", "issued", None, LATER),       # 1: revoked after the purge
         ("2026-09-10T09:00:00Z", "issued", None, GONE),        # 2: revoked, expired
         ("2026-09-11T09:00:00Z", "issued", None, LATER),       # 3: revoked, still valid
         ("2026-09-20T09:00:00Z", "revoked", 2, None),          # 4
         ("2026-09-21T09:00:00Z", "revoked", 3, None),          # 5
         ("2026-10-02T09:00:00Z", "issued", None, LATER),       # 6
         ("2026-11-03T09:00:00Z", "issued", None, LATER)]       # 7


def _post(client, entries, signer):
    return client.post(f"/api/v1/devices/{DEVICE}/batches", content_type="application/cose",
                       data=batches.sign_batch(entries, device_id=DEVICE, signer=signer, now=NOW))


def _exported(client, auth) -> set[str]:
    body = client.get("/api/v1/revocations?hashType=UCI", headers=auth).get_json()
    return {e["hash"] for b in body["batches"] for e in b["entries"]}


def test_cutoff_keeps_this_month_and_the_n_before():
    assert cutoff_month(NOW, 1) == "2026-10-01"
    assert cutoff_month(NOW, 11) == "2025-12-01"
    assert cutoff_month(NOW, 13) == "2025-10-01"


def test_purge_drops_whole_months_but_keeps_what_the_revocation_export_needs(
        hub_app, hub_store, registered, software_signer, auth, hub_engine, hub_database):
    client = hub_app.test_client()
    sent = _chain(SPECS)
    assert _post(client, sent, software_signer).status_code == 200
    assert _exported(client, auth) == {sent[1]["hash_uci"], sent[2]["hash_uci"]}

    plan = hub_store.retention_plan("2026-10-01", NOW)
    assert [(m["month"], m["entries"]) for m in plan["months"]] == [("2026-09", 5)]
    assert (plan["kept_issued"], plan["revocations"]) == (2, 1)
    assert [e["seq"] for e in hub_store.entries(DEVICE)] == [1, 2, 3, 4, 5, 6, 7]     # planning changes nothing

    done = hub_store.purge_before("2026-10-01", now=NOW, operator="office")
    assert done["entries"] == 5
    assert [e["seq"] for e in hub_store.entries(DEVICE)] == [6, 7]
    if hub_engine == "postgres":
        assert done["dropped"] == ["entries_2026_09"]
        with psycopg.connect(hub_database) as conn:
            assert conn.execute("SELECT to_regclass('entries_2026_09')").fetchone()[0] is None
    assert _exported(client, auth) == {sent[2]["hash_uci"]}      # the expired certificate's revocation went

    assert hub_store.audit(DEVICE) is None                        # the links of what is left still verify
    device = hub_app.test_client().get(f"/api/v1/devices/{DEVICE}", headers=auth).get_json()
    assert device["chain_ok"] is True and device["gaps"] == 0 and device["entries"] == 7

    assert _post(client, sent[:5], software_signer).status_code == 200      # a resent old batch: no fork
    late = _chain([("2026-11-20T09:00:00Z", "revoked", 1, None)], prev=sent[-1]["hash"], start=8)
    assert _post(client, late, software_signer).status_code == 200          # a certificate of a dropped month
    assert _exported(client, auth) == {sent[2]["hash_uci"], sent[0]["hash_uci"]}
    assert hub_store.audit(DEVICE) is None

    assert hub_store.purge_before("2026-10-01", now=NOW, operator="office")["entries"] == 0   # a second run
    with hub_store.reading() as tx:
        runs = tx.all("SELECT operator, before_month, entries FROM retention_runs ORDER BY id")
    assert runs == [{"operator": "office", "before_month": "2026-10-01", "entries": 5},
                    {"operator": "office", "before_month": "2026-10-01", "entries": 0}]


def test_an_entry_lost_besides_the_purge_is_still_reported(hub_app, hub_store, registered, software_signer):
    sent = _chain(SPECS)
    assert _post(hub_app.test_client(), sent, software_signer).status_code == 200
    hub_store.purge_before("2026-10-01", now=NOW, operator="office")
    with hub_store.transaction() as tx:
        tx.execute("DELETE FROM entries WHERE device_id = ? AND seq = 6", (DEVICE,))
    broken = hub_store.audit(DEVICE)
    assert broken is not None and "retention dropped 5" in broken[1]


@pytest.fixture
def office_env(tmp_path, hub_config):
    config = write_config(tmp_path / "office.toml", f'[hub]\ndatabase = "{hub_config.hub.database}"\n')
    return appliance_env(config, hub_config.state_dir)


def test_hub_purge_on_the_command_line_dry_run_and_bad_arguments(hub_app, hub_store, registered, software_signer,
                                                                  office_env):
    assert _post(hub_app.test_client(), _chain(SPECS), software_signer).status_code == 200
    for bad in ("0", "-3", "twelve", "1201"):
        r = run_appliance("hub", "purge", "--keep-months", bad, env=office_env)
        assert r.returncode == 2 and "--keep-months" in r.stderr and "Traceback" not in r.stderr, r.stderr
    r = run_appliance("hub", "purge", env=office_env)
    assert r.returncode == 2 and "--keep-months" in r.stderr
    r = run_appliance("hub", "purge", "--keep-months", "1", "--dry-run", env=office_env)
    assert r.returncode == 0, r.stderr
    assert "would drop 5 entries" in r.stdout and "nothing was changed" in r.stdout, r.stdout
    assert len(hub_store.entries(DEVICE)) == 7
    r = run_appliance("hub", "purge", "--keep-months", "1200", env=office_env)
    assert r.returncode == 0 and "dropped 0 entries" in r.stdout, r.stdout
    assert len(hub_store.entries(DEVICE)) == 7
