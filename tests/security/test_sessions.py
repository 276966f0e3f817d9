"""Finding 6: a session ends on the server, not only in the cookie.

A copy of the session cookie taken while signed in (as an attacker with a moment at the tablet, or a
proxy log, would keep it) must stop working at sign-out, password change, role change and disabling."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.support.web import ADMIN, STAFF

COOKIE = "appliance_session"


def _saved_cookie(browser) -> str:
    assert browser.get("/records").status_code == 200
    return browser.client.get_cookie(COOKIE).value


def _opens_records(new_browser, cookie: str) -> bool:
    other = new_browser()
    other.client.set_cookie(COOKIE, cookie)
    return other.client.get("/records").status_code == 200


def _signed_in(new_browser, account=STAFF):
    b = new_browser()
    assert b.login(*account).status_code == 302
    return b


def test_a_saved_cookie_opens_records_while_the_session_lives(new_browser):
    staff = _signed_in(new_browser)
    assert _opens_records(new_browser, _saved_cookie(staff))           # the copy is a working session


def test_sign_out_ends_the_session_on_the_server(new_browser):
    staff = _signed_in(new_browser)
    cookie = _saved_cookie(staff)
    assert staff.post("/logout").status_code == 302
    assert not _opens_records(new_browser, cookie)


@pytest.mark.parametrize("change", [
    {"action": "password", "password": "a-new-password-2"},
    {"action": "role", "role": "admin"},
    {"action": "disable"},
])
def test_an_admin_change_to_the_account_ends_its_sessions(new_browser, change):
    staff, tablet2 = _signed_in(new_browser), _signed_in(new_browser)
    cookies = [_saved_cookie(staff), _saved_cookie(tablet2)]
    admin = _signed_in(new_browser, ADMIN)
    admin.get("/admin/")
    assert admin.post(f"/admin/users/{STAFF[0]}", change).status_code == 303
    assert not any(_opens_records(new_browser, c) for c in cookies)
    assert staff.get("/records").status_code == 302                    # the tablet itself is signed out too
    assert admin.get("/admin/").status_code == 200                     # the admin's own session goes on


def test_a_changed_account_can_sign_in_again(new_browser):
    staff = _signed_in(new_browser)
    admin = _signed_in(new_browser, ADMIN)
    admin.get("/admin/")
    assert admin.post(f"/admin/users/{STAFF[0]}", {"action": "password", "password": "a-new-password-2"}).status_code == 303
    assert new_browser().login(STAFF[0], STAFF[1]).status_code == 401
    assert new_browser().login(STAFF[0], "a-new-password-2").status_code == 302
    assert staff.get("/records").status_code == 302


def test_sign_out_on_one_tablet_leaves_the_other_signed_in(new_browser):
    one, two = _signed_in(new_browser), _signed_in(new_browser)
    assert one.post("/logout").status_code == 302
    assert two.get("/records").status_code == 200


def test_a_cookie_from_before_sign_in_does_not_become_the_session(new_browser):
    """Session fixation: signing in makes a new session; the anonymous one stays anonymous."""
    b = new_browser()
    b.get("/login")
    anonymous = b.client.get_cookie(COOKIE).value
    assert b.login(*STAFF).status_code == 302
    assert not _opens_records(new_browser, anonymous)


def test_an_idle_session_ends_on_the_server(new_browser, clock):
    staff = _signed_in(new_browser)
    cookie = _saved_cookie(staff)
    clock.advance(timedelta(minutes=15, seconds=1))
    assert staff.get("/records").status_code == 302
    clock.advance(timedelta(seconds=-30))                               # even if the clock steps back
    assert not _opens_records(new_browser, cookie)


def test_a_forged_session_id_is_refused(new_browser, app):
    from flask.sessions import SecureCookieSessionInterface

    serializer = SecureCookieSessionInterface().get_signing_serializer(app)
    forged = serializer.dumps({"user": STAFF[0], "sid": "0" * 43, "seen": "2026-11-28T10:00:00+00:00"})
    assert not _opens_records(new_browser, forged)
