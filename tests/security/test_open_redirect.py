"""Finding 5: the sign-in's ``next`` never leaves the device.

Each known bypass form is sent as ``/login?next=...`` with a correct password; the answer must be a
302 to a same-origin path (no scheme, no host, no control characters), never a 500."""

from __future__ import annotations

from urllib.parse import quote, urlsplit

import pytest

from tests.support.web import STAFF

#: the raw value of ``next`` after URL decoding (what the app sees in request.args)
BYPASSES = [
    "//evil.example",
    "///evil.example",
    "////evil.example/",
    "/\t/evil.example",                 # browsers drop tabs: //evil.example
    "/\n/evil.example",
    "/\r/evil.example",
    "/\r\n/x",                          # header injection
    "/%0d%0aSet-Cookie:x=1",            # double-encoded CR/LF
    "/x\r\nLocation: //evil.example",
    "\\\\evil.example",
    "/\\evil.example",                  # browsers read \ as /
    "\\/evil.example",
    "/%5Cevil.example",                 # encoded backslash
    "/%2F/evil.example",                # encoded slash
    "/%2f%2fevil.example",
    "%2F%2Fevil.example",
    "https://evil.example",
    "http:evil.example",
    "//evil.example@appliance.local",
    "https://appliance.local@evil.example/",
    "/@evil.example",                   # harmless path, but no user-info tricks are needed anywhere
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    " javascript:alert(1)",
    "/javascript:alert(1)//",
    "data:text/html,<script>alert(1)</script>",
    "//евил.example",                   # IDN
    "//xn--e1awd7f.example",
    "/\u3002evil.example",              # ideographic full stop
    "/\uff0f/evil.example",             # fullwidth solidus
    "//evil%E3%80%82example",
    "/\x00/evil.example",
    "/\x0b/evil.example",
    " //evil.example",
    "\t//evil.example",
    "evil.example",
    "../../evil.example",
    "/" + "a" * 5000,                   # absurdly long
    "/%",                               # broken escape
    "/\udcff",                          # lone surrogate
]


def _sign_in(browser, next_value: str):
    browser.get("/login")
    url = "/login?next=" + quote(next_value, safe="", errors="surrogatepass")
    return browser.client.post(url, data={"username": STAFF[0], "password": STAFF[1], "csrf_token": browser.csrf})


@pytest.mark.parametrize("target", BYPASSES, ids=lambda t: repr(t)[:40])
def test_next_never_leaves_the_device(browser, target):
    resp = _sign_in(browser, target)
    assert resp.status_code == 302, resp.status_code
    location = resp.headers["Location"]
    parts = urlsplit(location)
    assert parts.scheme == "" and parts.netloc == "", location
    assert location.startswith("/") and not location.startswith(("//", "/\\")), location
    assert all(0x21 <= ord(ch) < 0x7f for ch in location), repr(location)
    assert "evil" not in location.lower() and "javascript" not in location.lower(), location


def test_there_are_at_least_30_bypass_forms():
    assert len(set(BYPASSES)) >= 30


@pytest.mark.parametrize("target", ["/records", "/records?q=M%C3%BCller", "/issue/v", "/status"])
def test_a_same_origin_path_is_kept(browser, target):
    resp = _sign_in(browser, target)
    assert resp.status_code == 302 and resp.headers["Location"] == target


def test_an_unknown_path_goes_to_the_start_page(browser):
    resp = _sign_in(browser, "/no/such/page")
    assert resp.status_code == 302 and resp.headers["Location"] == "/"


def test_the_sign_in_form_keeps_next_through_a_wrong_password(browser):
    """The redirect to sign-in carries ``next``; the helper is the one place that reads it."""
    resp = browser.get("/records?q=x")
    assert resp.status_code == 302
    assert urlsplit(resp.location).path == "/login" and "next=" in resp.location
