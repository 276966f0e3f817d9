"""A fleet keeps its connections to the hub open (HTTP keep-alive): a real ``appliance hub serve``
must go on answering when more devices hold a connection than the web server's default of 100
(waitress then stopped accepting until idle connections timed out, about 150 s: the burst of 200
devices had a p95 of 10.7 s on PostgreSQL and 152 s on SQLite)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tests.support.cli import appliance_env, write_config
from tests.support.hub_kit import HubProcess
from tests.support.waiting import free_port

DEVICES = 160          #: more keep-alive connections than waitress's default connection_limit (100)


def _get(sock: socket.socket) -> bytes:
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    answer = b""
    while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
        chunk = sock.recv(4096)
        if not chunk:
            break
        answer += chunk
    return answer


@pytest.fixture
def hub(tmp_path: Path):
    env = appliance_env(write_config(tmp_path / "hub.toml", "[hub]\n"), tmp_path / "hub")
    proc = HubProcess(env, free_port(), tmp_path / "hub.log")
    proc.start()
    yield proc
    proc.stop()


def test_the_hub_answers_while_more_devices_than_the_default_limit_keep_their_connection_open(hub):
    held = []
    try:
        for i in range(DEVICES):
            sock = socket.create_connection(("127.0.0.1", hub.port), timeout=10)
            held.append(sock)
            try:
                answer = _get(sock)
            except socket.timeout:
                pytest.fail(f"the hub did not answer device {i + 1} within 10 s while {i} idle connections were open")
            assert answer.startswith(b"HTTP/1.1 200"), answer[:80]
        assert _get(held[0]).startswith(b"HTTP/1.1 200")       # the first one is still served, kept alive
    finally:
        for sock in held:
            sock.close()
