"""Every route: anonymous access refused, CSRF enforced, roles, headers, sign-in, timeouts, languages."""

from __future__ import annotations

import re
from datetime import timedelta

from tests.support.web import ADMIN, STAFF

PUBLIC = {"/login", "/status.json", "/healthz"}
ADMIN_ONLY_POSTS = ["/admin/users", "/admin/users/staff", "/admin/centre", "/admin/printer",
                    "/status/confirm-clock", "/records/URN:UVCI:01:DE:X/revoke"]


def _routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        args = {name: {"type_": "v", "uvci": "URN:UVCI:01:DE:X", "name": "staff", "bid": "1", "token": "A" * 24}[name]
                for name in rule.arguments}
        path = rule.build(args)[1] if rule.arguments else rule.rule
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield method, path


def test_the_route_list_covers_every_screen(app):
    endpoints = {r.endpoint.split(".")[0] for r in app.url_map.iter_rules()}
    assert {"auth", "issue", "records", "status", "verify", "admin", "api"} <= endpoints


def test_anonymous_get_redirects_to_sign_in(app, browser):
    for method, path in _routes(app):
        if method != "GET" or path in PUBLIC:
            continue
        resp = browser.get(path)
        if path.startswith("/api/"):
            assert resp.status_code == 401, path
        else:
            assert resp.status_code == 302 and "/login" in resp.location, path


def test_anonymous_post_is_refused(app, browser):
    for method, path in _routes(app):
        if method != "POST" or path in PUBLIC:
            continue
        assert browser.post(path, {}, csrf=False).status_code == 400, path       # no CSRF token
        browser.get("/login")                     # a fresh token (a POST to /logout clears the session)
        resp = browser.post(path, {})                                          # a token, but not signed in
        assert resp.status_code == 302 and "/login" in resp.location, path


def test_post_without_csrf_is_refused_when_signed_in(app, staff, devices):
    before = devices.journal.last_seq()
    for method, path in _routes(app):
        if method == "POST":
            resp = staff.post(path, {"reason": "x", "name": "new", "password": "long enough"}, csrf=False)
            assert resp.status_code == 400, path
    assert devices.journal.last_seq() == before
    assert [u["name"] for u in devices.settings.users()] == sorted([ADMIN[0], STAFF[0]])


def test_staff_cannot_use_admin_routes(staff, devices):
    assert staff.get("/admin/").status_code == 403
    assert staff.get("/records/URN:UVCI:01:DE:X/correct").status_code == 403
    for path in ADMIN_ONLY_POSTS:
        assert staff.post(path, {"name": "eve", "password": "long enough", "role": "admin", "reason": "r"}).status_code == 403, path
    assert devices.settings.user("eve") is None


def test_security_headers(staff):
    resp = staff.get("/")
    csp = resp.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert resp.headers["Cache-Control"] == "no-store"
    assert "<script>" not in resp.get_data(as_text=True)          # no inline script anywhere
    assert "onclick" not in resp.get_data(as_text=True)


def test_assets_are_local(staff):
    html = staff.get("/issue/v").get_data(as_text=True)
    assert not re.search(r'(src|href)="(https?:)?//', html)
    assert staff.get("/static/css/app.css").status_code == 200
    assert staff.get("/static/js/app.js").status_code == 200


def test_wrong_password_and_throttle(browser, clock):
    for _ in range(5):
        resp = browser.login(STAFF[0], "wrong password")
        assert resp.status_code == 401
    resp = browser.login(*STAFF)
    assert resp.status_code == 429 and "gesperrt" in resp.get_data(as_text=True)
    clock.advance(timedelta(seconds=31))
    assert browser.login(*STAFF).status_code == 302


def test_login_does_not_redirect_off_site(browser):
    browser.get("/login")
    resp = browser.client.post("/login?next=//evil.example/", data={"username": STAFF[0], "password": STAFF[1],
                                                                     "csrf_token": browser.csrf})
    assert resp.status_code == 302 and resp.location == "/"


def test_idle_timeout(staff, clock):
    clock.advance(timedelta(minutes=14))
    assert staff.get("/").status_code == 200                       # activity renews the session
    clock.advance(timedelta(minutes=14))
    assert staff.get("/").status_code == 200
    clock.advance(timedelta(minutes=15, seconds=1))
    resp = staff.get("/")
    assert resp.status_code == 302 and "/login" in resp.location
    assert "abgelaufen" in staff.get("/login").get_data(as_text=True)


def test_status_polling_does_not_keep_the_session_alive(staff, clock):
    for _ in range(4):
        clock.advance(timedelta(minutes=5))
        assert staff.client.get("/status.json").status_code == 200
    assert staff.get("/").status_code == 302


def test_sign_out(staff):
    staff.get("/")
    assert staff.post("/logout").status_code == 302
    assert staff.get("/").status_code == 302


def _label(html: str, for_id: str) -> str:
    m = re.search(rf'<label for="{for_id}">([^<]+)</label>', html)
    assert m, f"no <label for={for_id}>"
    return m.group(1)


def test_german_is_the_default_and_english_is_switchable(staff, devices):
    html = staff.get("/issue/v").get_data(as_text=True)
    assert (_label(html, "family_name"), _label(html, "given_name"), _label(html, "date_of_birth")) == \
        ("Nachname", "Vorname", "Geburtsdatum")
    assert ">Prüfen</button>" in html
    choose = staff.get("/").get_data(as_text=True)
    assert all(w in choose for w in (">Impfung<", ">Test<", ">Genesung<"))

    html = staff.get("/issue/v?lang=en").get_data(as_text=True)
    assert (_label(html, "family_name"), _label(html, "given_name"), _label(html, "date_of_birth")) == \
        ("Family name", "Given name", "Date of birth")
    assert ">Review</button>" in html
    choose = staff.get("/").get_data(as_text=True)                     # remembered in the session
    assert all(w in choose for w in (">Vaccination<", ">Test<", ">Recovery<"))
    assert devices.settings.user(STAFF[0])["language"] == "en"        # and for the account


def test_users_language_applies_at_sign_in(browser, devices):
    devices.settings.set_language(STAFF[0], "en")
    browser.login(*STAFF)
    assert ">Vaccination<" in browser.get("/").get_data(as_text=True)


def test_login_page_labels(browser):
    assert ">Anmelden</button>" in browser.get("/login").get_data(as_text=True)
    assert ">Sign in</button>" in browser.get("/login?lang=en").get_data(as_text=True)


def test_unknown_page_is_404_not_500(staff):
    assert staff.get("/no/such/page").status_code == 404
    assert staff.get("/records/URN:UVCI:01:DE:NOTHERE").status_code == 404
    assert staff.get("/issue/x").status_code == 404


def test_healthz_and_status_json(browser, staff):
    h = staff.client.get("/healthz").get_json()                    # anonymous: only the verdict
    assert {"state", "signer", "printer", "sync", "clock", "disk", "problems"} <= set(h)
    assert h["signer"]["dsc_days_left"] > 300
    assert h["sync"]["backlog"] == 0
    poll = browser.client.get("/status.json").get_json()
    assert poll["ok"] is True and poll["hub_offline"] is False
    page = staff.get("/status").get_data(as_text=True)
    assert "Tage bis Ablauf" in page


def test_hub_offline_badge_is_computed_on_the_server(staff, devices, now):
    devices.journal.append("note", now=now, operator="test", data={"n": 1})
    devices.journal.set_sync_status(last_error="connection refused", last_error_at=now.isoformat())
    html = staff.get("/").get_data(as_text=True)
    badge = re.search(r'<span id="hub-badge"[^>]*>([^<]*)<', html)
    assert badge and "hidden" not in badge.group(0) and "1 Einträge warten" in badge.group(1)
    assert staff.client.get("/status.json").get_json()["hub_offline"] is True


def test_admin_confirms_the_clock(admin, devices):
    before = devices.journal.last_seq()
    resp = admin.post("/status/confirm-clock")
    assert resp.status_code == 303
    assert devices.journal.last_seq() == before + 1


def test_admin_manages_accounts(admin, browser, devices):
    admin.get("/admin/")
    resp = admin.post("/admin/users", {"name": "lena", "password": "short", "role": "staff"})
    assert resp.status_code == 422 and "8" in resp.get_data(as_text=True)
    assert admin.post("/admin/users", {"name": "lena", "password": "long enough", "role": "staff"}).status_code == 303
    assert devices.settings.check_password("lena", "long enough") is not None
    assert admin.post("/admin/users/lena", {"action": "disable"}).status_code == 303
    assert devices.settings.check_password("lena", "long enough") is None
    assert admin.post(f"/admin/users/{ADMIN[0]}", {"action": "disable"}).status_code == 422  # not yourself


def test_admin_centre_settings_change_the_forms(admin, devices):
    admin.get("/admin/")
    resp = admin.post("/admin/centre", {"issuer": "Praxis Süd", "country": "DE", "validity_days_v": "abc"})
    assert resp.status_code == 422
    assert devices.settings.centre() == {}
    assert admin.post("/admin/centre", {"issuer": "Praxis Süd", "default_product": "EU/1/20/1528"}).status_code == 303
    html = admin.get("/issue/v").get_data(as_text=True)
    assert 'value="Praxis Süd"' in html
    assert re.search(r'<option value="EU/1/20/1528" selected>', html)


def test_admin_printer_settings(admin, devices):
    admin.get("/admin/")
    assert admin.post("/admin/printer", {"kind": "laser"}).status_code == 422
    assert admin.post("/admin/printer", {"kind": "network", "host": "192.0.2.5", "port": "9100"}).status_code == 303
    assert devices.settings.device_overrides()["printer"]["kind"] == "network"


def test_status_page_reads_the_sync_agents_fields(staff, devices, now):
    from datetime import timedelta

    from appliance.sync.agent import SyncAgent

    devices.journal.append("note", now=now, operator="test", data={"n": 1})
    devices.journal.set_sync_status(last_error="connection refused", last_error_at=now.isoformat())
    assert staff.client.get("/status.json").get_json()["hub_offline"] is True

    class Clock:
        def now(self):
            return now + timedelta(minutes=5)

    class Hub:  # the hub took everything: the agent records its success the way it always does
        def acknowledged(self, device_id, credential=None):
            return devices.journal.last_seq()

        def push(self, device_id, batch):
            raise AssertionError("nothing to send")

    assert SyncAgent(devices.config, devices.journal, devices.signer, Hub(), clock=Clock()).run_once()
    assert staff.client.get("/status.json").get_json()["hub_offline"] is False
    page = staff.get("/status").get_data(as_text=True)
    assert (now + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M") in page


def test_admin_page_links_to_bulk_issuance_and_reference_data(admin):
    html = admin.get("/admin/").get_data(as_text=True)
    for link_id, target in (("batch-link", "/admin/batch"), ("reference-link", "/admin/reference")):
        match = re.search(rf'<a href="([^"]+)" id="{link_id}"', html)
        assert match and match.group(1).startswith(target), (link_id, match and match.group(1))
        assert admin.get(match.group(1)).status_code == 200
