"""Running the hub: waitress for plain HTTP on loopback, cheroot for HTTPS.

waitress has no TLS, so with ``[hub] tls_cert``/``tls_key`` set the hub runs on
cheroot (CherryPy's WSGI server, with its built-in ``ssl`` adapter). Plain HTTP is
refused on anything but a loopback address: devices send their journals over
the network only encrypted, and pin the hub's CA (``[sync] ca_file``).
"""

from __future__ import annotations

import ipaddress
import logging
import signal
import threading
from pathlib import Path

from appliance.errors import ConfigError

log = logging.getLogger(__name__)

LOOPBACK_NAMES = {"localhost"}


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


def serve(app, *, host: str, port: int, tls_cert: str = "", tls_key: str = "",
          threads: int = 8) -> None:
    """Serve ``app`` until SIGTERM/SIGINT."""
    if check_listen(host, tls_cert, tls_key):
        _serve_tls(app, host=host, port=port, cert=tls_cert, key=tls_key, threads=threads)
    else:
        import waitress  # lazy: ~5 ms, and only the plain-HTTP hub uses it (HTTPS uses cheroot)

        log.info("hub listening on http://%s:%d", host, port)
        waitress.serve(app, host=host, port=port, threads=threads, ident="appliance-hub",
                       max_request_body_size=app.config["MAX_CONTENT_LENGTH"])


def _serve_tls(app, *, host: str, port: int, cert: str, key: str, threads: int) -> None:
    from cheroot import wsgi  # lazy: cheroot and ssl, ~12-20 ms, and only the HTTPS hub uses it
    from cheroot.ssl.builtin import BuiltinSSLAdapter  # lazy: part of cheroot, only the HTTPS hub uses it

    server = wsgi.Server((host, port), app, numthreads=threads, server_name="appliance-hub")
    server.ssl_adapter = BuiltinSSLAdapter(cert, key)

    def stop(_signum, _frame):
        threading.Thread(target=server.stop, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    log.info("hub listening on https://%s:%d", host, port)
    try:
        server.start()
    except KeyboardInterrupt:
        server.stop()
