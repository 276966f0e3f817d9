"""``appliance sync`` as a service process and ``appliance sync --once`` failure modes."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import httpx
import pytest

from appliance.devices.signer import SoftwareSigner
from appliance.journal.journal import Journal
from tests.support.cli import appliance_env, run_appliance, start_appliance, write_config
from tests.support.clock import NOW
from tests.support.hub_kit import HubProcess
from tests.support.journal import issue_specs
from tests.support.waiting import free_port, wait_until

DEVICE = "svc-dev"


@pytest.fixture
def device(tmp_path: Path):
    state = tmp_path / "device"
    state.mkdir()
    signer = SoftwareSigner.open(state, now=NOW)
    with Journal.open(state / "journal.sqlite") as journal:
        journal.append_bulk(issue_specs(5, signer), now=NOW, operator="staff1")
    return state, signer


@pytest.fixture
def hub(tmp_path: Path):
    env = appliance_env(write_config(tmp_path / "hub.toml", "[hub]\n"), tmp_path / "hub")
    proc = HubProcess(env, free_port(), tmp_path / "hub.log")
    proc.start()
    yield proc, env
    proc.stop()


def _device_env(tmp_path: Path, state: Path, hub_url: str):
    config = write_config(tmp_path / "device.toml", f'[device]\nid = "{DEVICE}"\n[sync]\nhub_url = "{hub_url}"\n'
                                                     "backoff_cap_s = 0.5\n")
    return appliance_env(config, state)


def test_service_wakes_on_a_commit_in_another_process_and_stops_on_sigterm(tmp_path, device, hub):
    state, signer = device
    proc, hub_env = hub
    assert run_appliance("hub", "register-device", "--device-id", DEVICE, "--dsc",
                         state / "software-signer" / "dsc.pem", env=hub_env).returncode == 0
    agent = start_appliance("sync", env=_device_env(tmp_path, state, proc.url),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        _wait(lambda: proc.acknowledged(DEVICE, signer=signer) == 5)
        _wait(lambda: (state / "sync-wakeup.sock").exists())
        with Journal.open(state / "journal.sqlite") as journal:  # the web process issuing, say
            journal.append("issued", now=NOW, operator="staff1", type="v", uvci="URN:UVCI:01:DE:DEMO1/X9#Z",
                           kid=signer.kid, signature=bytes(64), country="DE", data={"mp": "EU/1/20/1528"})
        _wait(lambda: proc.acknowledged(DEVICE, signer=signer) == 6)     # the agent idles 60 s: only the datagram explains this
    finally:
        agent.send_signal(signal.SIGTERM)
        _, err = agent.communicate(timeout=20)
    assert agent.returncode == 0, err
    assert not (state / "sync-wakeup.sock").exists()
    with Journal.open(state / "journal.sqlite") as journal:
        status = journal.get_sync_status()
        assert journal.get_acknowledged() == 6 and status["backlog"] == 0 and status["last_success"]


def test_once_exits_1_with_the_reason_when_the_hub_refuses(tmp_path, device, hub):
    state, _ = device
    proc, _ = hub                                   # the device is not registered there
    r = run_appliance("sync", "--once", env=_device_env(tmp_path, state, proc.url))
    assert r.returncode == 1
    assert r.stderr.strip().splitlines()[-1].startswith("appliance: error: hub refused")
    assert "not registered" in r.stderr and "Traceback" not in r.stderr
    with Journal.open(state / "journal.sqlite") as journal:
        assert journal.get_acknowledged() == 0
        assert "not registered" in journal.get_sync_status()["last_error"]


def test_once_gives_up_on_an_unreachable_hub_after_the_timeout(tmp_path, device):
    state, _ = device
    r = run_appliance("sync", "--once", "--timeout", "2",
                      env=_device_env(tmp_path, state, f"http://127.0.0.1:{free_port()}"))
    assert r.returncode == 1 and "cannot connect to the hub" in r.stderr


def _wait(condition, limit_s: float = 40.0) -> None:
    assert wait_until(condition, limit_s, interval_s=0.05, ignore=(httpx.HTTPError,)), "condition not reached in time"
