"""Issuing and verifying with installed reference data: a newer RAT device issues, a foreign
certificate verifies without --dsc, a revoked UCI shows as revoked, rules are reported."""

from __future__ import annotations

import json

import pytest

from appliance.dcc import form
from appliance.errors import InvalidInput
from appliance.issue import Issuer
from appliance.journal.journal import Journal
from appliance.reference import installed, store
from tests.support import reference as R
from tests.support.cli import run_appliance


def _rat_input(example, device: str) -> dict:
    data = example("t")
    data["test"]["test_device"] = device
    return data


@pytest.fixture
def example(now):
    from appliance.dcc.samples import example_input
    return lambda t: example_input(t, now=now)


def test_a_rat_device_of_the_current_bundle_issues(config, clock, software_signer, example, kit, bundle, now):
    vs = installed.current_valuesets(config.state_dir)
    with pytest.raises(InvalidInput) as exc:
        form.parse_input(_rat_input(example, R.NEW_RAT_DEVICE), type="t", device=config.device, now=now, valuesets=vs)
    assert exc.value.field_errors["test.test_device"].startswith(
        "is in no installed RAT device list (test-manf of 2021-07-01)")
    with Journal.open(config.state_dir / "journal.sqlite") as journal:
        issuer = Issuer(config=config, signer=software_signer, journal=journal, clock=clock)
        # the issuer itself checks too: a request made with another list is refused before signing
        req = form.parse_input(_rat_input(example, R.NEW_RAT_DEVICE), type="t", device=config.device, now=now,
                               valuesets=__import__("appliance.dcc.valuesets", fromlist=["build"]).load(
                                   str(R.new_valuesets(config.state_dir.parent / "vs"))))
        with pytest.raises(InvalidInput) as exc:
            issuer.issue(req, operator="staff1")
        assert "test.test_device" in exc.value.field_errors and journal.last_seq() == 0
        store.install(config.state_dir, bundle, anchor=kit.anchor, now=now, source="test")
        vs = installed.current_valuesets(config.state_dir)
        assert vs.dates["test-manf"] == R.NEW_TEST_MANF_DATE
        req = form.parse_input(_rat_input(example, R.NEW_RAT_DEVICE), type="t", device=config.device, now=now,
                               valuesets=vs)
        issued = issuer.issue(req, operator="staff1")
        assert issued.dcc["t"][0]["ma"] == R.NEW_RAT_DEVICE and journal.last_seq() == 1
        with pytest.raises(InvalidInput) as exc:           # an id in no installed list is still refused
            form.parse_input(_rat_input(example, "424242"), type="t", device=config.device, now=now, valuesets=vs)
        assert f"(test-manf of {R.NEW_TEST_MANF_DATE})" in exc.value.field_errors["test.test_device"]


def _verify(env, vec, *extra):
    proc = run_appliance("verify", "--json", "--at", vec.clock().isoformat(), *extra, vec.field("PREFIX"), env=env)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def test_foreign_certificate_verifies_without_dsc_and_revocation_shows(tmp_path, device_env, kit, bundle, foreign):
    code, out = _verify(device_env, foreign)
    assert code == 1 and out["checks"]["signature"] is False and out["revoked"] is None and out["rules"] is None
    (tmp_path / "b1.dccbundle").write_bytes(bundle)
    assert run_appliance("reference", "import", tmp_path / "b1.dccbundle", env=device_env).returncode == 0
    code, out = _verify(device_env, foreign)
    assert code == 0 and out["valid"] is True, out["errors"]
    assert out["checks"]["schema"] is True and out["checks"]["valuesets"] is True and out["revoked"] is False
    assert set(out["rules"]) >= {"EU"} and all(set(r) == {"passed", "failed"} for r in out["rules"].values())
    uvci = out["payload"][out["type"]][0]["ci"]
    (tmp_path / "b2.dccbundle").write_bytes(kit.bundle(bundle, revocations=R.uci_batch(uvci, foreign.country)))
    assert run_appliance("reference", "import", tmp_path / "b2.dccbundle", env=device_env).returncode == 0
    code, out = _verify(device_env, foreign)
    assert code == 1 and out["revoked"] is True and out["valid"] is False
    assert any(e.startswith("revoked:") for e in out["errors"])
    proc = run_appliance("verify", "--at", foreign.clock().isoformat(), foreign.field("PREFIX"), env=device_env)
    assert proc.returncode == 1 and "revoked" in proc.stdout


def test_rules_check_prints_each_rule(tmp_path, device_env, bundle, foreign):
    proc = run_appliance("rules", "check", foreign.field("PREFIX"), "--country", "EU", env=device_env)
    assert proc.returncode == 1 and "no business rules are installed" in proc.stderr
    (tmp_path / "b.dccbundle").write_bytes(bundle)
    assert run_appliance("reference", "import", tmp_path / "b.dccbundle", env=device_env).returncode == 0
    proc = run_appliance("rules", "check", "-", "--country", "EU", "--at", foreign.clock().isoformat(),
                         env=device_env, stdin=foreign.field("PREFIX"))
    lines = proc.stdout.splitlines()
    assert lines and all(line.split()[0] in ("PASS", "FAIL") for line in lines[:-1]), proc.stdout + proc.stderr
    assert lines[-1].startswith("EU: ") and proc.returncode == (0 if "EU: accepted" in lines[-1] else 1)
    assert run_appliance("rules", "check", "HC1:x", "--country", "Europe", env=device_env).returncode == 2
