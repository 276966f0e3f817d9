"""The one checked helper for redirect targets that come from the request (``?next=`` after sign-in).

Only a same-origin relative path to a page of this app is accepted; everything else gives the
fallback. The checks, in order (each one closes a family of known bypasses):

* a string of at most :data:`MAX_LENGTH` printable ASCII characters: no tab, CR, LF, NUL or other
  control characters (browsers drop tabs and newlines, so ``/\\t/evil.example`` becomes
  ``//evil.example``; CR/LF would split the ``Location`` header), no spaces, no IDN or
  full-width look-alikes;
* it starts with one ``/`` and holds no backslash (browsers read ``\\`` as ``/``);
* it has no scheme and no host (``javascript:``, ``https://``, ``//host``, ``user@host``);
* the percent-decoded path passes the same checks (``/%2F/evil.example``, ``/%5Cevil``, ``%0d%0a``);
* the path is a GET route of this app (``/records``, ``/issue/v``), not the sign-in pages.
"""

from __future__ import annotations

import logging
from urllib.parse import unquote, urlsplit

from flask import current_app
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect

log = logging.getLogger(__name__)

MAX_LENGTH = 2000
_NOT_TARGETS = {"auth.login", "auth.logout", "static"}


def _plain_path(text: str) -> bool:
    return (0 < len(text) <= MAX_LENGTH and all(0x21 <= ord(ch) < 0x7F for ch in text)
            and text.startswith("/") and not text.startswith("//") and "\\" not in text)


def _app_route(path: str) -> bool:
    adapter = current_app.url_map.bind("localhost")
    try:
        endpoint, _args = adapter.match(path, method="GET")
    except RequestRedirect:  # e.g. /admin -> /admin/: a real page, but take the canonical form only
        return False
    except HTTPException:  # 404 / 405
        return False
    return endpoint not in _NOT_TARGETS


def safe_next(target: object) -> str | None:
    """``target`` if it is a same-origin path to a page of this app, else ``None``."""
    if not isinstance(target, str) or not _plain_path(target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or parts.fragment:
        return None
    decoded = unquote(parts.path, errors="replace")  # U+FFFD is refused below
    if not _plain_path(decoded) or not _app_route(decoded):
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def next_or(target: object, fallback: str) -> str:
    """:func:`safe_next` of ``target``, or ``fallback`` (logged, without the value) when refused."""
    checked = safe_next(target)
    if checked is None and target:
        log.info("refused a redirect target after sign-in; going to the start page")
    return checked or fallback
