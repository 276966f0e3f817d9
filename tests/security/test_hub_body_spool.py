"""Issue 11, finding 8 (rest): the hub's plain-HTTP server (waitress, loopback behind nginx) keeps a
request body in memory up to the body limit; it never spools it to a temporary file on disk."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

from tests.support.cli import appliance_env, write_config
from tests.support.hub_kit import HubProcess
from tests.support.waiting import free_port

BODY = 2 * 1024 * 1024   # between waitress's default spool threshold (512 KiB) and the hub's limit (3 MiB)


def _open_files(pid: int) -> list[str]:
    out = []
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            out.append(os.readlink(fd))
        except OSError:
            continue
    return out


def test_a_2_mib_body_is_not_spooled_to_a_temporary_file(tmp_path):
    spool = tmp_path / "tmp"
    spool.mkdir()
    env = appliance_env(write_config(tmp_path / "hub.toml", "[hub]\n"), tmp_path / "hub", extra={"TMPDIR": str(spool)})
    hub = HubProcess(env, free_port(), tmp_path / "hub.log")
    hub.start()
    try:
        before = [f for f in _open_files(hub.proc.pid) if str(spool) in f or "(deleted)" in f]
        with socket.create_connection(("127.0.0.1", hub.port), timeout=10) as conn:
            conn.sendall(f"POST /api/v1/devices/dev-x/batches HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                         f"Content-Type: application/cose\r\nContent-Length: {BODY}\r\n\r\n".encode())
            conn.sendall(b"\0" * (BODY - 1))            # all but the last byte: the server holds the rest
            time.sleep(1.0)
            during = [f for f in _open_files(hub.proc.pid) if str(spool) in f or "(deleted)" in f]
            conn.sendall(b"\0")
            answer = conn.recv(4096)
        assert answer.startswith(b"HTTP/1.1 4"), answer[:200]   # refused (not a batch), after reading it
        assert during == before == [], during
        assert list(spool.iterdir()) == []
    finally:
        hub.stop()
