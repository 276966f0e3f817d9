"""`appliance demo --no-serve`: the README's first command sets up a device and issues three verified samples."""

import pytest

from appliance.keys import softtokens
from tests.support.cli import appliance_env, clean_env, run_appliance


@pytest.mark.parametrize("key", ["software", "softhsm"])
def test_demo_issues_and_verifies_three_samples_twice(tmp_path, key):
    if key == "softhsm" and not softtokens.softhsm_available():
        pytest.fail("SoftHSM2 is missing: `make test` installs softhsm2")
    drop = ("APPLIANCE_", "SOFTHSM2_")
    env = clean_env(drop=drop)
    args = ["demo", "--no-serve"] + (["--software-key"] if key == "software" else [])
    for run in range(2):  # the second run reuses the key, the DSC and the journal
        r = run_appliance(*args, env=env, cwd=tmp_path)
        assert r.returncode == 0, r.stderr
        assert r.stdout.count(" valid\n") == 3, r.stdout
    assert ("SoftHSM2 token" in r.stdout) == (key == "softhsm")
    out = tmp_path / "var" / "demo-out"
    assert sorted(p.name for p in out.iterdir()) == sorted(
        f"{n}.{ext}" for n in ("vaccination", "test", "recovery") for ext in ("png", "svg", "txt"))
    for name in ("vaccination", "test", "recovery"):
        hc1 = (out / f"{name}.txt").read_text().strip()
        v = run_appliance("verify", "--json", "--dsc",
                          tmp_path / "var" / ("dsc.pem" if key == "softhsm" else "software-signer/dsc.pem"), hc1,
                          env=env)
        assert v.returncode == 0, v.stdout
    j = run_appliance("journal", "verify", cwd=tmp_path,
                      env=appliance_env(tmp_path / "var" / "demo.toml", tmp_path / "var", drop=drop))
    assert j.returncode == 0 and "chain ok" in j.stdout, j.stderr
