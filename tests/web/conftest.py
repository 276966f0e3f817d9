"""Fixtures for the tablet UI: an app on a temp state dir with a software key, the fixed clock
(``clock`` of tests/conftest.py), a file printer, and a seeded admin and staff account; the app
served by waitress on 127.0.0.1 for the browser tests."""

from __future__ import annotations

import threading

import pytest

from tests.support import browser













@pytest.fixture
def server(app):
    """The app served by waitress on 127.0.0.1 (for a real browser); yields its base URL."""
    from waitress import create_server

    srv = create_server(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.effective_port}"
    srv.close()
    thread.join(5)


@pytest.fixture(scope="module")
def chromium():
    """Debian's Chromium, one per test module (a module may override it, e.g. with a fake camera)."""
    with browser.chromium() as b:
        yield b


@pytest.fixture
def page(chromium, server):
    """A signed-out tablet-sized page on :func:`server` in a fresh browser context."""
    context, page = browser.new_page(chromium, server)
    yield page
    context.close()
