"""A power cut during ``appliance reference import``: SIGKILL at random moments.

After every kill the current set is complete (every file matches its manifest) and is
either the old one or the new one, never a mix; the next import finishes the job."""

from __future__ import annotations

import random
import signal
import time
from pathlib import Path

from appliance.reference import store
from tests.support import reference as R
from tests.support.cli import run_appliance, start_appliance

KILLS = 16


def _current(state: Path) -> tuple[str, dict]:
    folder = store.current_dir(state)
    assert folder is not None, "current must always point at a complete set"
    assert store.integrity_problems(folder) == [], folder
    return folder.name, store.versions(state)


def test_sigkill_during_import_leaves_old_or_new(tmp_path, device_env, kit, bundle, inputs):
    state = Path(device_env["APPLIANCE_STATE_DIR"])
    base = tmp_path / "base.dccbundle"
    base.write_bytes(bundle)
    assert run_appliance("reference", "import", base, env=device_env).returncode == 0
    # a bigger bundle, so that the kill lands inside the install as well as before it
    batches = [{"country": "AT", "kid": "AAAAAAAAAAA=", "hashType": "UCI", "expires": "2030-01-01T00:00:00Z",
                "entries": [{"hash": R.uci_batch(f"URN:UVCI:01:AT:{n}")[0]["entries"][0]["hash"]}
                            for n in range(i * 1000, (i + 1) * 1000)]} for i in range(40)]
    newer = tmp_path / "newer.dccbundle"
    newer.write_bytes(kit.bundle(bundle, revocations=batches))
    old_versions = store.versions(state)
    new_versions = {**old_versions, "revocations": old_versions["revocations"] + 1}

    started = time.monotonic()
    proc = run_appliance("reference", "import", newer, env=device_env)
    took = time.monotonic() - started
    assert proc.returncode == 0, proc.stderr
    assert store.rollback(state)[1] == "v-0001"          # back to the old set for the kill runs

    rng = random.Random(20261128)
    outcomes = set()
    for _ in range(KILLS):
        child = start_appliance("reference", "import", newer, env=device_env)
        time.sleep(rng.uniform(0.3, 1.1) * took / 2)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        name, versions = _current(state)
        assert versions in (old_versions, new_versions), versions
        outcomes.add(versions == new_versions)
        if versions == new_versions:                   # finished before the kill: go back and retry
            store.rollback(state)
    proc = run_appliance("reference", "import", newer, env=device_env)
    assert proc.returncode == 0, proc.stderr
    assert _current(state)[1] == new_versions
    assert not list((state / "reference").glob(".staging-*"))        # half-written sets were removed
    assert False in outcomes                            # at least one kill hit before the switch
