"""Debian's Chromium driven by Playwright, for the browser tests of the tablet UI."""

from __future__ import annotations

import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from tests.support.toolcheck import require
from tests.support.web import STAFF

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


@contextmanager
def chromium(extra_args: Sequence[str] = ()) -> Iterator:
    """A headless Chromium (Playwright ``Browser``) with :data:`ARGS` and ``extra_args``."""
    from playwright.sync_api import sync_playwright

    require(shutil.which(CHROMIUM) is not None, "Debian's chromium is not installed")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[*ARGS, *extra_args])
        try:
            yield browser
        finally:
            browser.close()


def new_page(browser, base: str, viewport: tuple[int, int] = (1280, 800), **context_args):
    """(context, page) at a German ``viewport`` (width, height; tablet-sized by default);
    ``page.errors`` collects console errors and uncaught exceptions, ``page.base`` is the server's URL."""
    width, height = viewport
    context = browser.new_context(viewport={"width": width, "height": height}, locale="de-DE", **context_args)
    page = context.new_page()
    page.errors = []
    page.on("console", lambda msg: page.errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    page.base = base
    return context, page


def sign_in(page, lang: str = "", account: tuple[str, str] = STAFF) -> None:
    """Sign in through the login form as ``account`` (name, password; the staff account unless told)
    (``lang="?lang=en"`` for English labels)."""
    page.goto(page.base + "/login" + lang)
    page.get_by_label("Benutzername" if not lang else "User name").fill(account[0])
    page.get_by_label("Passwort" if not lang else "Password").fill(account[1])
    page.get_by_role("button", name="Anmelden" if not lang else "Sign in").click()
    page.wait_for_url(page.base + "/")
