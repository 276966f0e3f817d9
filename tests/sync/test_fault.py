"""Fault test: sync through a misbehaving proxy while the hub process is killed and restarted.

Real processes and sockets on 127.0.0.1: ``appliance hub serve`` (restarted with SIGKILL
mid-sync), ``appliance sync --once`` (the agent, with a short backoff cap), and a proxy
thread that drops, stalls, duplicates and loses answers at random. In the end the hub
must hold exactly the device's entries with an intact chain.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx
import pytest

from appliance.devices.signer import SoftwareSigner
from appliance.journal.journal import Journal
from tests.support.cli import appliance_env, run_appliance, start_appliance, write_config
from tests.support.clock import NOW
from tests.support.hub_kit import ChaosProxy, HubProcess
from tests.support.journal import issue_specs
from tests.support.waiting import free_port

DEVICE = "fault-dev"
ENTRIES = 3000


def _ack(hub: HubProcess, signer) -> int:
    try:
        return hub.acknowledged(DEVICE, signer=signer, timeout_s=2)
    except (httpx.HTTPError, ValueError, KeyError):
        return -1                                   # the hub is down or restarting


@pytest.mark.slow
def test_sync_survives_a_flaky_network_and_hub_restarts(tmp_path: Path):
    dev_state = tmp_path / "device"
    dev_state.mkdir()
    signer = SoftwareSigner.open(dev_state, now=NOW)
    with Journal.open(dev_state / "journal.sqlite") as journal:
        journal.append_bulk(issue_specs(ENTRIES, signer), now=NOW, operator="staff1")
        expected = journal.entries()

    hub_env = appliance_env(write_config(tmp_path / "hub.toml", "[hub]\n"), tmp_path / "hub")
    assert run_appliance("hub", "register-device", "--device-id", DEVICE, "--dsc",
                         dev_state / "software-signer" / "dsc.pem", env=hub_env).returncode == 0
    hub = HubProcess(hub_env, free_port(), tmp_path / "hub.log")
    hub.start()
    proxy = ChaosProxy(hub.port, seed=20261128)
    dev_config = write_config(tmp_path / "device.toml",
                              f'[device]\nid = "{DEVICE}"\n[sync]\nhub_url = "http://127.0.0.1:{proxy.port}"\n'
                              'batch_size = 100\nbackoff_cap_s = 0.5\n')
    restarts = 0
    try:
        agent = start_appliance("sync", "--once", "--timeout", "100", env=appliance_env(dev_config, dev_state),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for threshold in (600, 1500, 2400):        # kill the hub whenever the sync passes these marks
            deadline = time.monotonic() + 60
            while agent.poll() is None and _ack(hub, signer) < threshold and time.monotonic() < deadline:
                time.sleep(0.02)
            if agent.poll() is not None:
                break
            hub.stop(kill=True)
            restarts += 1
            time.sleep(0.3)                        # the agent meets a dead hub for a moment
            hub.start()
        out, err = agent.communicate(timeout=120)
        assert agent.returncode == 0, err[-3000:]
        assert f"up to seq {ENTRIES}" in out
        token = (tmp_path / "hub" / "hub-token").read_text().strip()
        headers = {"Authorization": f"Bearer {token}"}
        got: list[dict] = []
        while len(got) < ENTRIES + 1:
            page = httpx.get(f"{hub.url}/api/v1/devices/{DEVICE}/entries?after={len(got)}&limit=1000",
                             headers=headers, timeout=10).json()["entries"]
            if not page:
                break
            got += page
        status = httpx.get(f"{hub.url}/api/v1/devices", headers=headers, timeout=10).json()["devices"][0]
    finally:
        proxy.close()
        hub.stop()
    assert restarts >= 1
    assert got == expected
    assert (status["acknowledged_seq"], status["entries"], status["gaps"]) == (ENTRIES, ENTRIES, 0)
    assert status["chain_ok"] is True and status["fork"] is False
    assert sum(proxy.counts.get(a, 0) for a in ("drop", "lose_answer", "duplicate", "stall")) >= 4, proxy.counts
    with Journal.open(dev_state / "journal.sqlite") as journal:
        assert journal.get_acknowledged() == ENTRIES
