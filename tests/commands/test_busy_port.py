"""A port another program holds: `appliance serve` and `appliance demo` say so in one line, no traceback."""

from __future__ import annotations

import socket

import pytest

from tests.support.cli import appliance_env, clean_env, run_appliance, write_config
from tests.support.pki import make_ca, make_server_cert


@pytest.fixture
def busy_port():
    """A real listening socket on 127.0.0.1 (another program's server); yields its port."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    yield s.getsockname()[1]
    s.close()


def _one_clear_line(r, port: int, option: str) -> None:
    assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr and "Traceback" not in r.stdout
    errors = [line for line in r.stderr.splitlines() if not line.startswith("WARNING ") and line.strip()]
    assert len(errors) == 1, r.stderr                        # (first start: the software key's warnings)
    assert errors[0].startswith("appliance: error: ") and f"port {port} on 127.0.0.1" in errors[0]
    assert "in use" in errors[0] and f"{option} N" in errors[0]


@pytest.mark.parametrize("tls", [False, True], ids=["http", "https"])
def test_serve_on_a_busy_port_says_so_in_one_line(tmp_path, busy_port, tls):
    extra = ""
    if tls:
        ca_key, ca_cert = make_ca("Test centre CA")
        cert, key = make_server_cert(ca_key, ca_cert, tmp_path, stem="web", common_name="127.0.0.1")
        extra = f'[web]\ntls_cert = "{cert}"\ntls_key = "{key}"\n'
    config = write_config(tmp_path / "appliance.toml", '[printer]\nkind = "file"\n[gpio]\nenabled = false\n' + extra)
    state = tmp_path / "state"
    state.mkdir()
    r = run_appliance("serve", "--host", "127.0.0.1", "--port", busy_port, env=appliance_env(config, state))
    _one_clear_line(r, busy_port, "--port")


@pytest.mark.parametrize("which", ["--port", "--hub-port"])
def test_demo_on_a_busy_port_says_so_before_setting_anything_up(tmp_path, busy_port, which):
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        free = other.getsockname()[1]     # closed again at once: free for the other option
    ports = {"--port": busy_port, "--hub-port": free} if which == "--port" else {"--port": free, "--hub-port": busy_port}
    r = run_appliance("demo", "--software-key", *[str(x) for kv in ports.items() for x in kv],
                      env=clean_env(drop=("APPLIANCE_", "SOFTHSM2_")), cwd=tmp_path)
    _one_clear_line(r, busy_port, which)
    assert not (tmp_path / "var").exists(), "nothing is set up before the ports are checked"
