"""Helpers for the hub and sync tests (loaded by conftest.py as module ``hub_kit``)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx

from appliance.journal import chain

REPO = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 28, 10, 0, tzinfo=timezone.utc)
DEVICE = "dev-0001"


def make_entries(n: int, *, start: int = 1, prev_hash: str = chain.GENESIS, kind: str = "issued") -> list[dict]:
    """A chained run of synthetic journal entries (no personal data)."""
    out = []
    for seq in range(start, start + n):
        entry = {"seq": seq, "time": (NOW + timedelta(seconds=seq)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                 "kind": kind, "operator": "staff1", "type": "v", "uvci": f"URN:UVCI:01:DE:T/{seq}",
                 "kid": "AAAAAAAAAAA=", "hash_uci": None, "hash_countrycodeuci": None, "hash_signature": None,
                 "data": {"mp": "EU/1/20/1528", "dn": 1}, "prev_hash": prev_hash}
        entry["hash"] = chain.entry_hash(entry)
        prev_hash = entry["hash"]
        out.append(entry)
    return out


def issue_specs(n: int, signer, *, start: int = 1) -> list[dict]:
    """Keyword sets for Journal.append_bulk: issued vaccination certificates."""
    return [{"kind": "issued", "type": "v", "uvci": f"URN:UVCI:01:DE:DEMO1/T{i:06d}#X", "kid": signer.kid,
             "signature": os.urandom(64), "country": "DE",
             "data": {"mp": "EU/1/20/1528", "dn": 1 + i % 3, "sd": 3, "co": "DE",
                      "expires_at": "2027-11-28T10:00:00Z"}}
            for i in range(start, start + n)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_config(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def cli_env(config_file: Path, state_dir: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("APPLIANCE_")}
    env.update(APPLIANCE_CONFIG=str(config_file), APPLIANCE_STATE_DIR=str(state_dir), PYTHONPATH=str(REPO))
    return env


def run_cli(args: list[str], env: dict, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "appliance", *args], env=env, capture_output=True,
                          text=True, timeout=120, cwd=REPO, **kw)


class HubProcess:
    """``appliance hub serve`` as a child process on a fixed port (restartable)."""

    def __init__(self, env: dict, port: int, log_path: Path, *, scheme: str = "http", verify=False):
        self.env, self.port, self.scheme, self.verify = env, port, scheme, verify
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 30.0) -> None:
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "appliance", "hub", "serve", "--host", "127.0.0.1",
                                          "--port", str(self.port)], env=self.env, cwd=REPO,
                                         stdout=subprocess.DEVNULL, stderr=log)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"hub exited: {self.log_path.read_text()[-2000:]}")
            try:
                if httpx.get(self.url + "/healthz", verify=self.verify, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError("hub did not start")

    def stop(self, *, kill: bool = False) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill() if kill else self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=15)
        self.proc = None


def make_ca(name: str):
    """A throwaway CA (key, certificate) for TLS tests."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    return key, cert


def make_server_cert(ca_key, ca_cert, folder: Path) -> tuple[Path, Path]:
    """A TLS server certificate for 127.0.0.1 signed by the CA; returns (cert file, key file)."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(timezone.utc)
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hub.test")]))
            .issuer_name(ca_cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                        x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    cert_file, key_file = folder / "hub-cert.pem", folder / "hub-key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


def write_pem(cert, path: Path) -> Path:
    from cryptography.hazmat.primitives import serialization

    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


class ChaosProxy:
    """A TCP proxy on 127.0.0.1 that misbehaves at random, one HTTP request per connection.

    Per connection it picks: drop at once, stall then forward, forward but drop the answer
    (the hub did the work, the client never hears), send the request upstream twice, or
    forward cleanly. Requests are rewritten to ``Connection: close``.
    """

    ACTIONS = ("drop", "stall", "lose_answer", "duplicate", "forward", "forward", "forward")

    def __init__(self, upstream_port: int, *, seed: int = 1, stall_s: tuple[float, float] = (0.2, 1.5)):
        import random
        import threading

        self.upstream_port = upstream_port
        self.rng = random.Random(seed)
        self.stall_s = stall_s
        self.counts: dict[str, int] = {}
        self._lock = threading.Lock()
        self._server = socket.socket()
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.bind(("127.0.0.1", 0))
        self._server.listen(32)
        self.port = self._server.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        import threading

        while not self._stop.is_set():
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            with self._lock:
                action = self.rng.choice(self.ACTIONS)
                delay = self.rng.uniform(*self.stall_s)
                self.counts[action] = self.counts.get(action, 0) + 1
            threading.Thread(target=self._handle, args=(conn, action, delay), daemon=True).start()

    @staticmethod
    def _read_request(conn: socket.socket) -> bytes | None:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return None
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        lines = [ln for ln in head.split(b"\r\n") if not ln.lower().startswith(b"connection:")]
        length = 0
        for ln in lines[1:]:
            name, _, value = ln.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        while len(body) < length:
            chunk = conn.recv(65536)
            if not chunk:
                return None
            body += chunk
        return b"\r\n".join(lines + [b"Connection: close"]) + b"\r\n\r\n" + body

    def _upstream(self, request: bytes) -> bytes:
        with socket.create_connection(("127.0.0.1", self.upstream_port), timeout=20) as up:
            up.sendall(request)
            answer = b""
            while True:
                chunk = up.recv(65536)
                if not chunk:
                    return answer
                answer += chunk

    def _handle(self, conn: socket.socket, action: str, delay: float) -> None:
        try:
            conn.settimeout(20)
            if action == "drop":
                return
            request = self._read_request(conn)
            if request is None:
                return
            if action == "stall":
                time.sleep(delay)
            answer = self._upstream(request)
            if action == "duplicate":
                answer = self._upstream(request)
            if action == "lose_answer":
                return
            conn.sendall(answer)
        except OSError:
            pass  # the hub is restarting, or the client gave up: the client sees a dropped connection
        finally:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._server.close()
