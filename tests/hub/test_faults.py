"""Faults at the hub on PostgreSQL, with real processes: in the end the hub holds exactly the
device's entries, none lost, none doubled, the chain intact.

- two hub processes take the same batches of one device at the same moment;
- a hub process is SIGKILLed in the middle of a batch (its entries inserted, not committed);
- PostgreSQL restarts in the middle of a batch (the hub answers 503 with Retry-After);
- the connections between hub and database are cut again and again during a sync;
- a lossy network between device and hub (tests/support/hub_kit.ChaosProxy) while a worker of
  ``hub serve --workers 2`` is SIGKILLed.

"Mid-batch" is made exact with the database itself: the test holds ``LOCK TABLE batches``, which
the hub's transaction needs after it has inserted the entries, and sees the hub wait for it in
``pg_stat_activity``.
"""

from __future__ import annotations

import subprocess
import threading
import time
from pathlib import Path

import httpx
import psycopg
import pytest

from appliance.devices.signer import SoftwareSigner
from appliance.hub.store import open_url
from appliance.journal.journal import Journal
from appliance.sync import batches
from tests.support.cli import appliance_env, run_appliance, start_appliance, write_config
from tests.support.clock import NOW
from tests.support.hub_kit import ChaosProxy, HubProcess
from tests.support.hub_tcp import TcpCutter
from tests.support.journal import issue_specs
from tests.support.waiting import free_port, wait_until

DEVICE = "fault-pg"
pytestmark = pytest.mark.slow
CUT_EVERY_S = 0.4


def _device(tmp_path: Path, n: int) -> tuple[Path, SoftwareSigner, list[dict]]:
    state = tmp_path / "device"
    state.mkdir()
    signer = SoftwareSigner.open(state, now=NOW)
    with Journal.open(state / "journal.sqlite") as journal:
        journal.append_bulk(issue_specs(n, signer), now=NOW, operator="staff1")
        return state, signer, journal.entries()


def _hub(tmp_path: Path, url: str, name: str = "hub", extra: tuple = ()) -> HubProcess:
    env = appliance_env(write_config(tmp_path / f"{name}.toml", f'[hub]\ndatabase = "{url}"\n'), tmp_path / "hubstate")
    return HubProcess(env, free_port(), tmp_path / f"{name}.log", extra=extra)


def _register(url: str, signer) -> None:
    store = open_url(url, Path("."))
    store.register_device(DEVICE, signer.certificate, now=NOW)
    store.close()


def _sync(tmp_path: Path, state: Path, hub_url: str, batch_size: int = 100, timeout: int = 90):
    config = write_config(tmp_path / "device.toml", f'[device]\nid = "{DEVICE}"\n[sync]\nhub_url = "{hub_url}"\n'
                                                     f"batch_size = {batch_size}\nbackoff_cap_s = 0.3\n")
    return run_appliance("sync", "--once", "--timeout", str(timeout), env=appliance_env(config, state),
                         timeout=timeout + 30)


def _assert_exactly(url: str, expected: list[dict]) -> None:
    store = open_url(url, Path("."))
    try:
        assert store.entries(DEVICE) == expected
        assert store.audit(DEVICE) is None
        device = store.device(DEVICE)
        assert (device["acknowledged_seq"], device["entry_count"], device["fork_flag"]) == (len(expected),) * 2 + (0,)
        with store.reading() as tx:
            stored = tx.one("SELECT COALESCE(SUM(new_entries), 0) AS n FROM batches WHERE device_id = ?", (DEVICE,))
        assert stored["n"] == len(expected)                     # no batch was counted twice
    finally:
        store.close()


def _waiting_insert(url: str) -> bool:
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute("SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                            " AND query LIKE 'INSERT INTO batches%'").fetchall()
    return bool(rows)


def _push_in_background(hub: HubProcess, data: bytes) -> tuple[threading.Thread, dict]:
    answer: dict = {}

    def push():
        try:
            r = httpx.post(f"{hub.url}/api/v1/devices/{DEVICE}/batches", content=data, timeout=30,
                           headers={"Content-Type": "application/cose"})
            answer.update(status=r.status_code, retry_after=r.headers.get("Retry-After"), body=r.text)
        except httpx.HTTPError as exc:
            answer.update(error=type(exc).__name__)

    thread = threading.Thread(target=push, daemon=True)
    thread.start()
    return thread, answer


def test_two_hub_processes_take_the_same_batches_of_one_device_at_once(tmp_path, pg_url):
    state, signer, expected = _device(tmp_path, 600)
    _register(pg_url, signer)
    hubs = [_hub(tmp_path, pg_url, "a"), _hub(tmp_path, pg_url, "b")]
    for hub in hubs:
        hub.start()
    signed = [batches.sign_batch(expected[i:i + 50], device_id=DEVICE, signer=signer, now=NOW)
              for i in range(0, len(expected), 50)]
    answers: list[int] = []
    try:
        with httpx.Client(timeout=30) as client:
            for data in signed:
                barrier = threading.Barrier(2)

                def send(hub):
                    barrier.wait()
                    r = client.post(f"{hub.url}/api/v1/devices/{DEVICE}/batches", content=data)
                    answers.append((r.status_code, r.json().get("stored")))

                threads = [threading.Thread(target=send, args=(h,)) for h in hubs]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
    finally:
        for hub in hubs:
            hub.stop()
    assert {status for status, _ in answers} == {200}
    assert sum(stored for _, stored in answers) == len(expected)     # each batch stored once, by one of them
    _assert_exactly(pg_url, expected)


def test_a_hub_process_killed_in_the_middle_of_a_batch_loses_and_doubles_nothing(tmp_path, pg_url):
    state, signer, expected = _device(tmp_path, 400)
    _register(pg_url, signer)
    hub = _hub(tmp_path, pg_url)
    hub.start()
    try:
        with psycopg.connect(pg_url) as blocker:
            blocker.execute("LOCK TABLE batches IN EXCLUSIVE MODE")   # the hub waits after inserting its entries
            thread, _answer = _push_in_background(
                hub, batches.sign_batch(expected[:100], device_id=DEVICE, signer=signer, now=NOW))
            assert wait_until(lambda: _waiting_insert(pg_url), 20, interval_s=0.05), "the hub never reached the lock"
            hub.stop(kill=True)                                        # SIGKILL, mid-transaction
            blocker.rollback()
        thread.join(timeout=30)
        assert wait_until(lambda: not _waiting_insert(pg_url), 20, interval_s=0.05)
        _assert_exactly(pg_url, [])                                    # nothing of the killed batch survived
        hub.start()
        r = _sync(tmp_path, state, hub.url)
        assert r.returncode == 0, r.stderr[-2000:]
    finally:
        hub.stop()
    _assert_exactly(pg_url, expected)


def test_postgresql_restarting_in_the_middle_of_a_batch_is_a_503_and_then_nothing_is_lost(tmp_path, pg_url,
                                                                                          pg_cluster):
    state, signer, expected = _device(tmp_path, 300)
    _register(pg_url, signer)
    hub = _hub(tmp_path, pg_url)
    hub.start()
    try:
        blocker = psycopg.connect(pg_url)
        blocker.execute("LOCK TABLE batches IN EXCLUSIVE MODE")
        thread, answer = _push_in_background(
            hub, batches.sign_batch(expected[:100], device_id=DEVICE, signer=signer, now=NOW))
        assert wait_until(lambda: _waiting_insert(pg_url), 20, interval_s=0.05)
        pg_cluster.restart()                                           # fast shutdown: every backend goes
        thread.join(timeout=30)
        blocker.close()
        assert answer.get("status") == 503 and answer.get("retry_after"), answer
        assert "Traceback" not in answer["body"] and "nothing was stored" in answer["body"]
        _assert_exactly(pg_url, [])
        r = _sync(tmp_path, state, hub.url)                            # the same hub process, its pool recovered
        assert r.returncode == 0, r.stderr[-2000:]
    finally:
        hub.stop()
    _assert_exactly(pg_url, expected)


def test_connections_cut_between_hub_and_database_lose_and_double_nothing(tmp_path, pg_url, pg_cluster):
    state, signer, expected = _device(tmp_path, 1000)
    _register(pg_url, signer)
    cutter = TcpCutter(pg_cluster.port)
    hub = _hub(tmp_path, pg_url.replace(f":{pg_cluster.port}/", f":{cutter.port}/"))
    hub.start()
    stop = threading.Event()

    def cut_often():
        while not stop.wait(CUT_EVERY_S):
            cutter.cut()

    chaos = threading.Thread(target=cut_often, daemon=True)
    chaos.start()
    try:
        r = _sync(tmp_path, state, hub.url, batch_size=50)
    finally:
        stop.set()
        chaos.join()
        hub.stop()
        cutter.close()
    assert r.returncode == 0, r.stderr[-2000:]
    assert cutter.cuts >= 3
    _assert_exactly(pg_url, expected)


def test_a_lossy_network_and_a_killed_worker_of_two_lose_and_double_nothing(tmp_path, pg_url):
    state, signer, expected = _device(tmp_path, 1500)
    _register(pg_url, signer)
    hub = _hub(tmp_path, pg_url, extra=("--workers", "2"))
    hub.start()
    proxy = ChaosProxy(hub.port, seed=13, stall_s=(0.05, 0.4))
    kills = 0
    try:
        config = write_config(tmp_path / "device.toml", f'[device]\nid = "{DEVICE}"\n[sync]\nhub_url = '
                                                         f'"http://127.0.0.1:{proxy.port}"\nbatch_size = 100\n'
                                                         "backoff_cap_s = 0.3\n")
        agent = start_appliance("sync", "--once", "--timeout", "90", env=appliance_env(config, state),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for threshold in (300, 900):
            wait_until(lambda: agent.poll() is not None or _ack(hub, signer) >= threshold, 40, interval_s=0.02)
            if agent.poll() is not None:
                break
            subprocess.run(["kill", "-9", str(hub.workers()[0])], check=True)
            kills += 1
        _out, err = agent.communicate(timeout=120)
        assert agent.returncode == 0, err[-3000:]
        assert wait_until(lambda: len(hub.workers()) == 2, 10, interval_s=0.1)   # the supervisor replaced it
    finally:
        proxy.close()
        hub.stop()
    assert kills >= 1
    _assert_exactly(pg_url, expected)


def _ack(hub: HubProcess, signer) -> int:
    try:
        return hub.acknowledged(DEVICE, signer=signer, timeout_s=2)
    except (httpx.HTTPError, ValueError, KeyError):
        return -1

