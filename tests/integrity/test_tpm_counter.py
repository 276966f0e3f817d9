"""Finding 2 (TPM): the signed head is bound to a TPM NV monotonic counter, so a restored older copy
of the journal (an old SD-card image) is found on the device itself. Runs on a real swtpm."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import time

import pytest

from appliance.devices.tpm_counter import TpmCounter
from appliance.journal import integrity
from appliance.journal.journal import Journal
from tests.support.toolcheck import require

INDEX = "0x01500016"


@pytest.fixture
def counter(tmp_path):
    require(all(shutil.which(t) for t in ("swtpm", "tpm2_nvdefine", "tpm2_nvincrement", "tpm2_nvread")),
            "swtpm and tpm2-tools are not installed (apt-get install swtpm tpm2-tools)")
    (tmp_path / "tpm").mkdir()
    sock = tmp_path / "tpm" / "sock"
    proc = subprocess.Popen(["swtpm", "socket", "--tpm2", "--tpmstate", f"dir={tmp_path / 'tpm'}",
                             "--server", f"type=unixio,path={sock}", "--ctrl", f"type=unixio,path={sock}.ctrl",
                             "--flags", "not-need-init,startup-clear"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 10
    while not sock.exists():
        assert time.monotonic() < deadline and proc.poll() is None, "swtpm did not start"
        time.sleep(0.02)
    tpm = TpmCounter(INDEX, tcti=f"swtpm:path={sock}")
    assert tpm.define() is True and tpm.define() is False
    yield tpm
    proc.terminate()
    proc.wait(timeout=10)


def _copy(src, dst) -> None:
    """A consistent copy of the journal file, as an SD-card image holds it."""
    con = sqlite3.connect(src)
    try:
        con.execute("VACUUM INTO ?", (str(dst),))
    finally:
        con.close()


def test_the_counter_only_goes_up(counter):
    first = counter.read()
    counter.increment()
    assert counter.read() == first + 1


def test_a_restored_older_journal_is_found_through_the_tpm_counter(make_issuer, make_config, journal, journal_path,
                                                                  request_for, counter, tmp_path):
    config = make_config({"journal": {"counter_every": 1}})
    issuer = make_issuer(config=config, counter=counter)
    issuer.issue(request_for("v"), operator="anna")
    _copy(journal_path, tmp_path / "old-image.sqlite")        # the SD card is imaged here
    issuer.issue(request_for("v"), operator="anna")
    issuer.issue(request_for("v"), operator="anna")
    assert make_issuer(config=config, counter=counter).readiness() == []
    journal.close()
    for suffix in ("-wal", "-shm"):
        journal_path.with_name(journal_path.name + suffix).unlink(missing_ok=True)
    shutil.copy(tmp_path / "old-image.sqlite", journal_path)   # ... and restored later
    with Journal.open(journal_path) as old:
        assert old.verify() is None                             # a consistent, signed, older journal
        problems = make_issuer(config=config, counter=counter, journal=old).readiness()
    assert any("this is an older copy of the journal" in p for p in problems), problems


def test_a_crash_between_checkpoint_and_increment_is_completed(journal, software_signer, config, counter, now,
                                                               request_for, make_issuer):
    make_issuer().issue(request_for("v"), operator="anna")
    signer = software_signer.journal_signer
    value = counter.read()
    row = {"counter": value + 1, "seq": 1, "hash": journal.entry_hash(1), "time": "2026-11-28T10:00:00Z"}
    row["sig"] = signer.sign(integrity.counter_message(config.device.id, row["counter"], 1, row["hash"], row["time"]))
    journal.store_checkpoint(row)                               # written, then the power went
    assert integrity.check(journal, signer, config.device.id, counter=counter).problems == []
    integrity.checkpoint(journal, signer, config.device.id, counter, now=now)
    assert counter.read() == value + 1
    assert integrity.check(journal, signer, config.device.id, counter=counter).problems == []
