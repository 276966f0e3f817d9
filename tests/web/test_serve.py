"""``appliance serve``: plain HTTP only on loopback; HTTPS with the provisioned certificate; clean stop."""

from __future__ import annotations

import datetime as dt
import os
import signal
import ssl
import subprocess
import sys

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from appliance.cli import main


def _config(tmp_path, extra: str = "") -> dict:
    cfg = tmp_path / "appliance.toml"
    cfg.write_text('[printer]\nkind = "file"\n[gpio]\nenabled = false\n' + extra)
    state = tmp_path / "state"
    state.mkdir(exist_ok=True)
    return {"APPLIANCE_CONFIG": str(cfg), "APPLIANCE_STATE_DIR": str(state)}


def _tls_pair(tmp_path):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(__import__("ipaddress").ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "web.crt", tmp_path / "web.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def test_plain_http_is_refused_off_loopback(tmp_path, monkeypatch, capsys):
    for k, v in _config(tmp_path).items():
        monkeypatch.setenv(k, v)
    assert main(["serve", "--host", "0.0.0.0", "--port", "0"]) == 1
    err = capsys.readouterr().err
    assert "refusing plain HTTP on 0.0.0.0" in err and "tls_cert" in err and "Traceback" not in err
    assert list((tmp_path / "state").iterdir()) == []                   # nothing was opened or written


def _serve(env: dict) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-m", "appliance", "serve", "--host", "127.0.0.1", "--port", "0"],
                            env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
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
    cert, key = _tls_pair(tmp_path)
    env = _config(tmp_path, f'[web]\ntls_cert = "{cert}"\ntls_key = "{key}"\n')
    proc, url = _serve(env)
    try:
        assert url.startswith("https://127.0.0.1:")
        with pytest.raises(httpx.ConnectError):
            httpx.get(url + "/login", timeout=10)                        # not trusted without the pinned cert
        resp = httpx.get(url + "/login", timeout=10, verify=ssl.create_default_context(cafile=str(cert)))
        assert resp.status_code == 200 and "Anmelden" in resp.text
        assert "max-age" in resp.headers["strict-transport-security"]
        cookie = resp.headers.get("set-cookie", "")
        assert "Secure" in cookie and "HttpOnly" in cookie
    finally:
        assert _stop(proc) == 0
