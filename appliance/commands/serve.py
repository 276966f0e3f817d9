"""``appliance serve [--host H] [--port P]``: the tablet UI.

Plain HTTP (waitress) only on a loopback address, for development and tests.
On any other address ``[web] tls_cert`` and ``tls_key`` must be set, and the UI
is served over HTTPS by cheroot's WSGI server with its built-in TLS adapter
(waitress has no TLS of its own). Also starts the print worker and the GPIO
status panel. ``--port 0`` picks a free port; the first line on stdout says
where it listens.
"""

from __future__ import annotations

import ipaddress
import logging
import signal

from appliance.errors import ConfigError, UsageError
from appliance.config import load_config

log = logging.getLogger(__name__)

THREADS = 8


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
    devices = build_services(config)
    try:
        app = create_app(config, devices)
        devices.start()
        if tls:
            _serve_tls(app, host, port, config.web.tls_cert, config.web.tls_key)
        else:
            _serve_plain(app, host, port)
    finally:
        devices.close()
    return 0


def _announce(scheme: str, host: str, port: int) -> None:
    print(f"serving on {scheme}://{host}:{port}", flush=True)


def _serve_plain(app, host: str, port: int) -> None:
    from waitress import create_server  # lazy: ~5 ms on every command, and only plain HTTP uses it
    server = create_server(app, host=host, port=port, threads=THREADS, ident="appliance")
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
    server.prepare()
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
