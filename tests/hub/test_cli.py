"""``appliance hub register-device | import`` and the device's ``journal export`` as real processes."""

from __future__ import annotations

from pathlib import Path

import pytest

from appliance.devices.signer import SoftwareSigner
from appliance.hub.store import HubStore
from appliance.journal.journal import Journal
from tests.support.cli import appliance_env, run_appliance, write_config
from tests.support.clock import NOW
from tests.support.journal import issue_specs

DEVICE = "centre-7"


@pytest.fixture
def device(tmp_path: Path):
    """A device state dir with a software key and a journal of 40 entries; its CLI environment."""
    state = tmp_path / "device"
    state.mkdir()
    signer = SoftwareSigner.open(state, now=NOW)
    with Journal.open(state / "journal.sqlite") as journal:
        journal.append_bulk(issue_specs(40, signer), now=NOW, operator="staff1")
    config = write_config(tmp_path / "device.toml", f'[device]\nid = "{DEVICE}"\n[signer]\nkind = "software"\n')
    return state, appliance_env(config, state)


@pytest.fixture
def hub(tmp_path: Path):
    state = tmp_path / "hubstate"
    return state, appliance_env(write_config(tmp_path / "hub.toml", "[hub]\nmax_batch = 100\n"), state)


def hub_entries(hub_state: Path) -> list[dict]:
    store = HubStore.open(hub_state / "hub.sqlite")
    try:
        return store.entries(DEVICE)
    finally:
        store.close()


def test_register_device_is_idempotent_and_rotation_needs_yes(device, hub, tmp_path):
    dev_state, _ = device
    _, env = hub
    dsc_file = dev_state / "software-signer" / "dsc.pem"
    r = run_appliance("hub", "register-device", "--device-id", DEVICE, "--dsc", str(dsc_file), env=env)
    assert r.returncode == 0 and "registered" in r.stdout, r.stderr
    r = run_appliance("hub", "register-device", "--device-id", DEVICE, "--dsc", str(dsc_file), env=env)
    assert r.returncode == 0 and "unchanged" in r.stdout
    other = tmp_path / "other.pem"
    from cryptography.hazmat.primitives.serialization import Encoding

    other.write_bytes(SoftwareSigner.generate(now=NOW).certificate.public_bytes(Encoding.PEM))
    r = run_appliance("hub", "register-device", "--device-id", DEVICE, "--dsc", str(other), env=env)
    assert r.returncode == 1
    assert r.stderr.startswith("appliance: error:") and "--yes" in r.stderr and "Traceback" not in r.stderr
    r = run_appliance("hub", "register-device", "--device-id", DEVICE, "--dsc", str(other), "--yes", env=env)
    assert r.returncode == 0 and "rotated" in r.stdout
    r = run_appliance("hub", "register-device", "--device-id", DEVICE, "--dsc", tmp_path / "missing.pem", env=env)
    assert r.returncode == 2 and "cannot read" in r.stderr


def test_usb_bundle_import_with_the_batch_checks(device, hub, tmp_path):
    dev_state, dev_env = device
    hub_state, env = hub
    bundle = tmp_path / "usb" / "bundle.cose"
    bundle.parent.mkdir()
    r = run_appliance("journal", "export", "--since", "0", "--out", str(bundle), env=dev_env)
    assert r.returncode == 0, r.stderr

    r = run_appliance("hub", "import", str(bundle), env=env)                 # device not registered yet
    assert r.returncode == 1 and "not registered" in r.stderr and "Traceback" not in r.stderr
    run_appliance("hub", "register-device", "--device-id", DEVICE, "--dsc",
                  dev_state / "software-signer" / "dsc.pem", env=env)

    data = bundle.read_bytes()
    tampered = tmp_path / "usb" / "tampered.cose"
    i = data.index(b"op-") + 3                                             # the operator's pseudonym
    tampered.write_bytes(data[:i] + (b"0" if data[i:i + 1] != b"0" else b"1") + data[i + 1:])
    r = run_appliance("hub", "import", str(tampered), env=env)
    assert r.returncode == 1 and "signature" in r.stderr
    assert hub_entries(hub_state) == []

    r = run_appliance("hub", "import", str(bundle), env=env)                 # 40 entries although max_batch is 100
    assert r.returncode == 0 and "40 new entries" in r.stdout, r.stderr
    with Journal.open(dev_state / "journal.sqlite") as journal:
        assert hub_entries(hub_state) == journal.entries()
    r = run_appliance("hub", "import", str(bundle), env=env)
    assert r.returncode == 0 and "0 new entries" in r.stdout           # a resent bundle is a no-op

    later = tmp_path / "usb" / "later.cose"
    with Journal.open(dev_state / "journal.sqlite") as journal:
        journal.append_bulk(issue_specs(5, SoftwareSigner.open(dev_state), start=41), now=NOW, operator="s")
    assert run_appliance("journal", "export", "--since", "42", "--out", str(later), env=dev_env).returncode == 0
    r = run_appliance("hub", "import", str(later), env=env)                   # 41..42 missing: a gap
    assert r.returncode == 1 and "out-of-order" in r.stderr and "from seq 41" in r.stderr
    assert len(hub_entries(hub_state)) == 40


def test_import_rejects_a_file_that_is_no_bundle(hub, tmp_path):
    _, env = hub
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\xff\xfe not a bundle")
    r = run_appliance("hub", "import", str(junk), env=env)
    assert r.returncode == 1 and "nothing imported" in r.stderr and "Traceback" not in r.stderr


def test_hub_refuses_plain_http_off_loopback(hub):
    _, env = hub
    r = run_appliance("hub", "serve", "--host", "0.0.0.0", "--port", "0", env=env)
    assert r.returncode == 1 and "plain HTTP is only allowed on loopback" in r.stderr


def test_hub_store_refuses_a_foreign_file(tmp_path):
    path = tmp_path / "hub.sqlite"
    path.write_bytes(b"this is not sqlite at all" * 100)
    from appliance.errors import HubError

    with pytest.raises(HubError, match="hub database"):
        HubStore.open(path)
