"""``appliance serve``: plain HTTP only on loopback; HTTPS with the provisioned certificate; clean stop."""

from __future__ import annotations

import signal
import ssl
import subprocess

import httpx
import pytest

from appliance.cli import main
from tests.support.cli import appliance_env, start_appliance
from tests.support.pki import make_ca, make_server_cert, write_pem


def _config(tmp_path, extra: str = "") -> dict:
    """APPLIANCE_CONFIG and APPLIANCE_STATE_DIR of a device with a file printer and no GPIO."""
    cfg = tmp_path / "appliance.toml"
    cfg.write_text('[printer]\nkind = "file"\n[gpio]\nenabled = false\n' + extra)
    state = tmp_path / "state"
    state.mkdir(exist_ok=True)
    return {"APPLIANCE_CONFIG": str(cfg), "APPLIANCE_STATE_DIR": str(state)}


def _tls_files(tmp_path):
    """The web server's certificate and key (for 127.0.0.1), and the CA file a tablet pins."""
    ca_key, ca_cert = make_ca("Test centre CA")
    cert_file, key_file = make_server_cert(ca_key, ca_cert, tmp_path, stem="web", common_name="127.0.0.1")
    return cert_file, key_file, write_pem(ca_cert, tmp_path / "web-ca.pem")


def test_plain_http_is_refused_off_loopback(tmp_path, monkeypatch, capsys):
    for k, v in _config(tmp_path).items():
        monkeypatch.setenv(k, v)
    assert main(["serve", "--host", "0.0.0.0", "--port", "0"]) == 1
    err = capsys.readouterr().err
    assert "refusing plain HTTP on 0.0.0.0" in err and "tls_cert" in err and "Traceback" not in err
    assert list((tmp_path / "state").iterdir()) == []                   # nothing was opened or written


def _serve(env: dict) -> tuple[subprocess.Popen, str]:
    proc = start_appliance("serve", "--host", "127.0.0.1", "--port", "0",
                           env=appliance_env(env["APPLIANCE_CONFIG"], env["APPLIANCE_STATE_DIR"]),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline().strip()
    if not line.startswith("serving on "):
        proc.kill()
        pytest.fail(f"serve did not start: {line!r} {proc.stderr.read()[-2000:]}")
    return proc, line.removeprefix("serving on ")


def _stop(proc: subprocess.Popen) -> int:
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()


def test_serve_plain_http_on_loopback(tmp_path):
    proc, url = _serve(_config(tmp_path))
    try:
        assert url.startswith("http://127.0.0.1:")
        resp = httpx.get(url + "/login", timeout=10)
        assert resp.status_code == 200 and "Anmelden" in resp.text
        assert resp.headers["x-frame-options"] == "DENY"
        assert httpx.get(url + "/status.json", timeout=10).json()["ok"] is True
    finally:
        assert _stop(proc) == 0
    secret = tmp_path / "state" / "web-secret"
    assert secret.exists() and (secret.stat().st_mode & 0o777) == 0o600


def test_serve_https_with_the_provisioned_certificate(tmp_path):
    cert, key, ca = _tls_files(tmp_path)
    env = _config(tmp_path, f'[web]\ntls_cert = "{cert}"\ntls_key = "{key}"\n')
    proc, url = _serve(env)
    try:
        assert url.startswith("https://127.0.0.1:")
        with pytest.raises(httpx.ConnectError):
            httpx.get(url + "/login", timeout=10)                        # not trusted without the pinned CA
        resp = httpx.get(url + "/login", timeout=10, verify=ssl.create_default_context(cafile=str(ca)))
        assert resp.status_code == 200 and "Anmelden" in resp.text
        assert "max-age" in resp.headers["strict-transport-security"]
        cookie = resp.headers.get("set-cookie", "")
        assert "Secure" in cookie and "HttpOnly" in cookie
    finally:
        assert _stop(proc) == 0


def _fds_in(pid: int, folder) -> list[str]:
    import os

    out = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith(str(folder)):
            out.append(target)
    return out


def test_plain_http_refuses_a_large_body_without_spooling_it(tmp_path):
    """Finding 8: waitress spooled request bodies over 512 KiB to a temp file (in /tmp) before the
    app's 64 KiB limit refused them; now they are refused from the headers, and nothing is spooled."""
    import socket

    spool = tmp_path / "tmp"
    spool.mkdir()
    env = _config(tmp_path)
    proc = start_appliance("serve", "--host", "127.0.0.1", "--port", "0",
                           env=appliance_env(env["APPLIANCE_CONFIG"], env["APPLIANCE_STATE_DIR"],
                                             extra={"TMPDIR": str(spool)}),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        port = int(proc.stdout.readline().strip().rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(b"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\n"
                         b"Content-Length: 10485760\r\n\r\n")
            sent = 0
            try:
                while sent < 2 * 1024 * 1024:                     # well past waitress's 512 KiB spool limit
                    sock.sendall(b"x" * 65536)
                    sent += 65536
            except OSError:
                pass                                                # refused and closed early: fine
            spooled = _fds_in(proc.pid, spool)
            answer = sock.recv(200)
        assert spooled == [] and [p for p in spool.iterdir() if p.is_file()] == [], spooled   # (libraries keep caches in folders)
        assert answer.startswith(b"HTTP/1.1 413"), answer
    finally:
        _stop(proc)
