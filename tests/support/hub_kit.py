"""Helpers for the hub and sync tests: the test device's id, ``appliance hub serve`` as a process,
and a misbehaving network between device and hub."""

from __future__ import annotations

import socket
import subprocess
import time
from datetime import datetime, timezone
from pathlib import Path

import cbor2
import httpx

from appliance.dcc.sign import sig_structure
from appliance.sync.status_request import sign_status_request
from tests.support.cli import start_appliance

#: the device id of the hub fixtures (tests/support/hub_fixtures.py)
DEVICE = "dev-0001"


def raw_signed_batch(body: dict, signer) -> bytes:
    """A correctly signed COSE_Sign1 batch around an arbitrary ``body`` (``batches.sign_batch`` derives
    the body from the entries; this builds broken runs, to test the receiver's own checks)."""
    protected = cbor2.dumps({1: -7, 4: signer.kid})
    payload = cbor2.dumps(body)
    return cbor2.dumps(cbor2.CBORTag(18, [protected, {}, payload, signer.sign(sig_structure(protected, payload))]))


class HubProcess:
    """``appliance hub serve`` as a child process on a fixed port (restartable)."""

    def __init__(self, env: dict, port: int, log_path: Path, *, scheme: str = "http", verify=False,
                 extra: tuple = ()):
        self.env, self.port, self.scheme, self.verify, self.extra = env, port, scheme, verify, tuple(extra)
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def acknowledged(self, device_id: str, *, signer=None, timeout_s: float = 5.0) -> int:
        """The hub's ``acknowledged_seq`` for a device (raises httpx errors while it is down); the hub
        shows it only to a request signed by the device (``signer``), else it answers 0."""
        headers = {}
        if signer is not None:
            headers["Authorization"] = sign_status_request(device_id, signer, now=datetime.now(timezone.utc))
        return httpx.get(f"{self.url}/api/v1/devices/{device_id}", verify=self.verify, headers=headers,
                         timeout=timeout_s).json()["acknowledged_seq"]

    def start(self, timeout_s: float = 30.0) -> None:
        with open(self.log_path, "ab") as log:
            self.proc = start_appliance("hub", "serve", "--host", "127.0.0.1", "--port", self.port, *self.extra,
                                        env=self.env, stdout=subprocess.DEVNULL, stderr=log)
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

    def workers(self) -> list[int]:
        """The pids of the worker processes of ``hub serve --workers N`` (children of the supervisor)."""
        if self.proc is None:
            return []
        text = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text()
        return [int(p) for p in text.split()]

    def stop(self, *, kill: bool = False) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill() if kill else self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=15)
        self.proc = None


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
