"""Read access to the hub: one API token in ``<hub state>/hub-token``.

The token is made on first start (random, file mode 0600). The read API and the
status page want it as ``Authorization: Bearer <token>``, or as the password of
HTTP Basic auth (any user name) so that a browser can open the status page.
Batch uploads need no token: the device's signature authenticates them, and a
anonymous caller learns a device's high-water mark but not which device ids are registered.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hmac
import logging
import os
import secrets
from pathlib import Path

from flask import current_app, jsonify, request

log = logging.getLogger(__name__)

TOKEN_FILE = "hub-token"


def ensure_token(state_dir: Path) -> str:
    """Read the hub's API token, making it on first use."""
    path = Path(state_dir) / TOKEN_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(32) + "\n")
        log.warning("created the hub API token in %s (needed for the read API and status page)", path)
    return path.read_text().strip()


def _presented() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer":
        return value.strip()
    if scheme.lower() == "basic":
        try:
            return base64.b64decode(value.strip()).decode().partition(":")[2]
        except (binascii.Error, UnicodeDecodeError):
            return None
    return None


def has_token() -> bool:
    """Does this request carry the hub's API token?"""
    given = _presented()
    token = current_app.config["HUB_TOKEN"]
    return given is not None and hmac.compare_digest(given.encode(), token.encode())


def require_token(view):
    """Refuse a request without the hub token (401, with a Basic challenge for browsers)."""

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if not has_token():
            response = jsonify(error="the hub API token is needed: send 'Authorization: Bearer <token>' "
                                     "(the token is in the hub state directory, file hub-token)")
            response.status_code = 401
            response.headers["WWW-Authenticate"] = 'Basic realm="appliance hub"'
            return response
        return view(*args, **kwargs)

    return wrapped
