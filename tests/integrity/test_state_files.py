"""Finding 11 (part): state files are the owner's alone whatever the umask; a full disk at start-up
is a clear JournalError (what is wrong, what to do), no traceback, nothing half-written."""

from __future__ import annotations

import os
import stat
import subprocess

import pytest

from appliance.errors import JournalError
from appliance.journal.journal import Journal
from tests.support.toolcheck import require


def test_the_journal_is_0600_under_umask_022(tmp_path, now):
    old = os.umask(0o022)
    try:
        with Journal.open(tmp_path / "journal.sqlite") as j:
            j.append("clock_confirmed", now=now, operator="t")
            modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in tmp_path.iterdir()}
    finally:
        os.umask(old)
    assert modes["journal.sqlite"] == 0o600
    assert all(m & 0o077 == 0 for name, m in modes.items() if name.startswith("journal.sqlite")), modes


@pytest.fixture
def full_disk(tmp_path):
    """A tiny tmpfs, filled up (a real ENOSPC, as on a full SD card)."""
    mnt = tmp_path / "full"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)], capture_output=True, text=True)
    require(r.returncode == 0, f"a tmpfs mount for the full-disk test ({r.stderr.strip()}; needs root)")
    try:
        fd = os.open(mnt / "filler", os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            while os.write(fd, b"\0" * 4096):
                pass
        except OSError:
            pass
        finally:
            os.close(fd)
        yield mnt
    finally:
        subprocess.run(["umount", str(mnt)], check=True)


def test_a_full_disk_at_start_up_is_a_clear_journal_error(full_disk):
    with pytest.raises(JournalError, match="the disk is full: free space") as info:
        Journal.open(full_disk / "journal.sqlite")
    assert "Traceback" not in str(info.value)
    assert not (full_disk / "journal.sqlite").exists()
    assert [p.name for p in full_disk.iterdir()] == ["filler"]  # nothing half-written left behind
