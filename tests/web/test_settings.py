"""Settings store: accounts, lockout, centre profile, atomic writes, precedence over the config."""

from __future__ import annotations

import json
import stat
import threading

import pytest

from appliance.errors import ConfigError, InvalidInput
from appliance.settings import Settings


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
