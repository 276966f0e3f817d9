"""Waiting for something that happens in another thread or process, and a free port to listen on."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable


def wait_until(condition: Callable[[], object], timeout_s: float = 20.0, *, interval_s: float = 0.02,
               ignore: tuple[type[BaseException], ...] = ()) -> bool:
    """Poll ``condition`` until it is true (True) or ``timeout_s`` passed (the last answer).

    A liveness bound, not a speed assertion. Exceptions of the types in ``ignore`` count as "not yet"
    (a server that is still starting, say)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if condition():
                return True
        except ignore:
            pass
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval_s)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (connections to it are refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
