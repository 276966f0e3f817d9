"""The hub over HTTPS (cheroot) and the client's CA pinning, with CAs made in the test."""

from __future__ import annotations

import ssl
from datetime import datetime, timezone
from pathlib import Path

import pytest

from appliance.sync import batches
from appliance.sync.status_request import sign_status_request
from appliance.devices.hub_client import HttpHubClient
from appliance.errors import ConfigError, HubError, HubUnreachable
from appliance.hub.store import HubStore
from tests.support.cli import appliance_env, run_appliance, write_config
from tests.support.clock import NOW
from tests.support.hub_kit import DEVICE, HubProcess
from tests.support.journal import make_entries
from tests.support.pki import make_ca, make_server_cert, write_pem
from tests.support.waiting import free_port


@pytest.fixture
def tls_hub(tmp_path: Path, software_signer):
    ca_key, ca_cert = make_ca("Test hub CA")
    cert_file, key_file = make_server_cert(ca_key, ca_cert, tmp_path)
    state = tmp_path / "hub"
    config = write_config(tmp_path / "hub.toml", f'[hub]\ntls_cert = "{cert_file}"\ntls_key = "{key_file}"\n')
    env = appliance_env(config, state)
    dsc_file = write_pem(software_signer.certificate, tmp_path / "dsc.pem")
    assert run_appliance("hub", "register-device", "--device-id", DEVICE, "--dsc", dsc_file, env=env).returncode == 0
    ca_file = write_pem(ca_cert, tmp_path / "hub-ca.pem")
    hub = HubProcess(env, free_port(), tmp_path / "hub.log", scheme="https",
                     verify=ssl.create_default_context(cafile=str(ca_file)))
    hub.start()
    yield hub, ca_file, state
    hub.stop()


def test_sync_over_https_with_the_pinned_ca(tls_hub, software_signer):
    hub, ca_file, state = tls_hub
    client = HttpHubClient(hub.url, ca_file=str(ca_file))
    try:
        assert client.acknowledged(DEVICE) == 0
        entries = make_entries(20)
        assert client.push(DEVICE, batches.sign_batch(entries, device_id=DEVICE, signer=software_signer, now=NOW)) == 20
        assert client.acknowledged(DEVICE) == 0                # anonymous: shown nothing
        def signed(at=None):
            when = datetime.now(timezone.utc) if at is None else datetime.fromtimestamp(at, timezone.utc)
            return sign_status_request(DEVICE, software_signer, now=when)
        assert client.acknowledged(DEVICE, signed) == 20       # signed by the device: its progress
        assert client.acknowledged("someone-else") == 0        # not told that no such device exists
    finally:
        client.close()
    store = HubStore.open(state / "hub.sqlite")
    assert store.entries(DEVICE) == entries
    store.close()


def test_a_hub_signed_by_another_ca_is_refused(tls_hub, tmp_path, software_signer):
    hub, _, _ = tls_hub
    _, wrong = make_ca("Some other CA")
    client = HttpHubClient(hub.url, ca_file=str(write_pem(wrong, tmp_path / "wrong-ca.pem")))
    try:
        with pytest.raises(HubUnreachable, match="not signed by the pinned CA"):
            client.push(DEVICE, batches.sign_batch(make_entries(1), device_id=DEVICE, signer=software_signer, now=NOW))
    finally:
        client.close()


def test_plain_http_is_only_for_loopback_and_https_needs_a_ca():
    with pytest.raises(ConfigError, match="only allowed to localhost"):
        HttpHubClient("http://hub.example.org:8443")
    with pytest.raises(ConfigError, match="ca_file"):
        HttpHubClient("https://hub.example.org:8443")
    with pytest.raises(ConfigError, match="https://"):
        HttpHubClient("ftp://hub.example.org")


def test_unreachable_hub_is_reported_as_such():
    client = HttpHubClient(f"http://127.0.0.1:{free_port()}")
    with pytest.raises(HubUnreachable, match="cannot connect"):
        client.acknowledged(DEVICE)
    client.close()
