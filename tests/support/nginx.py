"""Debian's nginx as a child process with a shipped site file (provisioning/nginx/*.conf), and
drip-fed TLS clients to throw at it.

:func:`run_nginx` renders the site file with test ports and paths (every substituted text must
be in the file, so a changed file fails loudly instead of being tested half), wraps it in a
minimal main configuration whose logs, pid and temp paths are in a temp folder, and runs
``nginx -p DIR -c DIR/nginx.conf -g 'daemon off;'`` until the block ends.

:class:`DripClients` opens N TLS connections and sends a request line and headers one byte at a
time, as a slowloris attack does, in its own thread and event loop with a hard overall bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

from tests.support.paths import REPO
from tests.support.toolcheck import require
from tests.support.waiting import wait_until

NGINX = "/usr/sbin/nginx"

_MAIN = """\
{user}worker_processes 1;
error_log {dir}/error.log warn;
events {{ worker_connections 2048; }}
http {{
    access_log {dir}/access.log;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    include {dir}/site.conf;
}}
"""


def render_site(name: str, substitutions: Mapping[str, str]) -> str:
    """``provisioning/nginx/NAME`` with each key replaced by its value (each key must occur)."""
    text = (REPO / "provisioning" / "nginx" / name).read_text()
    for old, new in substitutions.items():
        assert old in text, f"provisioning/nginx/{name} no longer contains {old!r}; update the test's rendering"
        text = text.replace(old, new)
    return text


@contextlib.contextmanager
def run_nginx(folder: Path, site: str, *, port: int) -> Iterator[subprocess.Popen]:
    """Run nginx with ``site`` (a rendered site file) until the block ends; waits for ``port``."""
    require(shutil.which(NGINX) is not None or Path(NGINX).exists(), "nginx is not installed (apt-get install nginx)")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "site.conf").write_text(site)
    user = "user root root;\n" if os.geteuid() == 0 else ""   # workers read the temp folder's test certificate
    (folder / "nginx.conf").write_text(_MAIN.format(dir=folder, user=user))
    test = subprocess.run([NGINX, "-t", "-p", str(folder), "-c", str(folder / "nginx.conf"),
                           "-g", f"pid {folder}/nginx.pid;"], capture_output=True, text=True, timeout=30)
    assert test.returncode == 0, test.stderr
    proc = subprocess.Popen([NGINX, "-p", str(folder), "-c", str(folder / "nginx.conf"),
                             "-g", f"daemon off; pid {folder}/nginx.pid;"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        import socket

        def listening() -> bool:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        assert wait_until(listening, 20, ignore=(OSError,)), (folder / "error.log").read_text()
        yield proc
    finally:
        proc.send_signal(signal.SIGQUIT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


class DripClients:
    """``count`` TLS connections to 127.0.0.1:``port`` that send a request one byte per ``every_s``."""

    REQUEST = b"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n" \
              b"Content-Length: 100000\r\nX-Padding: " + b"a" * 400 + b"\r\n\r\n"

    def __init__(self, port: int, count: int = 200, *, every_s: float = 0.5, hard_limit_s: float = 40.0):
        self.port, self.count, self.every_s, self.hard_limit_s = port, count, every_s, hard_limit_s
        self.connected = 0       #: handshakes completed
        self.open = 0            #: connections still dripping
        self.failed = 0          #: connections that could not be made
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="drip-clients", daemon=True)

    def __enter__(self) -> "DripClients":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(self.hard_limit_s + 10)

    def wait_connected(self, timeout_s: float = 30) -> bool:
        return wait_until(lambda: self.connected + self.failed >= self.count, timeout_s)

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        tasks = [asyncio.create_task(self._one(ctx)) for _ in range(self.count)]
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), self.hard_limit_s)

    async def _one(self, ctx: ssl.SSLContext) -> None:
        try:
            _reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", self.port, ssl=ctx), 15)
        except (OSError, asyncio.TimeoutError):
            self.failed += 1
            return
        self.connected += 1
        self.open += 1
        try:
            for byte in self.REQUEST:
                if self._stop.is_set():
                    break
                writer.write(bytes([byte]))
                await writer.drain()
                await asyncio.sleep(self.every_s)
        except (OSError, ConnectionError):
            pass
        finally:
            self.open -= 1
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 2)


def timed(fn) -> float:
    """Seconds ``fn()`` took (for the one latency property the front-server test asserts)."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start
