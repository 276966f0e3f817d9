"""Fault test: SIGKILL ``appliance batch issue`` at random moments (mid-signing and mid-rendering),
then run it again: exactly one certificate per valid row, no gap, the chain intact, every output
line belongs to a durable row."""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import time

from appliance.batch import reports
from appliance.journal.journal import Journal
from tests.batch import lists
from tests.support.cli import APPLIANCE, run_appliance
from tests.support.paths import REPO

N = 250
KILLS = 4


def _batch_entries(journal_path) -> int:
    try:
        db = sqlite3.connect(f"file:{journal_path}?mode=ro", uri=True, timeout=5)
        try:
            return db.execute("SELECT count(*) FROM entries WHERE idempotency_key LIKE 'batch:%'").fetchone()[0]
        finally:
            db.close()
    except sqlite3.OperationalError:
        return 0


def test_sigkill_and_resume_gives_exactly_one_certificate_per_valid_row(cli_env, state_dir, tmp_path):
    rows, planted = lists.vaccination_rows(N, bad_every=50)
    valid = N - len(planted)
    source = lists.write(tmp_path / "liste.csv", lists.csv_bytes(rows, encoding="cp1252"))
    out = tmp_path / "out"
    args = ["batch", "issue", "--type", "v", "--input", source, "--out", out, "--yes", "--group-size", "10",
            "--per-file", "40", "--workers", "1"]
    rng = random.Random(20261201)
    journal_path = state_dir / "journal.sqlite"
    seen = []
    for attempt in range(KILLS):
        proc = subprocess.Popen([*APPLIANCE, *map(str, args)], env=cli_env, cwd=REPO,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        target = rng.randint(1, valid - 1) if attempt % 2 == 0 else None   # mid-signing, or at a random time
        deadline = time.monotonic() + (rng.uniform(0.5, 3.0) if target is None else 30)
        while proc.poll() is None and time.monotonic() < deadline:
            if target is not None and _batch_entries(journal_path) >= target:
                break
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        seen.append(_batch_entries(journal_path))
        manifest = out / "manifest.csv"
        if manifest.exists():   # no output line for a row whose group is not durable
            with Journal.open(journal_path) as journal:
                for line in reports.read_manifest(manifest):
                    assert journal.certificate(line["uvci"]) is not None
    assert any(0 < n < valid for n in seen), f"no kill hit the signing phase: {seen}"

    final = run_appliance(*args, env=cli_env, timeout=120)
    assert final.returncode == 1, final.stderr           # the planted rows are reported
    assert "Traceback" not in final.stderr
    again = run_appliance(*args, env=cli_env, timeout=120)
    assert "issued 0," in again.stdout

    with Journal.open(journal_path) as journal:
        assert journal.verify() is None
        issued = [e for e in journal.entries() if e["kind"] == "issued"]
        uvcis = [e["uvci"] for e in issued]
        assert len(issued) == valid and len(set(uvcis)) == valid
        assert journal.peek_sequence("uvci") == valid + 1      # UVCI numbers 1..valid: no gap, none twice
        manifest = reports.read_manifest(out / "manifest.csv")
        assert sorted(int(m["row"]) for m in manifest) == sorted(set(range(2, N + 2)) - set(planted))
        assert {m["uvci"] for m in manifest} == set(uvcis)
        for m in manifest[:: 37]:
            assert journal.certificate(m["uvci"]).personal["hc1"].startswith("HC1:")
    errors = reports.read_manifest(out / "errors.csv")
    assert {int(e["row"]) for e in errors} == set(planted)
    files = sorted(p.name for p in out.glob("letters-*.pdf"))
    assert files == [f"letters-{i:04d}.pdf" for i in range(1, (valid + 39) // 40 + 1)]
    assert not list(out.glob(".*.tmp"))
    db = sqlite3.connect(journal_path)
    try:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        db.close()
