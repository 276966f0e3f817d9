"""``appliance verify`` and ``appliance dsc`` as real subprocesses: exit codes, JSON shape, no tracebacks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from appliance.devices.signer import SoftwareSigner
from tests.support.cli import appliance_env, run_appliance


@pytest.fixture
def env(tmp_path: Path) -> dict:
    cfg = tmp_path / "appliance.toml"
    cfg.write_text('[signer]\nkind = "software"\n')
    state = tmp_path / "state"
    state.mkdir()
    return appliance_env(cfg, state)


@pytest.fixture
def dsc_file(tmp_path, software_signer) -> Path:
    path = tmp_path / "dsc.der"
    path.write_bytes(software_signer.certificate.public_bytes(serialization.Encoding.DER))  # DER on purpose
    return path


def test_valid_exit_0_with_json(env, make_hc1, dsc_file, now):
    hc1, _ = make_hc1()
    proc = run_appliance("verify", "--json", "--dsc", str(dsc_file), "--at", now.isoformat(), hc1, env=env)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["valid"] is True and out["type"] == "v" and out["errors"] == []


def test_stdin_keeps_spaces_strips_newline(env, make_hc1, dsc_file, now):
    hc1, _ = make_hc1()
    proc = run_appliance("verify", "--json", "--dsc", str(dsc_file), "--at", now.isoformat(), "-", env=env,
                         stdin=hc1 + "\n")
    assert proc.returncode == 0, proc.stdout
    proc = run_appliance("verify", "--json", "--dsc", str(dsc_file), "--at", now.isoformat(), "-", env=env,
                         stdin=" " + hc1)
    assert proc.returncode == 1 and json.loads(proc.stdout)["checks"]["prefix"] is False


def test_invalid_exit_1_and_human_summary(env, make_hc1, dsc_file, now):
    hc1, _ = make_hc1(days=1)
    later = "2030-01-01T00:00:00Z"
    proc = run_appliance("verify", "--dsc", str(dsc_file), "--at", later, hc1, env=env)
    assert proc.returncode == 1
    assert proc.stdout.startswith("INVALID") and "validity_period" in proc.stdout


@pytest.mark.parametrize("args", [["verify"], ["verify", "--json", "--at", "yesterday", "HC1:X"],
                                  ["verify", "--json", "--dsc", "/nonexistent/dsc.pem", "HC1:X"]])
def test_usage_errors_exit_2(env, args):
    proc = run_appliance(*args, env=env)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and proc.stdout == ""


def test_not_a_certificate_file_is_usage_error(env, tmp_path):
    bad = tmp_path / "bad.pem"
    bad.write_text("not a certificate")
    proc = run_appliance("verify", "--json", "--dsc", str(bad), "HC1:X", env=env)
    assert proc.returncode == 2 and "X.509" in proc.stderr


@pytest.mark.parametrize("garbage", ["HC1:%%%%", "HC1:" + "Z" * 400, "hello world", "HC1:NCFOXN%TS"])
def test_garbage_prints_json_never_a_traceback(env, dsc_file, garbage):
    proc = run_appliance("verify", "--json", "--dsc", str(dsc_file), garbage, env=env)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    out = json.loads(proc.stdout)
    assert out["valid"] is False and out["errors"]


def test_dsc_command_writes_pem_and_verify_trusts_device_dsc(env, tmp_path, now):
    out_file = tmp_path / "out.pem"
    proc = run_appliance("dsc", "--out", str(out_file), env=env)
    assert proc.returncode == 0, proc.stderr
    signer = SoftwareSigner.open(Path(env["APPLIANCE_STATE_DIR"]), create=False)
    assert out_file.read_bytes() == signer.certificate.public_bytes(serialization.Encoding.PEM)
    assert proc.stdout.strip() == __import__("base64").b64encode(signer.kid).decode()



def test_default_trust_is_the_device_dsc(env, make_hc1, now):
    signer = SoftwareSigner.open(Path(env["APPLIANCE_STATE_DIR"]), now=now)  # the device's demo key
    hc1, _ = make_hc1(signer=signer)
    proc = run_appliance("verify", "--json", "--at", now.isoformat(), hc1, env=env)
    assert proc.returncode == 0, proc.stdout
    other, _ = make_hc1()  # signed by a key this device does not know
    assert run_appliance("verify", "--json", "--at", now.isoformat(), other, env=env).returncode == 1
