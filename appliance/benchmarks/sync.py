"""Benchmark: sync 31,000 journal entries to a hub process on 127.0.0.1 (goal <= 10 s).

A real journal (one bulk transaction to set it up), a real hub (``python -m appliance hub
serve``, plain HTTP on loopback, its own state dir) and the sync agent with the real
HTTP client and default batch size. Only ``SyncAgent.run_once`` is timed.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import httpx

from appliance.config import load_config
from appliance.devices.hub_client import HttpHubClient
from appliance.devices.signer import SoftwareSigner
from appliance.hub import DB_FILE
from appliance.hub.store import HubStore
from appliance.journal.journal import Journal
from appliance.sync.agent import SyncAgent

log = logging.getLogger(__name__)

DEVICE = "bench-device"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _journal(state: Path, signer, n: int, now: datetime) -> Journal:
    journal = Journal.open(state / "journal.sqlite")
    journal.append_bulk(({"kind": "issued", "type": "v", "uvci": f"URN:UVCI:01:DE:BENCH/{i:06d}#A",
                          "kid": signer.kid, "signature": os.urandom(64), "country": "DE",
                          "data": {"mp": "EU/1/20/1528", "dn": 1, "sd": 2, "co": "DE",
                                   "expires_at": "2027-11-28T10:00:00Z"}} for i in range(n)),
                        now=now, operator="bench")
    return journal


def _start_hub(folder: Path, port: int) -> subprocess.Popen:
    config = folder / "hub.toml"
    config.write_text("[hub]\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("APPLIANCE_")}
    env.update(APPLIANCE_CONFIG=str(config), APPLIANCE_STATE_DIR=str(folder / "hub"))
    proc = subprocess.Popen([sys.executable, "-m", "appliance", "hub", "serve", "--host", "127.0.0.1",
                             "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("the hub process did not start")


def run(ctx) -> list[tuple[str, str, str]]:
    n = 3_000 if ctx.quick else 31_000
    now = datetime.now(timezone.utc)
    state = ctx.tmp / "device"
    state.mkdir()
    signer = SoftwareSigner.generate(now=now)
    journal = _journal(state, signer, n, now)
    store = HubStore.open(ctx.tmp / "hub" / DB_FILE)
    store.register_device(DEVICE, signer.certificate, now=now)
    store.close()
    port = _free_port()
    hub = _start_hub(ctx.tmp, port)
    client = HttpHubClient(f"http://127.0.0.1:{port}")
    try:
        config = load_config(env={}, state_dir=state, overrides={"device": {"id": DEVICE}})
        agent = SyncAgent(config, journal, signer, client)
        t0 = time.perf_counter()
        ok = agent.run_once()
        elapsed = time.perf_counter() - t0
        if not ok or client.acknowledged(DEVICE, agent.status_credential) != n:   # the hub answers a signed request
            raise RuntimeError(f"sync did not finish: {journal.get_sync_status().get('last_error')}")
    finally:
        client.close()
        hub.terminate()
        hub.wait(timeout=15)
        journal.close()
    return [(f"sync {n:,} entries to a local hub (HTTP 127.0.0.1, batches of {config.sync.batch_size})",
             f"{elapsed:.2f} s", "<= 10 s" if n == 31_000 else "(quick run)"),
            ("sync throughput", f"{n / elapsed:,.0f} entries/s", "")]
