"""The hub publishes signed bundles; devices ask for newer ones at every sync; the hub's own
revocation export reaches every device's verifier."""

from __future__ import annotations

import base64
import json

import httpx
from cryptography.hazmat.primitives import serialization

from appliance.config import load_config
from appliance.dcc import verify as V
from appliance.devices.clock import FixedClock
from appliance.devices.hub_client import InProcessHubClient
from appliance.hub import create_hub_app
from appliance.issue import Issuer
from appliance.journal.journal import Journal
from appliance.reference import installed, store
from appliance.reference.fetch import HubReference
from appliance.sync.agent import SyncAgent
from tests.support import reference as R
from tests.support.cli import appliance_env, run_appliance, write_config
from tests.support.clock import NOW


def _hub_env(tmp_path):
    cfg = write_config(tmp_path / "hub.toml", '[hub]\ndatabase = "sqlite:///hub.sqlite"\n')
    return appliance_env(cfg, tmp_path / "hub"), load_config(cfg, env={}, state_dir=tmp_path / "hub")


def _publish(env, files, *args):
    proc = run_appliance("hub", "reference", "publish", "--key", files["key"], "--cert", files["cert"], *args, env=env)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def _device(tmp_path, name, files, hub_app):
    config = load_config(env={}, state_dir=tmp_path / name, overrides={
        "device": {"id": name}, "sync": {"hub_url": "http://127.0.0.1:9"},
        "reference": {"trust_anchor": str(files["anchor"])}})
    (tmp_path / name).mkdir()
    reference = HubReference(config, transport=httpx.WSGITransport(app=hub_app))
    return config, reference


def test_publish_and_latest(tmp_path, kit, inputs):
    files = kit.write(tmp_path / "office")
    env, config = _hub_env(tmp_path)
    revocations = tmp_path / "revocations.json"
    revocations.write_text(json.dumps({"batches": inputs["revocations"]}))   # the hub export's shape
    proc = _publish(env, files, "--valuesets", inputs["valuesets"], "--trustlist", inputs["trustlist"],
                    "--rules", inputs["rules"], "--revocations", revocations)
    assert proc.returncode == 0 and "rules 1" in proc.stdout, proc.stderr
    client = create_hub_app(config).test_client()
    r = client.get("/api/v1/reference/latest?have=valuesets:0,trustlist:0,revocations:0,rules:0")
    assert r.status_code == 200 and r.mimetype == "application/cbor"
    assert client.get("/api/v1/reference/latest?have=valuesets:1,trustlist:1,revocations:1,rules:1").status_code == 204
    assert client.get("/api/v1/reference/latest?have=weather:1").status_code == 400
    assert _publish(env, files, "--revocations", revocations).returncode == 0        # revocations only: v2
    r = client.get("/api/v1/reference/latest?have=valuesets:1,trustlist:1,revocations:1,rules:1")
    assert r.status_code == 200
    proc = _publish(env, files, "--rules", tmp_path)                                  # no rules there
    bad = tmp_path / "bad-rules"
    (bad / "x").mkdir(parents=True)
    (bad / "x" / "VR-AT-0001.json").write_text(json.dumps({"Identifier": "VR-AT-0001", "Logic": {"x": 1}}))
    proc = _publish(env, files, "--rules", bad)
    assert proc.returncode == 1 and "not published: rules[0] (VR-AT-0001)" in proc.stderr
    assert len(list((tmp_path / "hub" / "reference" / "bundles").glob("*.dccbundle")) ) >= 2


def test_device_fetches_newer_bundles_at_sync(tmp_path, kit, bundle, software_signer):
    files = kit.write(tmp_path / "office")
    env, hub_config = _hub_env(tmp_path)
    hub_app = create_hub_app(hub_config, now=lambda: NOW)
    hub_app.config["HUB_STORE"].register_device("dev-a", software_signer.certificate, now=NOW)
    config, reference = _device(tmp_path, "dev-a", files, hub_app)
    with Journal.open(config.state_dir / "journal.sqlite") as journal:
        agent = SyncAgent(config, journal, software_signer, InProcessHubClient(hub_app))
        agent.reference = reference
        assert agent.run_once() and store.versions(config.state_dir)["rules"] == 0   # nothing published yet
        (tmp_path / "b.dccbundle").write_bytes(bundle)
        from appliance.hub.reference import publish
        from appliance.reference.bundle import peek
        new = {name: json.loads(part.data) for name, part in peek(bundle).parts.items()}
        publish(hub_config.state_dir, new, key=kit.key, certificate=kit.cert, now=NOW)
        assert agent.run_once()
        assert store.versions(config.state_dir) == {"valuesets": 1, "trustlist": 1, "revocations": 1, "rules": 1}
        assert installed.load(config.state_dir).valuesets.is_valid("test-manf", R.NEW_RAT_DEVICE)
        assert agent.run_once() and store.status(config.state_dir, now=NOW)["current"] == "v-0001"  # 204


def test_one_devices_revocation_reaches_another_devices_verifier(tmp_path, kit, software_signer, example_t):
    files = kit.write(tmp_path / "office")
    env, hub_config = _hub_env(tmp_path)
    hub_app = create_hub_app(hub_config, now=lambda: NOW)
    hub_app.config["HUB_STORE"].register_device("dev-a", software_signer.certificate, now=NOW)
    config_a, _ = _device(tmp_path, "dev-a", files, hub_app)
    with Journal.open(config_a.state_dir / "journal.sqlite") as journal:
        issuer = Issuer(config=config_a, signer=software_signer, journal=journal, clock=FixedClock(NOW, synchronized=True))
        issued = issuer.issue(example_t(config_a), operator="staff1")
        issuer.revoke(issued.uvci, operator="admin", reason="issued to the wrong person")
        assert SyncAgent(config_a, journal, software_signer, InProcessHubClient(hub_app)).run_once()
    hub_app.config["HUB_STORE"].close()
    trust = tmp_path / "trust.json"
    trust.write_text(json.dumps([{"certificate": base64.b64encode(software_signer.certificate.public_bytes(
        serialization.Encoding.DER)).decode(), "country": "DE", "types": ["v", "t", "r"]}]))
    proc = _publish(env, files, "--revocations", "hub", "--trustlist", trust)
    assert proc.returncode == 0 and "revocations 1" in proc.stdout, proc.stderr
    hub_app = create_hub_app(hub_config, now=lambda: NOW)
    config_b, reference_b = _device(tmp_path, "dev-b", files, hub_app)
    assert reference_b.update(now=NOW) is not None
    ref = installed.load(config_b.state_dir)
    result = V.verify(issued.hc1, dscs=ref.dscs(), at=NOW, revocations=ref.revocations)
    assert result.checks["signature"] is True and result.revoked is True and not result.valid
    hub_app.config["HUB_STORE"].close()
