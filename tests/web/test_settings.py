"""Settings store: accounts, lockout, centre profile, atomic writes, precedence over the config; and settings
that reach every service at once (receipts, print-queue retention, purge, printer, lights), checked printer
settings, the test print, and text fields that refuse control and bidi characters."""

from __future__ import annotations

import json
import socket
import stat
import threading
from datetime import timedelta

import pytest

from appliance.errors import ConfigError, InvalidInput
from appliance.settings import Settings
from tests.support.cli import appliance_env, run_appliance, write_config
from tests.support.clock import REAL_NOW
from tests.support.dcc import sign_to_hc1
from tests.support.fake_printer import FakePrinter
from tests.support.printing import schema_example_dcc, submit
from tests.support.web import FORMS, review_token


@pytest.fixture
def settings(state_dir):
    s = Settings.open(state_dir)
    yield s
    s.close()


def test_add_user_stores_a_scrypt_hash_not_the_password(settings, state_dir):
    settings.add_user("anna", password="correct horse", role="staff")
    text = (state_dir / "settings.json").read_text()
    assert "correct horse" not in text
    stored = json.loads(text)["users"]
    (doc,) = stored.values()
    assert doc["password_hash"].startswith("scrypt:")
    assert stat.S_IMODE((state_dir / "settings.json").stat().st_mode) == 0o600
    assert settings.user("anna")["role"] == "staff" and "password_hash" not in settings.user("anna")


@pytest.mark.parametrize("name, password, role, field", [
    ("anna", "short", "staff", "password"),
    ("anna", "long enough", "root", "role"),
    ("", "long enough", "staff", "name"),
    ("an na", "long enough", "staff", "name"),
])
def test_add_user_rejects_bad_input(settings, name, password, role, field):
    with pytest.raises(InvalidInput) as info:
        settings.add_user(name, password=password, role=role)
    assert field in info.value.field_errors
    assert settings.users() == []


def test_duplicate_user_is_refused(settings):
    settings.add_user("anna", password="long enough", role="staff")
    with pytest.raises(InvalidInput) as info:
        settings.add_user("anna", password="other password", role="admin")
    assert "name" in info.value.field_errors
    assert settings.user("anna")["role"] == "staff"


def test_check_password_writes_nothing_and_never_locks(settings, state_dir):
    settings.add_user("anna", password="long enough", role="admin")
    before = (state_dir / "settings.json").stat()
    for _ in range(10):
        assert settings.check_password("anna", "wrong") is None
    assert settings.check_password("nobody", "long enough") is None
    assert settings.check_password("anna", "long enough")["name"] == "anna"      # throttling is the web's
    after = (state_dir / "settings.json").stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_password_role_and_disabling_bump_the_session_version(settings):
    settings.add_user("anna", password="long enough", role="staff")
    assert settings.user("anna")["session_version"] == 0
    settings.set_password("anna", "another password")
    settings.set_role("anna", "admin")
    settings.set_active("anna", False)
    assert settings.user("anna")["session_version"] == 3
    settings.set_language("anna", "en")                                         # not a security change
    assert settings.user("anna")["session_version"] == 3


def test_disabled_account_cannot_sign_in(settings):
    settings.add_user("anna", password="long enough", role="staff")
    settings.set_active("anna", False)
    assert settings.check_password("anna", "long enough") is None


def test_settings_survive_reopening(state_dir):
    s = Settings.open(state_dir)
    s.add_user("anna", password="long enough", role="staff")
    s.update_centre(name="Impfzentrum Nord", validity_days_v="200")
    s.close()
    again = Settings.open(state_dir)
    assert again.user("anna")["role"] == "staff"
    assert again.centre() == {"name": "Impfzentrum Nord", "validity_days_v": 200}
    assert [p.name for p in state_dir.iterdir() if p.name.endswith(".tmp")] == []


def test_update_centre_names_each_bad_field_and_writes_nothing(settings):
    with pytest.raises(InvalidInput) as info:
        settings.update_centre(country="Germany", validity_days_v="many", colour="red")
    assert set(info.value.field_errors) == {"country", "validity_days_v", "colour"}
    assert settings.centre() == {}


def test_settings_override_config_where_set(settings, config):
    settings.update_centre(issuer="Praxis Dr. Beispiel", uvci_issuer="PRAXIS7", validity_hours_t=48, retention_days=7)
    eff = settings.effective_config(config)
    assert eff.device.issuer == "Praxis Dr. Beispiel" and eff.device.uvci_issuer == "PRAXIS7"
    assert eff.issue.validity_hours_t == 48 and eff.journal.retention_days == 7
    assert eff.device.country == config.device.country          # not set: the config's value
    assert eff.issue.validity_days_v == config.issue.validity_days_v
    settings.update_centre(issuer="")                              # cleared: back to the config
    assert settings.effective_config(config).device.issuer == config.device.issuer


def test_printer_overrides_are_checked(settings, config):
    settings.update_devices(printer={"kind": "network", "host": "10.0.0.9", "port": "9100"})
    assert settings.effective_config(config).printer.kind == "network"
    with pytest.raises(InvalidInput):
        settings.update_devices(printer={"kind": "laser"})
    with pytest.raises(InvalidInput):
        settings.update_devices(printer={"port": "ninety"})


def test_concurrent_writers_lose_nothing(settings):
    def add(i):
        settings.add_user(f"user{i}", password="long enough", role="staff")
    threads = [threading.Thread(target=add, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(settings.users()) == 8
    reopened = Settings.open(settings.path.parent)
    assert len(reopened.users()) == 8


def test_a_damaged_settings_file_is_a_clear_error(state_dir):
    (state_dir / "settings.json").write_text("{not json")
    with pytest.raises(ConfigError, match="settings file is damaged"):
        Settings.open(state_dir).users()


# ----- settings reach every service at once (issue 10, finding 5) -----------------------------


@pytest.fixture
def certificate(software_signer, now):
    """``certificate("v")`` -> dict(dcc, uvci, hc1, issued_at) signed by the test signer (not journaled)."""
    def make(kind: str = "v") -> dict:
        dcc = schema_example_dcc(kind)
        hc1, _ = sign_to_hc1(dcc, software_signer, iat=now, days=30)
        return {"dcc": dcc, "uvci": dcc[kind][0]["ci"], "hc1": hc1, "issued_at": now}
    return make


def _issue_and_print(client, devices) -> bytes:
    """Issue a vaccination through the UI, tap "Print receipt"; the receipt's ESC/POS bytes."""
    client.get("/issue/v")
    review = client.post("/issue/v/review", FORMS["v"])
    assert review.status_code == 200
    token = review_token(review.get_data(as_text=True))
    done = client.post("/issue/v/confirm", {**FORMS["v"], "token": token, "action": "issue"})
    assert done.status_code == 303
    uvci = done.location.removeprefix("/result/")
    client.get(done.location)
    assert client.post(f"/print/{uvci}").status_code == 303
    (receipt,) = sorted((devices.config.state_dir / "receipts").glob("job-*.bin"))[-1:]
    return receipt.read_bytes()


@pytest.fixture
def closed_port():
    """A real 127.0.0.1 port that refuses connections: bound, never listening."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    yield s.getsockname()[1]
    s.close()


def _settings_bytes(devices) -> bytes:
    path = devices.config.state_dir / "settings.json"
    return path.read_bytes() if path.exists() else b""


def test_a_new_centre_name_reaches_the_next_receipt_without_restart(admin, devices):
    assert b"Demo Impfzentrum" in _issue_and_print(admin, devices)            # the config's issuer
    admin.get("/admin/")
    assert admin.post("/admin/centre", {"name": "Impfzentrum Nord"}).status_code == 303
    receipt = _issue_and_print(admin, devices)
    assert b"Impfzentrum Nord" in receipt and b"Demo Impfzentrum" not in receipt


def test_a_new_issuer_reaches_the_receipt_when_no_centre_name_is_set(admin, devices):
    admin.get("/admin/")
    assert admin.post("/admin/centre", {"issuer": "Praxis Dr. Beispiel"}).status_code == 303
    assert b"Praxis Dr. Beispiel" in _issue_and_print(admin, devices)


def test_the_print_queue_keeps_personal_data_as_long_as_the_admin_set(admin, devices, certificate, clock, now):
    job = submit(devices.printing, certificate("v"))               # not printed: stays queued
    admin.get("/admin/")
    assert admin.post("/admin/centre", {"retention_days": "3"}).status_code == 303
    clock.set(now + timedelta(days=2, hours=23))
    devices.printing.maintain()
    assert devices.printing.queue.get(job).state == "queued"
    clock.set(now + timedelta(days=3, hours=1))                  # 14 days would keep it
    devices.printing.maintain()
    dropped = devices.printing.queue.get(job)
    assert dropped.state == "failed" and dropped.payload is None


def test_the_purge_service_uses_the_retention_the_admin_set(tmp_path):
    from appliance.journal.journal import Journal

    state = tmp_path / "state"
    state.mkdir()
    env = appliance_env(write_config(tmp_path / "appliance.toml", "[gpio]\nenabled = false\n"), state)
    with Journal.open(state / "journal.sqlite") as journal:
        journal.append("issued", now=REAL_NOW - timedelta(days=5), operator="t", type="v", uvci="URN:UVCI:01:DE:X#1",
                       personal={"hc1": "HC1:x"})
    r = run_appliance("journal", "purge", env=env)
    assert r.returncode == 0 and r.stdout.startswith("removed 0 personal records older than 14 days"), r.stdout
    s = Settings.open(state)
    s.update_centre(retention_days=3)
    s.close()
    r = run_appliance("journal", "purge", env=env)
    assert r.returncode == 0 and r.stdout.startswith("removed 1 personal records older than 3 days"), r.stdout


def test_a_new_printer_reaches_the_print_service_and_the_lights_without_restart(admin, devices, certificate,
                                                                             closed_port):
    assert devices.health().details["printer"]["online"] is True             # the file printer
    admin.get("/admin/")
    assert admin.post("/admin/printer", {"kind": "network", "host": "127.0.0.1",
                                         "port": str(closed_port)}).status_code == 303
    assert devices.health().details["printer"]["online"] is False            # what the panel shows
    job = submit(devices.printing, certificate("v"))
    assert devices.printing.wait(job, 2.0) is False
    assert f"127.0.0.1:{closed_port}" in devices.printing.queue.get(job).last_error
    assert not list((devices.config.state_dir / "receipts").glob("job-*"))


@pytest.mark.parametrize("form, field", [
    ({"kind": "network", "host": ""}, "host"),
    ({"kind": "network", "host": "192.0.2.5", "port": "0"}, "port"),
    ({"kind": "network", "host": "192.0.2.5", "port": "65536"}, "port"),
    ({"kind": "network", "host": "192.0.2.5", "port": "nine"}, "port"),
    ({"kind": "network", "host": "printer one"}, "host"),
    ({"kind": "network", "host": "192.0.2.5\x1b"}, "host"),
    ({"kind": "file", "path": "receipts"}, "path"),                        # not absolute
    ({"kind": "file", "path": "{file}/receipts"}, "path"),                 # under a regular file
    ({"kind": "serial", "path": ""}, "path"),
    ({"kind": "device", "path": ""}, "path"),
    ({"kind": "usb"}, "kind"),                                             # no vendor/product id in the config
    ({"kind": "file", "paper_width_mm": "70"}, "paper_width_mm"),
    ({"kind": "laser"}, "kind"),
])
def test_invalid_printer_settings_name_the_field_and_save_nothing(admin, devices, tmp_path, form, field):
    (tmp_path / "afile").write_text("x")
    form = {k: v.replace("{file}", str(tmp_path / "afile")) for k, v in form.items()}
    admin.get("/admin/")
    before = _settings_bytes(devices)
    resp = admin.post("/admin/printer", form)
    assert resp.status_code == 422
    assert f'id="{field}-error"' in resp.get_data(as_text=True)
    assert _settings_bytes(devices) == before
    assert devices.printing.config.printer.kind == "file"


def test_valid_printer_settings_are_saved(admin, devices, tmp_path):
    admin.get("/admin/")
    target = tmp_path / "new-receipts"
    assert admin.post("/admin/printer", {"kind": "file", "path": str(target)}).status_code == 303
    assert devices.printing.config.printer.path == str(target)


def test_test_print_on_a_file_printer(admin, devices):
    admin.get("/admin/")
    assert admin.post("/admin/centre", {"name": "Impfzentrum Nord"}).status_code == 303
    admin.get("/admin/")
    resp = admin.post("/admin/printer/test")
    assert resp.status_code == 303
    page = admin.get(resp.location).get_data(as_text=True)
    assert 'class="flash ok"' in page and "Testdruck" in page
    data = (devices.config.state_dir / "receipts" / "test-page.bin").read_bytes()
    assert b"Impfzentrum Nord" in data


def test_test_print_on_a_network_printer(admin, devices):
    printer = FakePrinter()
    try:
        admin.get("/admin/")
        assert admin.post("/admin/printer", {"kind": "network", "host": "127.0.0.1",
                                             "port": str(printer.port)}).status_code == 303
        resp = admin.post("/admin/printer/test")
        page = admin.get(resp.location).get_data(as_text=True)
        assert 'class="flash ok"' in page
        assert len(printer.receipts) == 1
    finally:
        printer.close()


def test_test_print_on_an_unreachable_printer_says_so(admin, devices, closed_port):
    admin.get("/admin/")
    assert admin.post("/admin/printer", {"kind": "network", "host": "127.0.0.1",
                                         "port": str(closed_port)}).status_code == 303
    resp = admin.post("/admin/printer/test")
    assert resp.status_code == 303
    page = admin.get(resp.location).get_data(as_text=True)
    assert 'class="flash error"' in page and f"127.0.0.1:{closed_port}" in page and "nicht erreichbar" in page
    assert "Errno" not in page and "refused" not in page


def test_test_print_needs_csrf_and_an_admin(admin, staff):
    admin.get("/admin/")
    assert admin.post("/admin/printer/test", csrf=False).status_code == 400
    assert staff.post("/admin/printer/test").status_code == 403


@pytest.mark.parametrize("value", ["Praxis\x1b!0", "Praxis \u202eNord", "Praxis\u2066Nord\u2069", "Pra\x00xis",
                                   "Praxis\u200bNord"])
@pytest.mark.parametrize("field", ["issuer", "name", "test_centre"])
def test_admin_text_fields_refuse_control_and_bidi_characters(admin, devices, field, value):
    admin.get("/admin/")
    before = _settings_bytes(devices)
    resp = admin.post("/admin/centre", {field: value})
    assert resp.status_code == 422
    assert f'id="{field}-error"' in resp.get_data(as_text=True)
    assert _settings_bytes(devices) == before
    assert devices.settings.centre().get(field) is None


def test_settings_refuse_control_characters_without_the_web(settings):
    with pytest.raises(InvalidInput) as info:
        settings.update_centre(issuer="ESC\x1b!0", name="ok")
    assert set(info.value.field_errors) == {"issuer"}
    assert settings.centre() == {}
    with pytest.raises(InvalidInput) as info:
        settings.update_devices(printer={"kind": "network", "host": "10.0.0.9\u202e"})
    assert set(info.value.field_errors) == {"printer.host"}


def test_the_admin_page_says_which_settings_need_a_restart(admin):
    html = admin.get("/admin/").get_data(as_text=True)
    assert "wirkt nach Neustart" not in html
    assert 'id="settings-apply"' in html and "Neustart" in html
