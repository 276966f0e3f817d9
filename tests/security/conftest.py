"""Fixtures for the security tests: the tablet UI on a temp state dir (software key, fixed clock, file
printer, no GPIO) with the seeded admin and staff accounts of :mod:`tests.support.web`."""

from __future__ import annotations

import pytest

from appliance.runtime import build_services
from appliance.web import create_app
from tests.support.web import ADMIN, STAFF, Browser


@pytest.fixture
def devices(make_config, clock, software_signer):
    config = make_config({"printer": {"kind": "file"}, "gpio": {"enabled": False}})
    d = build_services(config, clock=clock, signer=software_signer, with_panel=False)
    d.settings.add_user(ADMIN[0], password=ADMIN[1], role="admin")
    d.settings.add_user(STAFF[0], password=STAFF[1], role="staff")
    yield d
    d.close()


@pytest.fixture
def app(devices):
    app = create_app(devices.config, devices)
    app.config["TESTING"] = True
    return app


@pytest.fixture
def browser(app):
    return Browser(app.test_client())


@pytest.fixture
def new_browser(app):
    """``new_browser(address="10.0.0.7")`` -> another tablet (its own cookies, its own client address)."""
    def make(address: str = "127.0.0.1") -> Browser:
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = address
        return Browser(client)
    return make


class SmallDisk:
    """A tmpfs of ``size_kb`` mounted at ``path`` (real ENOSPC, as on a full SD card)."""

    def __init__(self, path, size_kb: int):
        self.path, self.size_kb = path, size_kb

    def fill(self) -> None:
        """Write a filler file until the disk says ENOSPC."""
        import errno

        with open(self.path / "filler", "wb", buffering=0) as fh:
            chunk = b"\0" * 4096
            try:
                while True:
                    fh.write(chunk)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC, exc


@pytest.fixture
def small_disk(tmp_path):
    """``small_disk`` -> a :class:`SmallDisk` of 2 MiB at ``tmp_path/disk``, unmounted afterwards."""
    import subprocess

    from tests.support.toolcheck import require

    path = tmp_path / "disk"
    path.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m,mode=0755", "tmpfs", str(path)],
                          capture_output=True, text=True)
    require(done.returncode == 0, f"mounting a tmpfs needs root ({done.stderr.strip()})")
    try:
        yield SmallDisk(path, 2048)
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)
