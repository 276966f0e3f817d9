"""`appliance issue` and `appliance journal` as real processes on a temp state dir."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image

from appliance.dcc import dsc, samples, verify
from appliance.journal.journal import Journal
from tests.support.cli import appliance_env, run_appliance
from tests.support.waiting import free_port


@pytest.fixture
def env(tmp_path, state_dir):
    """Environment for one device: its own config and state dir."""
    cfg = tmp_path / "appliance.toml"
    cfg.write_text(f'[printer]\nkind = "file"\npath = "{tmp_path / "receipts"}"\ntimeout_s = 20.0\n')
    return appliance_env(cfg, state_dir)


@pytest.fixture
def confirmed(env):
    """This test machine has neither NTP nor an RTC: an admin confirms the clock first (once per boot)."""
    r = run_appliance("journal", "confirm-clock", env=env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("clock confirmed at ")
    return env


@pytest.fixture
def example_file(tmp_path):
    """``example_file("t")`` -> a file with the packaged example, its dates moved to fit the real clock
    (the CLI issues on the real clock, not at the suite's fixed ``now``)."""
    def write(t):
        path = tmp_path / f"example-{t}.json"
        path.write_text(json.dumps(samples.example_input(t, now=datetime.now(timezone.utc))), encoding="utf-8")
        return path
    return write


def issued_entries(state_dir):
    path = state_dir / "journal.sqlite"
    if not path.exists():
        return []
    with Journal.open(path) as j:
        return [e for e in j.entries() if e["kind"] == "issued"]


@pytest.mark.parametrize("dcc_type", ["v", "t", "r"])
def test_issue_json_and_png_qr(confirmed, state_dir, tmp_path, dcc_type, example_file):
    png = tmp_path / "out.png"
    r = run_appliance("issue", "--type", dcc_type, "--input", example_file(dcc_type), "--json", "--qr", png,
                      env=confirmed)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert set(out) == {"uvci", "hc1", "type", "kid", "expires_at"} and out["type"] == dcc_type
    expires_at = datetime.strptime(out["expires_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    assert expires_at > datetime.now(timezone.utc)
    [decoded] = zxingcpp.read_barcodes(Image.open(png))
    assert decoded.text == out["hc1"]
    cert = dsc.load_certificate((state_dir / "software-signer" / "dsc.pem").read_bytes())
    result = verify.verify(decoded.text, dscs=[cert], at=datetime.now(timezone.utc))
    assert result.valid, result.errors
    assert result.to_json()["kid"] == out["kid"] == dsc.kid_b64(cert)
    assert result.payload[dcc_type][0]["ci"] == out["uvci"]
    assert [e["uvci"] for e in issued_entries(state_dir)] == [out["uvci"]]


def test_issue_svg_and_plain_output(confirmed, tmp_path, state_dir, example_file):
    svg = tmp_path / "qr.svg"
    r = run_appliance("issue", "--type", "v", "--input", example_file("v"), "--qr", svg, env=confirmed)
    assert r.returncode == 0, r.stderr
    uvci_line, hc1_line = r.stdout.strip().splitlines()
    assert hc1_line.startswith("HC1:") and issued_entries(state_dir)[0]["uvci"] in uvci_line
    assert "<svg" in svg.read_text()


def test_issue_print_to_file_printer(confirmed, tmp_path, state_dir, example_file):
    r = run_appliance("issue", "--type", "t", "--input", example_file("t"), "--print", env=confirmed)
    assert r.returncode == 0, r.stderr
    assert "did not take" not in r.stderr
    receipts = tmp_path / "receipts"
    produced = [p for p in (receipts.iterdir() if receipts.is_dir() else [receipts]) if p.stat().st_size > 0]
    assert produced


def test_issue_print_with_an_absent_printer_says_so(confirmed, tmp_path, state_dir, example_file):
    port = free_port()  # nothing listens there: connections are refused
    cfg = Path(confirmed["APPLIANCE_CONFIG"])
    cfg.write_text(f'[printer]\nkind = "network"\nhost = "127.0.0.1"\nport = {port}\ntimeout_s = 1.0\n')
    r = run_appliance("issue", "--type", "v", "--input", example_file("v"), "--print", "--json", env=confirmed)
    assert r.returncode == 0, r.stderr
    assert "did not take" in r.stderr and "stays queued" in r.stderr
    assert json.loads(r.stdout)["uvci"] == issued_entries(state_dir)[0]["uvci"]


def test_unconfirmed_clock_refuses_issuing(env, state_dir, tmp_path, example_file):
    if Path("/run/systemd/timesync/synchronized").exists() or Path("/dev/rtc0").exists():
        pytest.skip("this machine's clock is trusted without a confirmation")
    r = run_appliance("issue", "--type", "v", "--input", example_file("v"), "--qr", tmp_path / "q.png", env=env)
    assert r.returncode == 1
    errors = [line for line in r.stderr.splitlines() if not line.startswith("WARNING ")]
    assert len(errors) == 1 and errors[0].startswith("appliance: error: ") and "confirm" in errors[0]
    assert issued_entries(state_dir) == [] and not (tmp_path / "q.png").exists()


def bad(tmp_path, name, content):
    p = tmp_path / name
    p.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return p


def vaccination(**changes):
    data = samples.example_input("v")
    for key, value in changes.items():
        if key in data["vaccination"]:
            data["vaccination"][key] = value
        else:
            data[key] = value
    return data


@pytest.mark.parametrize("case, expect", [
    ("missing", "not found"),
    ("malformed", "not valid JSON"),
    ("not_object", "JSON object"),
    ("unknown_product", "vaccination.product"),
    ("impossible_date", "vaccination.date"),
    ("cjk_name", "family_name"),
])
def test_bad_input_one_line_nothing_written(confirmed, tmp_path, state_dir, case, expect):
    inputs = {
        "missing": tmp_path / "nope.json",
        "malformed": bad(tmp_path, "m.json", '{"family_name": "X",'),
        "not_object": bad(tmp_path, "n.json", [1, 2]),
        "unknown_product": bad(tmp_path, "p.json", vaccination(product="EU/9/99/9999")),
        "impossible_date": bad(tmp_path, "d.json", vaccination(date="2026-02-30")),
        "cjk_name": bad(tmp_path, "c.json", vaccination(family_name="李")),
    }
    qr = tmp_path / "out.png"
    before = sorted(p.name for p in state_dir.iterdir())
    r = run_appliance("issue", "--type", "v", "--input", inputs[case], "--json", "--qr", qr, env=confirmed)
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("appliance: error: ") and expect in lines[0]
    assert "Traceback" not in r.stderr and r.stdout == ""
    assert "李" not in r.stderr
    assert issued_entries(state_dir) == [] and not qr.exists()
    assert sorted(p.name for p in state_dir.iterdir()) == before


def test_unknown_qr_extension_is_a_usage_error_before_issuing(env, tmp_path, state_dir, example_file):
    r = run_appliance("issue", "--type", "v", "--input", example_file("v"), "--qr", tmp_path / "out.jpg", env=env)
    assert r.returncode == 2 and "--qr" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert list(state_dir.iterdir()) == [] and not (tmp_path / "out.jpg").exists()


def test_journal_verify_export_and_purge(confirmed, tmp_path, state_dir, example_file):
    for t in ("v", "t"):
        assert run_appliance("issue", "--type", t, "--input", example_file(t), env=confirmed).returncode == 0
    r = run_appliance("journal", "verify", env=confirmed)
    assert (r.returncode, r.stdout.strip()) == (0, "chain ok, 3 entries")
    bundle = tmp_path / "usb" / "bundle.cose"
    bundle.parent.mkdir()
    Path(confirmed["APPLIANCE_CONFIG"]).write_text("[sync]\nbatch_size = 1\n")
    r = run_appliance("journal", "export", "--since", "1", "--out", bundle, env=confirmed)
    assert r.returncode == 0, r.stderr
    from appliance.sync.batches import open_batch, split_bundle

    cert = dsc.load_certificate((state_dir / "software-signer" / "dsc.pem").read_bytes())
    batches = [open_batch(part, certificate=cert) for part in split_bundle(bundle.read_bytes())]
    assert len(batches) == 2 and {device for device, _ in batches} == {"demo-device-0001"}
    entries = [e for _, part in batches for e in part]
    with Journal.open(state_dir / "journal.sqlite") as j:
        assert entries == j.entries(after_seq=1) and [e["seq"] for e in entries] == [2, 3]
    assert b"Schnelltest" not in bundle.read_bytes() and "Weiß".encode() not in bundle.read_bytes()
    r = run_appliance("journal", "purge", env=confirmed)
    assert r.returncode == 0 and r.stdout.startswith("removed 0 personal records")
    r = run_appliance("journal", "export", "--since", "3", "--out", tmp_path / "empty.cose", env=confirmed)
    assert r.returncode == 0 and not (tmp_path / "empty.cose").exists()


def test_exported_bundle_imports_at_the_hub(confirmed, tmp_path, state_dir, example_file):
    for t in ("v", "r"):
        assert run_appliance("issue", "--type", t, "--input", example_file(t), env=confirmed).returncode == 0
    bundle = tmp_path / "bundle.cose"
    assert run_appliance("journal", "export", "--out", bundle, env=confirmed).returncode == 0
    hub_state = tmp_path / "hub-state"
    hub_state.mkdir()
    hub = {**confirmed, "APPLIANCE_STATE_DIR": str(hub_state)}
    r = run_appliance("hub", "register-device", "--device-id", "demo-device-0001",
                      "--dsc", state_dir / "software-signer" / "dsc.pem", env=hub)
    assert r.returncode == 0, r.stderr
    r = run_appliance("hub", "import", bundle, env=hub)
    assert r.returncode == 0, r.stderr
    assert "3 new entries" in r.stdout and "up to seq 3" in r.stdout


def test_issue_on_the_command_line_applies_the_admins_settings(confirmed, state_dir, example_file):
    """The validity an admin set on the tablet applies to `appliance issue` too (its own process)."""
    from appliance.settings import Settings

    settings = Settings.open(state_dir)
    try:
        settings.update_centre(validity_days_v=30)
    finally:
        settings.close()
    r = run_appliance("issue", "--type", "v", "--input", example_file("v"), "--json", env=confirmed)
    assert r.returncode == 0, r.stderr
    expires = datetime.strptime(json.loads(r.stdout)["expires_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    days = (expires - datetime.now(timezone.utc)).days
    assert 28 <= days <= 30, days
