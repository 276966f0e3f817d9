"""Fixtures for the security tests: the tablet UI on a temp state dir (software key, fixed clock, file
printer, no GPIO) with the seeded admin and staff accounts of :mod:`tests.support.web`."""

from __future__ import annotations

import pytest

from tests.support.web import Browser








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
