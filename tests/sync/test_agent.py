"""The sync agent against the real journal and an in-process hub."""

from __future__ import annotations

import random
import socket
import threading

import cbor2
import pytest

from appliance.devices.hub_client import InProcessHubClient
from appliance.devices.signer import SoftwareSigner
from appliance.errors import ConfigError, HubUnreachable
from appliance.sync.agent import SyncAgent, backoff_delay
from appliance.util.wakeup import Wakeup
from tests.support.clock import NOW
from tests.support.hub_kit import DEVICE
from tests.support.journal import issue_specs
from tests.support.waiting import wait_until


class FlakyClient:
    """Wraps a client: can be 'down', or lose the answer of the next push after the hub stored it."""

    def __init__(self, inner):
        self.inner, self.down, self.lose_next_answer = inner, False, False
        self.pushed_first_seqs: list[int] = []

    def acknowledged(self, device_id, credential=None):
        if self.down:
            raise HubUnreachable("cannot connect to the hub (test)")
        return self.inner.acknowledged(device_id, credential)

    def push(self, device_id, data):
        if self.down:
            raise HubUnreachable("cannot connect to the hub (test)")
        self.pushed_first_seqs.append(cbor2.loads(cbor2.loads(data).value[2])["first_seq"])
        ack = self.inner.push(device_id, data)
        if self.lose_next_answer:
            self.lose_next_answer = False
            raise HubUnreachable("connection reset (test)")
        return ack


@pytest.fixture
def client(hub_app, registered):
    return FlakyClient(InProcessHubClient(hub_app))


def hub_entries(hub_app):
    return hub_app.config["HUB_STORE"].entries(DEVICE)


def test_agent_sends_everything_and_records_status(device_config, journal, software_signer, client, hub_app):
    journal.append_bulk(issue_specs(120, software_signer), now=NOW, operator="staff1")
    agent = SyncAgent(device_config, journal, software_signer, client)
    assert agent.run_once() is True
    assert hub_entries(hub_app) == journal.entries()
    assert client.pushed_first_seqs == [1, 51, 101]           # batch_size 50
    assert journal.get_acknowledged() == 120
    status = journal.get_sync_status()
    assert status["backlog"] == 0 and status["last_error"] is None and status["last_success"]
    assert agent.run_once() is True and client.pushed_first_seqs == [1, 51, 101]  # nothing new: no push


def test_offline_then_resume_where_the_hub_stopped(device_config, journal, software_signer, client, hub_app):
    journal.append_bulk(issue_specs(60, software_signer), now=NOW, operator="staff1")
    agent = SyncAgent(device_config, journal, software_signer, client)
    client.lose_next_answer = True                  # hub stores 1..50, the answer is lost
    assert agent.run_once() is False
    assert "connection reset" in journal.get_sync_status()["last_error"]
    assert journal.get_sync_status()["backlog"] == 60
    client.down = True                              # weeks offline, the centre keeps issuing
    journal.append_bulk(issue_specs(70, software_signer, start=61), now=NOW, operator="staff1")
    assert agent.run_once() is False
    assert journal.get_sync_status()["backlog"] == 130
    client.down = False
    assert agent.run_once() is True
    assert client.pushed_first_seqs == [1, 51, 101]  # resumed after the hub's 50, not from the start
    assert hub_entries(hub_app) == journal.entries()
    assert journal.get_sync_status()["last_error"] is None


def test_refused_batch_leaves_the_cursor(device_config, journal, software_signer, hub_app, hub_store):
    hub_store.register_device(DEVICE, SoftwareSigner.generate(now=NOW).certificate, now=NOW)  # another key
    journal.append_bulk(issue_specs(10, software_signer), now=NOW, operator="staff1")
    agent = SyncAgent(device_config, journal, software_signer, InProcessHubClient(hub_app))
    assert agent.run_once() is False
    assert journal.get_acknowledged() == 0
    assert hub_store.count(DEVICE) == 0
    assert "403" in journal.get_sync_status()["last_error"]
    assert "another key" in journal.get_sync_status()["last_error"]


def test_backoff_is_exponential_with_full_jitter_up_to_the_cap(device_config, journal, software_signer, client):
    config = device_config.replace(sync=device_config.sync.__class__(backoff_cap_s=8.0))
    client.down = True
    stop = threading.Event()
    delays: list[float] = []

    def sleep(seconds):
        delays.append(seconds)
        if len(delays) == 12:
            client.down = False
        if len(delays) >= 12:
            stop.set()

    agent = SyncAgent(config, journal, software_signer, client, sleep=sleep, rng=random.Random(7))
    agent.run_forever(stop, wakeup=None)
    assert len(delays) == 12
    for n, d in enumerate(delays, 1):
        assert 0 <= d <= min(8.0, 2 ** (n - 1))
    assert max(delays[6:]) > 2                       # grew beyond the first steps
    assert len(set(delays)) == len(delays)           # jittered
    # the bound itself: failure n draws from [0, min(cap, 2**(n-1))]
    rng = random.Random(1)
    assert max(backoff_delay(40, 300.0, rng) for _ in range(200)) <= 300.0
    assert max(backoff_delay(1, 300.0, rng) for _ in range(200)) <= 1.0


def test_backoff_resets_after_success(device_config, journal, software_signer, client):
    client.down = True
    agent = SyncAgent(device_config, journal, software_signer, client, rng=random.Random(3))
    first, second = agent.step(), agent.step()
    assert 0 < first <= 1.0 and 0 < second <= 2.0 and agent.failures == 2   # failure n: [0, 2**(n-1)] s
    client.down = False
    assert agent.step() == 0.0 and agent.failures == 0


def test_new_entry_wakes_the_agent(device_config, journal, software_signer, client, hub_app):
    sock_path = device_config.state_dir / "sync-wakeup.sock"
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    stale.bind(str(sock_path))                       # a stale socket file from a crashed run
    stale.close()
    journal.append_bulk(issue_specs(3, software_signer), now=NOW, operator="staff1")
    agent = SyncAgent(device_config, journal, software_signer, client, idle_s=600)
    stop = threading.Event()
    worker = threading.Thread(target=agent.run_forever, args=(stop,), daemon=True)
    worker.start()
    try:
        assert wait_until(lambda: len(hub_entries(hub_app)) == 3, 60, interval_s=0.05), "the first sync"
        journal.append("issued", now=NOW, operator="staff1", type="v", uvci="URN:UVCI:01:DE:DEMO1/W1#X",
                       kid=software_signer.kid, signature=bytes(64), country="DE", data={"mp": "EU/1/20/1528"})
        # idle_s is 600 s: only the journal's datagram can make this happen within the test
        assert wait_until(lambda: len(hub_entries(hub_app)) == 4, 60, interval_s=0.05), "the wake-up sync"
    finally:
        stop.set()
        worker.join(timeout=10)
    assert not worker.is_alive()
    assert not sock_path.exists()                    # removed on the way out
    assert hub_entries(hub_app) == journal.entries()


def test_wakeup_refuses_to_replace_a_regular_file(tmp_path):
    path = tmp_path / "sync-wakeup.sock"
    path.write_text("not a socket")
    with pytest.raises(ConfigError, match="not a socket"):
        Wakeup(path)
    assert path.read_text() == "not a socket"
