"""Fault test: SIGKILL an issuing process at random moments, 200+ times.

Afterwards every certificate a caller received is in the journal (with the same
HC1), the chain verifies, no UVCI appears twice, and SQLite's integrity check passes.
"""

from __future__ import annotations

import os
import queue
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time

import pytest

from appliance.dcc.samples import example_path
from appliance.journal.journal import Journal
from tests.support.cli import clean_env
from tests.support.paths import REPO

ISSUE_LOOP = REPO / "tests" / "support" / "issue_loop.py"
KILLS = 200
BUDGET_S = 150


@pytest.mark.slow
def test_sigkill_at_random_points_loses_nothing(state_dir, tmp_path):
    flag = tmp_path / "ntp-synchronized"
    flag.touch()  # the clock probe says NTP-synchronised (the probe path is an argument)
    proc = subprocess.Popen([sys.executable, str(ISSUE_LOOP), str(state_dir), str(flag), str(example_path("v"))],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=clean_env(), bufsize=1)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(l) for l in proc.stdout], daemon=True).start()
    rng = random.Random(20261128)
    received: list[tuple[str, str, str]] = []

    def until(prefix: str) -> int:
        while True:
            line = lines.get(timeout=60)
            if line.startswith("ISSUED "):
                received.append(tuple(line.rstrip("\n").split(" ", 3)[1:]))  # HC1 may hold spaces
            elif line.startswith(prefix):
                return int(line.split()[1])

    kills, start = 0, time.monotonic()
    try:
        while kills < KILLS and time.monotonic() - start < BUDGET_S:
            proc.stdin.write("go\n")
            proc.stdin.flush()
            pid = until("PID ")
            time.sleep(rng.uniform(0.0, 0.25))
            os.kill(pid, signal.SIGKILL)
            assert until("DEAD ") == pid
            kills += 1
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)
    assert kills >= KILLS, f"only {kills} kills fitted in the time budget"

    with Journal.open(state_dir / "journal.sqlite") as journal:
        assert journal.verify() is None
        issued = [e for e in journal.entries() if e["kind"] == "issued"]
        uvcis = [e["uvci"] for e in issued]
        assert len(uvcis) == len(set(uvcis)), "a UVCI was journaled twice"
        for _, uvci, hc1 in received:
            record = journal.certificate(uvci)
            assert record is not None, f"a returned certificate is missing from the journal: {uvci}"
            assert record.personal["hc1"] == hc1
    fresh = [u for replayed, u, _ in received if replayed == "0"]
    assert len(fresh) == len(set(fresh)), "a UVCI was handed out twice as new"
    assert any(r == "1" for r, _, _ in received), "no retried request was answered from the journal"
    assert len(received) > KILLS
    db = sqlite3.connect(state_dir / "journal.sqlite")
    try:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        db.close()
