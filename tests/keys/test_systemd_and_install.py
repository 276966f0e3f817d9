"""The systemd units verify and are hardened; install.sh is idempotent and honours --dry-run/--root."""

from __future__ import annotations

import shutil
import subprocess
import tomllib
from dataclasses import fields
from pathlib import Path

import pytest

from appliance.config import SECTIONS, load_config
from tests.support.paths import REPO
from tests.support.toolcheck import require

UNITS = sorted((REPO / "systemd").glob("*.service"))
EXEC = "/opt/appliance/venv/bin/appliance"


def unit(path: Path) -> dict[str, dict[str, list[str]]]:
    out: dict[str, dict[str, list[str]]] = {}
    section = None
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            section = out.setdefault(line.strip("[]"), {})
        else:
            key, _, value = line.partition("=")
            section.setdefault(key, []).append(value)
    return out


def test_the_three_units_exist():
    assert [u.name for u in UNITS] == ["appliance-hub.service", "appliance-purge.service",
                                       "appliance-sync.service", "appliance-web.service"]
    assert (REPO / "systemd/appliance-purge.timer").is_file()


def test_units_pass_systemd_analyze_verify(tmp_path):
    require(shutil.which("systemd-analyze") is not None, "systemd-analyze is not installed (apt-get install systemd)")
    stub = tmp_path / "bin" / "appliance"
    stub.parent.mkdir()
    stub.write_text("#!/bin/sh\nexit 0\n")
    stub.chmod(0o755)
    for u in UNITS:  # the venv is not installed here: point ExecStart at an executable stub
        (tmp_path / u.name).write_text(u.read_text().replace(EXEC, str(stub)))
    timer = REPO / "systemd/appliance-purge.timer"
    (tmp_path / timer.name).write_text(timer.read_text())
    result = subprocess.run(["systemd-analyze", "verify", *[str(tmp_path / u.name) for u in UNITS],
                             str(tmp_path / timer.name)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "appliance" not in result.stderr, result.stderr


@pytest.mark.parametrize("path", UNITS, ids=lambda p: p.name)
def test_units_are_hardened(path):
    s = unit(path)["Service"]
    for key, value in {"ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes",
                       "NoNewPrivileges": "yes"}.items():
        assert s[key] == [value], key
    assert s["StateDirectory"] and s["ConfigurationDirectory"] == ["appliance"]
    assert s["CapabilityBoundingSet"] == [""]
    assert s["User"][0].startswith("appliance")
    assert s.get("DevicePolicy") == ["closed"] or s.get("PrivateDevices") == ["yes"]


def test_web_starts_without_network_and_sync_waits_for_it():
    web, sync = unit(REPO / "systemd/appliance-web.service"), unit(REPO / "systemd/appliance-sync.service")
    assert "network-online.target" not in " ".join(web["Unit"].get("After", []) + web["Unit"].get("Wants", []))
    assert "network-online.target" in sync["Unit"]["After"][0] and "network-online.target" in sync["Unit"]["Wants"][0]
    for u in (web, sync):
        assert u["Service"]["LoadCredential"] == ["pin:/etc/appliance/signer-pin"]
        assert "/dev/tpmrm0 rw" in u["Service"]["DeviceAllow"]


def test_security_exposure_is_low(tmp_path):
    require(shutil.which("systemd-analyze") is not None, "systemd-analyze is not installed (apt-get install systemd)")
    for u in UNITS:
        result = subprocess.run(["systemd-analyze", "security", "--offline=yes", "--threshold=30", str(u)],
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stdout[-500:]


def run_install(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(REPO / "provisioning/install.sh"), *args],
                          capture_output=True, text=True, timeout=120)


def test_install_dry_run_changes_nothing(tmp_path):
    result = run_install("--root", str(tmp_path), "--tpm", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "would:  install /etc/systemd/system/appliance-web.service" in result.stdout
    assert "would:  add dtparam=spi=on, dtoverlay=tpm-slb9670" in result.stdout
    assert list(tmp_path.iterdir()) == []


def test_install_twice_changes_nothing_the_second_time(tmp_path):
    first = run_install("--root", str(tmp_path), "--tpm", "--hub")
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip().endswith("done: 15 change(s) made")
    assert (tmp_path / "etc/systemd/system/appliance-hub.service").read_bytes() == \
        (REPO / "systemd/appliance-hub.service").read_bytes()
    assert (tmp_path / "etc/systemd/system/appliance-purge.timer").is_file()
    assert (tmp_path / "etc/udev/rules.d/99-appliance-printer.rules").is_file()
    assert (tmp_path / "etc/appliance/appliance.toml").stat().st_mode & 0o777 == 0o640
    assert "dtoverlay=tpm-slb9670" in (tmp_path / "boot/firmware/config.txt").read_text().splitlines()
    assert (tmp_path / "etc/nginx/sites-available/hub.conf").read_bytes() == (REPO / "provisioning/nginx/hub.conf").read_bytes()
    assert (tmp_path / "etc/nginx/sites-enabled/hub.conf").readlink() == Path("/etc/nginx/sites-available/hub.conf")
    assert (tmp_path / "etc/appliance/tls/hub-key.pem").stat().st_mode & 0o777 == 0o600
    (tmp_path / "etc/appliance/appliance.toml").write_text("[device]\nid = \"pi-0001\"\n")  # a technician's edit
    second = run_install("--root", str(tmp_path), "--tpm", "--hub")
    assert second.returncode == 0, second.stderr
    assert "do:" not in second.stdout and second.stdout.strip().endswith("done: 0 change(s) made")
    assert (tmp_path / "etc/appliance/appliance.toml").read_text() == "[device]\nid = \"pi-0001\"\n"
    assert (tmp_path / "boot/firmware/config.txt").read_text().count("tpm-slb9670") == 1


def test_install_rejects_unknown_options():
    result = run_install("--frobnicate")
    assert result.returncode == 2 and "unknown option --frobnicate" in result.stderr


def test_example_config_loads_and_documents_every_key():
    path = REPO / "provisioning/appliance.toml.example"
    load_config(path, env={})
    data = tomllib.loads(path.read_text())
    for name, cls in SECTIONS.items():
        assert set(data[name]) == {f.name for f in fields(cls)}, name


def test_install_sets_up_nginx_in_front_of_the_ui(tmp_path):
    (tmp_path / "etc/nginx/sites-enabled").mkdir(parents=True)
    (tmp_path / "etc/nginx/sites-enabled/default").symlink_to("/etc/nginx/sites-available/default")
    result = run_install("--root", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "do:     disable nginx's default site" in result.stdout
    assert not (tmp_path / "etc/nginx/sites-enabled/default").is_symlink()
    site = tmp_path / "etc/nginx/sites-available/appliance.conf"
    assert site.read_bytes() == (REPO / "provisioning/nginx/appliance.conf").read_bytes()
    assert (tmp_path / "etc/nginx/sites-enabled/appliance.conf").readlink() == Path("/etc/nginx/sites-available/appliance.conf")
    assert (tmp_path / "etc/systemd/system/nginx.service.d/appliance.conf").is_file()
    cert, key = tmp_path / "etc/appliance/tls/web-cert.pem", tmp_path / "etc/appliance/tls/web-key.pem"
    assert b"BEGIN CERTIFICATE" in cert.read_bytes() and key.stat().st_mode & 0o777 == 0o600
    # the app behind it listens on loopback and trusts the proxy: the example config says so
    web = tomllib.loads((REPO / "provisioning/appliance.toml.example").read_text())["web"]
    assert web["host"] == "127.0.0.1" and web["behind_proxy"] is True
    assert "server 127.0.0.1:%d;" % web["port"] in site.read_text()


def test_the_nginx_drop_in_verifies_with_debians_unit(tmp_path):
    require(shutil.which("systemd-analyze") is not None, "systemd-analyze is not installed (apt-get install systemd)")
    debian = Path("/lib/systemd/system/nginx.service")
    require(debian.is_file(), "nginx is not installed (apt-get install nginx)")
    (tmp_path / "nginx.service").write_text(debian.read_text())
    (tmp_path / "nginx.service.d").mkdir()
    drop_in = REPO / "systemd/nginx.service.d/appliance.conf"
    (tmp_path / "nginx.service.d/appliance.conf").write_text(drop_in.read_text())
    result = subprocess.run(["systemd-analyze", "verify", str(tmp_path / "nginx.service")],
                            capture_output=True, text=True, timeout=120)
    assert "appliance.conf" not in result.stderr, result.stderr
    s = unit(drop_in)["Service"]
    for key in ("NoNewPrivileges", "ProtectHome", "PrivateTmp", "PrivateDevices"):
        assert s[key] == ["yes"], key
    assert "CAP_SYS_ADMIN" not in s["CapabilityBoundingSet"][0]
