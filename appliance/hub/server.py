"""Running the hub: waitress for plain HTTP on loopback, cheroot for HTTPS.

waitress has no TLS, so with ``[hub] tls_cert``/``tls_key`` set the hub runs on
cheroot (CherryPy's WSGI server, with its built-in ``ssl`` adapter). Plain HTTP is
refused on anything but a loopback address: devices send their journals over
the network only encrypted, and pin the hub's CA (``[sync] ca_file``).
"""

from __future__ import annotations

import ipaddress
import logging
import resource
import signal
import socket
import threading
from pathlib import Path

from appliance.errors import ConfigError

log = logging.getLogger(__name__)

LOOPBACK_NAMES = {"localhost"}
#: open connections one hub process keeps (waitress's default, 100, is below a fleet's keep-alive
#: connections: past it waitress stopped accepting until idle ones timed out, ~150 s)
CONNECTION_LIMIT = 2000
FD_RESERVE = 64          #: file descriptors kept for the database pool, logs and files
BODY_MARGIN = 64 * 1024  #: request-line and header bytes waitress buffers beside a body of the limit


def connection_limit() -> int:
    """:data:`CONNECTION_LIMIT`, within this process's file limit (raising the soft limit if it may)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = CONNECTION_LIMIT + FD_RESERVE
    if soft != resource.RLIM_INFINITY and soft < wanted:
        soft = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    return CONNECTION_LIMIT if soft == resource.RLIM_INFINITY else max(100, min(CONNECTION_LIMIT, soft - FD_RESERVE))


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_listen(host: str, tls_cert: str, tls_key: str) -> bool:
    """True for HTTPS. Plain HTTP only on loopback; cert and key come together."""
    if bool(tls_cert) != bool(tls_key):
        raise ConfigError("[hub] tls_cert and tls_key must be set together")
    for name, path in (("tls_cert", tls_cert), ("tls_key", tls_key)):
        if path and not Path(path).is_file():
            raise ConfigError(f"[hub] {name}: file {path} not found")
    if not tls_cert and not is_loopback(host):
        raise ConfigError(f"[hub] host {host}: plain HTTP is only allowed on loopback; "
                          "set [hub] tls_cert and tls_key to serve on the network")
    return bool(tls_cert)


def reuse_port_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound with SO_REUSEPORT: several hub processes listen on one port and the
    kernel spreads the connections over them (:mod:`appliance.hub.workers`)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def serve(app, *, host: str, port: int, tls_cert: str = "", tls_key: str = "",
          threads: int = 8, reuse_port: bool = False) -> None:
    """Serve ``app`` until SIGTERM/SIGINT (``reuse_port``: share the port with sibling workers)."""
    if check_listen(host, tls_cert, tls_key):
        _serve_tls(app, host=host, port=port, cert=tls_cert, key=tls_key, threads=threads, reuse_port=reuse_port)
    else:
        import waitress  # lazy: ~5 ms, and only the plain-HTTP hub uses it (HTTPS uses cheroot)

        log.info("hub listening on http://%s:%d", host, port)
        where = {"sockets": [reuse_port_socket(host, port)]} if reuse_port else {"host": host, "port": port}
        limit = app.config["MAX_CONTENT_LENGTH"]
        # inbuf_overflow: a body up to the limit stays in memory; waitress's default (512 KiB) spooled
        # larger ones to a temporary file in /tmp (issue 11, finding 8). A larger body is refused (413).
        waitress.serve(app, threads=threads, ident="appliance-hub", connection_limit=connection_limit(),
                       max_request_body_size=limit, inbuf_overflow=limit + BODY_MARGIN, **where)


def _serve_tls(app, *, host: str, port: int, cert: str, key: str, threads: int, reuse_port: bool) -> None:
    from cheroot import wsgi  # lazy: cheroot and ssl, ~12-20 ms, and only the HTTPS hub uses it
    from cheroot.ssl.builtin import BuiltinSSLAdapter  # lazy: part of cheroot, only the HTTPS hub uses it

    server = wsgi.Server((host, port), app, numthreads=threads, server_name="appliance-hub", reuse_port=reuse_port)
    server.ssl_adapter = BuiltinSSLAdapter(cert, key)

    def stop(_signum, _frame):
        threading.Thread(target=server.stop, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    log.info("hub listening on https://%s:%d", host, port)
    try:
        server.start()
    except KeyboardInterrupt:
        server.stop()
