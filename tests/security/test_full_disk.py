"""Finding 11: a full disk. Signing in writes nothing; ``/healthz`` and the status page report low
disk below ``[web] disk_reserve_mb``; ``appliance serve`` on a full disk says what is wrong and what
to do; state files are 0600 whatever the umask; anonymous ``/healthz`` shows only the verdict.

The full disk is real: a 2 MiB tmpfs filled until ENOSPC."""

from __future__ import annotations

import os
import stat
import subprocess

import pytest

from appliance.config import load_config
from appliance.runtime import build_services
from appliance.web import create_app
from tests.support.cli import appliance_env, run_appliance, write_config
from tests.support.web import ADMIN, STAFF, Browser


def _services(state, clock, signer, **web):
    config = load_config(env={}, state_dir=state, overrides={"printer": {"kind": "file"}, "gpio": {"enabled": False},
                                                             **({"web": web} if web else {})})
    return build_services(config, clock=clock, signer=signer, with_panel=False)


def test_sign_in_works_on_a_full_disk_and_health_says_why(small_disk, clock, software_signer):
    services = _services(small_disk.path / "state", clock, software_signer)
    try:
        services.settings.add_user(*STAFF[:1], password=STAFF[1], role="staff")
        app = create_app(services.config, services)
        app.config["TESTING"] = True
        small_disk.fill()
        browser = Browser(app.test_client())
        for _ in range(3):
            assert browser.login(STAFF[0], "wrong password").status_code == 401     # refused, not a 500
        resp = browser.login(*STAFF)
        assert resp.status_code == 302, resp.get_data(as_text=True)[-500:]
        assert browser.get("/records").status_code == 200
        health = browser.client.get("/healthz").get_json()
        assert any("disk" in p for p in health["problems"]), health["problems"]
        assert health["state"] != "ready"
        assert "Speicher" in browser.get("/status").get_data(as_text=True) or \
            "disk" in browser.get("/status").get_data(as_text=True)
        anonymous = create_app(services.config, services).test_client().get("/healthz").get_json()
        assert anonymous["ok"] is True and anonymous["state"] == health["state"]
    finally:
        services.close()


def test_the_disk_reserve_is_configurable(make_config, clock, software_signer, state_dir):
    services = _services(state_dir, clock, software_signer, disk_reserve_mb=10**9)
    try:
        services.settings.add_user(*ADMIN[:1], password=ADMIN[1], role="admin")
        app = create_app(services.config, services)
        app.config["TESTING"] = True
        browser = Browser(app.test_client())
        browser.login(*ADMIN)
        problems = browser.client.get("/healthz").get_json()["problems"]
        assert any("disk" in p and "reserve" in p for p in problems), problems
    finally:
        services.close()
    quiet = _services(state_dir, clock, software_signer, disk_reserve_mb=1)
    try:
        assert not any("disk" in p.message for p in quiet.health().problems)
    finally:
        quiet.close()


def test_anonymous_healthz_shows_only_the_verdict(browser, devices):
    resp = browser.client.get("/healthz")
    assert resp.status_code == 200
    assert resp.get_json() == {"ok": True, "state": "ready"}
    text = resp.get_data(as_text=True)
    assert str(devices.config.state_dir) not in text and "kid" not in text and "backlog" not in text


def test_signed_in_healthz_has_the_details(browser):
    browser.login(*STAFF)
    h = browser.client.get("/healthz").get_json()
    assert {"state", "signer", "printer", "sync", "clock", "disk", "problems"} <= set(h)


def test_serve_on_a_full_disk_says_what_is_wrong(small_disk, tmp_path):
    config = write_config(tmp_path / "appliance.toml", '[printer]\nkind = "file"\n[gpio]\nenabled = false\n')
    state = small_disk.path / "state"
    state.mkdir()
    small_disk.fill()
    done = run_appliance("serve", "--port", "0", env=appliance_env(config, state), timeout=60)
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("appliance: error:"), done.stderr
    assert "no space left" in lines[0].lower() and str(state) in lines[0] and "free" in lines[0].lower(), lines[0]


@pytest.mark.parametrize("umask", [0o000, 0o022, 0o077])
def test_state_files_are_private_whatever_the_umask(tmp_path, umask, clock, software_signer):
    state = tmp_path / f"state-{umask:o}"
    script = (
        "import os, sys\n"
        f"os.umask({umask})\n"
        "from appliance.config import load_config\n"
        "from appliance.web import secret_key\n"
        "from appliance.settings import Settings\n"
        f"cfg = load_config(env={{}}, state_dir={str(state)!r})\n"
        "secret_key(cfg)\n"
        f"s = Settings.open(cfg.state_dir); s.add_user('anna', password='long enough', role='staff')\n"
        "s.set_password('anna', 'another password'); s.close()\n"
    )
    subprocess.run([os.sys.executable, "-c", script], check=True, timeout=60,
                   env={**os.environ, "PYTHONPATH": os.getcwd()})
    for name in ("settings.json", "web-secret"):
        mode = stat.S_IMODE((state / name).stat().st_mode)
        assert mode & 0o037 == 0 and mode & 0o600 == 0o600, (name, oct(mode))
