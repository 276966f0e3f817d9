"""``appliance serve [--host H] [--port P]``: the tablet UI.

Plain HTTP (waitress) only on a loopback address: in production behind nginx, which terminates
TLS and buffers slow clients (``provisioning/nginx/appliance.conf``, ``[web] behind_proxy``), and
for ``make demo``. Request bodies over the app's limit are refused before they are read, and
nothing is spooled to temporary files. On any other address ``[web] tls_cert`` and ``tls_key``
must be set, and the UI is served over HTTPS by cheroot's WSGI server (development only: eight
threads that slow clients can hold). Also starts the print worker and the GPIO status panel.
``--port 0`` picks a free port; the first line on stdout says where it listens. On a full disk it
stops at once and says which disk to free; on a port another program holds, it says so in one
line (naming ``--port``) and exits 1.
"""

from __future__ import annotations

import errno
import ipaddress
import logging
import shutil
import signal
import socket
from pathlib import Path

from appliance.errors import ConfigError, DiskFull, UsageError
from appliance.config import load_config

log = logging.getLogger(__name__)

THREADS = 8
MIN_FREE_BYTES = 1 << 20         #: below this the state disk counts as full at start-up
BUFFER_BYTES = 4 << 20           #: waitress keeps request and response buffers up to this in memory


def register(subparsers) -> None:
    parser = subparsers.add_parser("serve", help="serve the tablet UI", description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", help="address to listen on (default: [web] host)")
    parser.add_argument("--port", type=int, help="port (default: [web] port; 0 = any free port)")
    parser.set_defaults(func=run)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def run(args) -> int:
    from appliance.runtime import build_services  # lazy: PIL, escpos, jsonschema, ~290 ms on every command
    from appliance.web import create_app  # lazy: the web app loads Flask and Babel, ~90 ms on every command

    config = load_config()
    host = args.host or config.web.host
    port = config.web.port if args.port is None else args.port
    if not 0 <= port <= 65535:
        raise UsageError(f"--port {port} is not a port number (0-65535)")
    tls = bool(config.web.tls_cert and config.web.tls_key)
    if not tls and not is_loopback(host):
        raise ConfigError(f"{config.source}: refusing plain HTTP on {host}: set [web] tls_cert and tls_key "
                          "(made at provisioning), or listen on 127.0.0.1")
    _check_disk(Path(config.state_dir))
    try:
        devices = build_services(config)
    except OSError as exc:
        raise _disk_full(Path(config.state_dir), exc) from None
    try:
        try:
            app = create_app(config, devices)
            devices.start()
        except OSError as exc:
            raise _disk_full(Path(config.state_dir), exc) from None
        if tls:
            _serve_tls(app, host, port, config.web.tls_cert, config.web.tls_key)
        else:
            _serve_plain(app, host, port, behind_proxy=config.web.behind_proxy)
    finally:
        devices.close()
    return 0


def _free_bytes(state: Path) -> int:
    here = state
    while not here.exists() and here != here.parent:
        here = here.parent
    return shutil.disk_usage(here).free


def _full_message(state: Path) -> str:
    free = _free_bytes(state)
    return (f"no space left on the disk of the state directory {state} ({free // 1024} KB free): free space "
            f"on that disk (old receipts in {state}/receipts, exports, logs), then start the service again")


def _check_disk(state: Path) -> None:
    if _free_bytes(state) < MIN_FREE_BYTES:
        raise DiskFull(_full_message(state))


def _disk_full(state: Path, exc: OSError) -> Exception:
    """A full disk met while starting, as the one-line error; any other OSError as it is."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return DiskFull(_full_message(state))
    return exc


def listen_error(exc: OSError, host: str, port: int, option: str = "--port") -> ConfigError:
    """A failed bind as one line that says what to do (``option``: the flag that picks the port)."""
    code = exc.errno or _bind_errno(host, port)   # cheroot's error has lost the errno of its bind
    if code == errno.EADDRINUSE:
        return ConfigError(f"port {port} on {host} is already in use by another program: stop that program, "
                           f"or choose another port with {option} N")
    if code == errno.EACCES:
        return ConfigError(f"port {port} on {host} needs more privileges than this user has: "
                           f"choose a port above 1023 with {option} N")
    if code == errno.EADDRNOTAVAIL:
        return ConfigError(f"cannot listen on {host}: that address is not on this machine; use 127.0.0.1 "
                           f"(--host) and put nginx in front")
    return ConfigError(f"cannot listen on {host}:{port} ({exc.strerror or exc}); choose another port with "
                       f"{option} N")


def _bind_errno(host: str, port: int) -> int | None:
    """The errno of binding ``host:port`` now (None when it works)."""
    try:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as exc:
        return exc.errno
    return None


def _announce(scheme: str, host: str, port: int) -> None:
    print(f"serving on {scheme}://{host}:{port}", flush=True)


def _proxy(behind_proxy: bool) -> dict:
    """waitress's proxy settings: behind nginx, the tablet's address and scheme come from nginx's
    X-Forwarded-For/-Proto, trusted only from 127.0.0.1 and one hop deep; otherwise such headers
    are dropped (waitress's default)."""
    if not behind_proxy:
        return {"clear_untrusted_proxy_headers": True}
    return {"trusted_proxy": "127.0.0.1", "trusted_proxy_count": 1,
            "trusted_proxy_headers": {"x-forwarded-for", "x-forwarded-proto"},
            "clear_untrusted_proxy_headers": True}


def _serve_plain(app, host: str, port: int, *, behind_proxy: bool = False) -> None:
    from waitress import create_server  # lazy: ~5 ms on every command, and only plain HTTP uses it
    # bodies over the app's limit get a 413 before they are read; nothing is spooled to /tmp
    try:
        server = create_server(app, host=host, port=port, threads=THREADS, ident="appliance",
                               max_request_body_size=app.config["MAX_CONTENT_LENGTH"],
                               inbuf_overflow=BUFFER_BYTES, outbuf_overflow=BUFFER_BYTES, **_proxy(behind_proxy))
    except OSError as exc:
        raise listen_error(exc, host, port) from None
    _announce("http", host, server.effective_port)
    signal.signal(signal.SIGTERM, lambda *_: server.close())
    try:
        server.run()
    except (KeyboardInterrupt, OSError, ValueError):
        pass  # closed by a signal


def _serve_tls(app, host: str, port: int, cert: str, key: str) -> None:
    from cheroot.ssl.builtin import BuiltinSSLAdapter  # lazy: cheroot and ssl, ~20 ms on every command
    from cheroot.wsgi import Server  # lazy: cheroot, ~20 ms on every command (only HTTPS uses it)
    server = Server((host, port), app, numthreads=THREADS, server_name="appliance")
    try:
        server.ssl_adapter = BuiltinSSLAdapter(cert, key)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"[web] tls_cert/tls_key cannot be loaded: {exc}") from None
    try:
        server.prepare()
    except OSError as exc:
        raise listen_error(exc, host, port) from None
    _announce("https", host, server.bind_addr[1])
    signal.signal(signal.SIGTERM, _raise_stop)
    try:
        server.serve()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


def _raise_stop(*_args) -> None:
    # cheroot's serve loop logs and swallows ordinary exceptions; KeyboardInterrupt leaves it
    raise KeyboardInterrupt()
