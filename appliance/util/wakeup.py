"""The sync wake-up socket: a unix datagram socket in the state directory.

The sync agent (its own process) listens on ``<state>/sync-wakeup.sock``; the journal sends a
datagram after every commit and the panel's long button press sends one to sync now. A
missing listener is no error: the agent also polls.
"""

from __future__ import annotations

import logging
import os
import select
import socket
import stat
import threading
from pathlib import Path

from appliance.errors import ConfigError

log = logging.getLogger(__name__)

WAKEUP_SOCKET = "sync-wakeup.sock"


def notify(state_dir: Path, message: bytes = b"w") -> bool:
    """Wake the agent of ``state_dir``; False when nobody listens (it will sync on its own schedule).

    The agent does not read ``message``; it says who woke it, for tests and for ``strace``.
    """
    target = Path(state_dir) / WAKEUP_SOCKET
    if not target.exists():
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.setblocking(False)
            sock.sendto(message, str(target))
        return True
    except OSError:
        return False


class Wakeup:
    """A bound unix datagram socket; any datagram on it wakes the agent."""

    def __init__(self, path: Path):
        self.path = Path(path)
        if self.path.exists() or self.path.is_symlink():
            if not stat.S_ISSOCK(self.path.lstat().st_mode):
                raise ConfigError(f"{self.path} exists and is not a socket; remove it")
            self.path.unlink()  # stale socket of an earlier run
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            self._sock.bind(str(self.path))
        except OSError:
            self._sock.close()
            raise
        os.chmod(self.path, 0o660)
        self._sock.setblocking(False)

    def drain(self) -> bool:
        woke = False
        while True:
            try:
                self._sock.recv(64)
                woke = True
            except (BlockingIOError, InterruptedError):
                return woke

    def wait(self, timeout_s: float, stop: threading.Event | None = None) -> bool:
        """Wait up to ``timeout_s`` for a datagram (checking ``stop`` twice a second)."""
        remaining = timeout_s
        while remaining > 0 and not (stop and stop.is_set()):
            step = min(remaining, 0.5)
            ready, _, _ = select.select([self._sock], [], [], step)
            if ready:
                return self.drain() or True
            remaining -= step
        return False

    def close(self) -> None:
        self._sock.close()
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass
