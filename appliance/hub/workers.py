"""``appliance hub serve --workers N``: N hub processes on one port.

Hub processes are stateless (everything lives in the database, per-device order is a row lock
there), so any of them may take any device's batch. The supervisor reserves the port, starts N
children (``appliance hub serve --worker``) that listen on it with ``SO_REUSEPORT`` (the kernel
spreads connections over them), restarts a child that dies, and stops them all on SIGTERM or
Ctrl-C. The alternative is N single processes on their own ports behind nginx
(``provisioning/nginx-hub.conf`` style: one ``upstream`` with N servers).
"""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import threading
import time

from appliance.hub.server import reuse_port_socket

log = logging.getLogger(__name__)

RESTART_DELAY_S = 0.5


def _spawn(host: str, port: int) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "appliance", "hub", "serve", "--host", host, "--port", str(port),
                             "--worker"])


def supervise(host: str, port: int, workers: int, *, announce=None) -> int:
    """Run ``workers`` hub processes on ``host:port`` until SIGTERM/SIGINT; returns the exit code.

    ``announce(port, pids)`` is called whenever the set of workers changes (the CLI prints it).
    """
    reserve = reuse_port_socket(host, port)          # holds the port (port 0: picks one) for the children
    port = reserve.getsockname()[1]
    stop = threading.Event()

    def on_signal(_signum, _frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    children = [_spawn(host, port) for _ in range(workers)]
    if announce:
        announce(port, [c.pid for c in children])
    try:
        while not stop.wait(0.2):
            for i, child in enumerate(children):
                if child.poll() is not None:
                    log.error("hub worker %d (pid %d) exited with %s; starting it again", i, child.pid,
                              child.returncode)
                    time.sleep(RESTART_DELAY_S)
                    children[i] = _spawn(host, port)
                    if announce:
                        announce(port, [c.pid for c in children])
    finally:
        for child in children:
            if child.poll() is None:
                child.terminate()
        for child in children:
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        reserve.close()
    return 0
