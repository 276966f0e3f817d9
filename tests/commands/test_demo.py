"""`appliance demo --no-serve`: the README's first command sets up a device and issues three verified samples."""

import os
import subprocess
import sys

import pytest

from appliance.keys import softtokens


@pytest.mark.parametrize("key", ["software", "softhsm"])
def test_demo_issues_and_verifies_three_samples_twice(tmp_path, key):
    if key == "softhsm" and not softtokens.softhsm_available():
        pytest.fail("SoftHSM2 is missing: `make test` installs softhsm2")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("APPLIANCE_", "SOFTHSM2_"))}
    cmd = [sys.executable, "-m", "appliance", "demo", "--no-serve"] + (["--software-key"] if key == "software" else [])
    for run in range(2):  # the second run reuses the key, the DSC and the journal
        r = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        assert r.stdout.count(" valid\n") == 3, r.stdout
    assert ("SoftHSM2 token" in r.stdout) == (key == "softhsm")
    out = tmp_path / "var" / "demo-out"
    assert sorted(p.name for p in out.iterdir()) == sorted(
        f"{n}.{ext}" for n in ("vaccination", "test", "recovery") for ext in ("png", "svg", "txt"))
    for name in ("vaccination", "test", "recovery"):
        hc1 = (out / f"{name}.txt").read_text().strip()
        v = subprocess.run([sys.executable, "-m", "appliance", "verify", "--json", "--dsc",
                            str(tmp_path / "var" / ("dsc.pem" if key == "softhsm" else "software-signer/dsc.pem")), hc1],
                           env=env, capture_output=True, text=True, timeout=60)
        assert v.returncode == 0, v.stdout
    j = subprocess.run([sys.executable, "-m", "appliance", "journal", "verify"], cwd=tmp_path,
                       env=dict(env, APPLIANCE_STATE_DIR=str(tmp_path / "var"),
                                APPLIANCE_CONFIG=str(tmp_path / "var" / "demo.toml")),
                       capture_output=True, text=True, timeout=60)
    assert j.returncode == 0 and "chain ok" in j.stdout, j.stderr
