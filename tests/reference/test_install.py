"""Install with an atomic switch, rollback, status; and the same through the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from appliance.errors import ReferenceDataError
from appliance.reference import installed, store
from tests.support import reference as R
from tests.support.cli import run_appliance


def test_install_switch_carry_forward_and_rollback(tmp_path, kit, bundle, inputs, real_now):
    state = tmp_path / "s"
    assert store.versions(state) == dict.fromkeys(("valuesets", "trustlist", "revocations", "rules"), 0)
    first = store.install(state, bundle, anchor=kit.anchor, now=real_now, source="test")
    root = state / "reference"
    assert first.name == "v-0001" and (root / "current").readlink() == Path("v-0001")
    v2 = kit.bundle(bundle, revocations=R.uci_batch("URN:UVCI:01:AT:X#1"))
    second = store.install(state, v2, anchor=kit.anchor, now=real_now, source="test")
    assert second.changes["revocations"] == (1, 2) and second.changes["rules"] == (1, 1)
    assert (root / "current").readlink() == Path("v-0002") and (root / "previous").readlink() == Path("v-0001")
    ref = installed.load(state)
    assert ref.versions["revocations"] == 2 and ref.valuesets.is_valid("test-manf", R.NEW_RAT_DEVICE)
    assert len(ref.revocations) == 1 and ref.rules                   # the rules were carried forward
    assert store.integrity_problems(root / "v-0002") == []
    assert store.rollback(state) == ("v-0002", "v-0001")
    assert store.versions(state)["revocations"] == 1
    with pytest.raises(ReferenceDataError, match="no previous reference data"):
        store.rollback(state)
    # after a rollback the newer bundle may be installed again; the rolled-back set is dropped
    assert store.install(state, v2, anchor=kit.anchor, now=real_now, source="test").name == "v-0003"
    assert sorted(p.name for p in root.glob("v-*")) == ["v-0001", "v-0003"]   # v-0002 dropped, never reused


def test_status_reports_versions_ages_and_damage(tmp_path, kit, bundle, real_now):
    state = tmp_path / "s"
    assert store.status(state, now=real_now)["installed"] is False
    store.install(state, bundle, anchor=kit.anchor, now=real_now, source="test")
    info = store.status(state, now=real_now)
    assert info["current"] == "v-0001" and info["intact"] is True
    assert {k: v["version"] for k, v in info["content"].items()} == {
        "valuesets": 1, "trustlist": 1, "revocations": 1, "rules": 1}
    assert all(0 <= v["age_days"] < 1 for v in info["content"].values())
    (state / "reference" / "v-0001" / "rules.json").write_text("[]")
    assert store.status(state, now=real_now)["intact"] is False


def test_cli_import_status_rollback(tmp_path, device_env, kit, bundle, inputs):
    first, second = tmp_path / "b1.dccbundle", tmp_path / "b2.dccbundle"
    first.write_bytes(bundle)
    second.write_bytes(kit.bundle(bundle, revocations=[]))
    proc = run_appliance("reference", "import", first, env=device_env)
    assert proc.returncode == 0 and "installed as v-0001" in proc.stdout, proc.stderr
    proc = run_appliance("reference", "import", first, env=device_env)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith("appliance: error: bundle refused: versions: nothing newer")
    assert run_appliance("reference", "import", second, env=device_env).returncode == 0
    status = json.loads(run_appliance("reference", "status", "--json", env=device_env).stdout)
    assert status["current"] == "v-0002" and status["content"]["revocations"]["version"] == 2
    proc = run_appliance("reference", "rollback", env=device_env)
    assert proc.returncode == 0 and "from v-0002 to v-0001" in proc.stdout
    assert "version 1" in run_appliance("reference", "status", env=device_env).stdout


def test_cli_bad_input(tmp_path, device_env, kit):
    garbage = tmp_path / "garbage.dccbundle"
    garbage.write_bytes(b"\x1f\x8b not a bundle")
    proc = run_appliance("reference", "import", garbage, env=device_env)
    assert proc.returncode == 1 and "bundle refused: container" in proc.stderr and "Traceback" not in proc.stderr
    proc = run_appliance("reference", "import", tmp_path / "missing.dccbundle", env=device_env)
    assert proc.returncode == 2 and "cannot read" in proc.stderr
    assert not (Path(device_env["APPLIANCE_STATE_DIR"]) / "reference" / "current").exists()


def test_cli_import_needs_a_trust_anchor(tmp_path, bundle):
    from tests.support.cli import appliance_env, write_config
    env = appliance_env(write_config(tmp_path / "c.toml", "[signer]\nkind = \"software\"\n"), tmp_path)
    (tmp_path / "b.dccbundle").write_bytes(bundle)
    proc = run_appliance("reference", "import", tmp_path / "b.dccbundle", env=env)
    assert proc.returncode == 1 and "[reference] trust_anchor is not set" in proc.stderr
