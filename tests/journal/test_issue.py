"""Issuer: the ordered pipeline, idempotency, refusals that leave nothing behind, revocation."""

from __future__ import annotations

import sqlite3
import threading
import zlib
from datetime import timedelta

import cbor2
import pytest

from appliance.dcc import base45, uvci, verify
from appliance.journal import chain
from appliance.devices.clock import FixedClock
from appliance.devices.signer import SoftwareSigner
from appliance.errors import ClockNotTrusted, DscError, InvalidInput, JournalCorrupt, JournalError, SigningError
from appliance.issue import Issued
from appliance.journal.journal import Journal
from tests.support.cli import clean_env


def signature_of(hc1: str) -> bytes:
    return cbor2.loads(zlib.decompress(base45.b45decode(hc1[4:]))).value[3]


def nothing_written(journal, seq_before=0):
    return journal.last_seq() == seq_before and journal.peek_sequence() == 1 and journal.search() == []


@pytest.mark.parametrize("dcc_type", ["v", "t", "r"])
def test_issue_commits_a_verified_certificate(make_issuer, journal, request_for, now, software_signer, dcc_type):
    issued = make_issuer().issue(request_for(dcc_type), operator="anna")
    assert isinstance(issued, Issued) and not issued.replayed and issued.type == dcc_type
    result = verify.verify(issued.hc1, dscs=[software_signer.certificate], at=now)
    assert result.valid, result.errors
    assert result.payload == issued.dcc and issued.dcc[dcc_type][0]["ci"] == issued.uvci
    assert uvci.is_valid(issued.uvci) and issued.kid == software_signer.kid
    assert result.expires_at == issued.expires_at and issued.issued_at == now
    [entry] = journal.entries()
    assert entry["seq"] == issued.seq == 1 and entry["kind"] == "issued" and entry["uvci"] == issued.uvci
    assert entry["operator"] == journal.operator_pseudonym("anna") != "anna" and entry["type"] == dcc_type
    assert entry["data"]["expires_at"] == issued.expires_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    hashes = chain.revocation_hashes(issued.uvci, "DE", signature_of(issued.hc1))
    assert {k: entry[k] for k in hashes} == hashes
    record = journal.certificate(issued.uvci)
    assert record.personal["hc1"] == issued.hc1 and record.personal["dcc"] == issued.dcc
    assert issued.dcc["nam"]["fn"] not in repr(entry)


def test_same_idempotency_key_returns_the_first_certificate(make_issuer, journal, request_for):
    issuer = make_issuer()
    first = issuer.issue(request_for("v"), operator="anna", idempotency_key="form-123")
    again = issuer.issue(request_for("v"), operator="anna", idempotency_key="form-123")
    other = issuer.issue(request_for("v"), operator="anna", idempotency_key="form-124")
    assert again.replayed and again.uvci == first.uvci and again.hc1 == first.hc1 and again.seq == first.seq
    assert again.dcc == first.dcc and again.expires_at == first.expires_at and again.kid == first.kid
    assert other.uvci != first.uvci and not other.replayed
    assert journal.last_seq() == 2


def test_replay_after_purge_says_so(make_issuer, journal, request_for, now):
    issuer = make_issuer()
    first = issuer.issue(request_for("t"), operator="anna", idempotency_key="k")
    journal.purge(now=now + timedelta(days=15), retention_days=14)
    with pytest.raises(JournalError, match=first.uvci):
        issuer.issue(request_for("t"), operator="anna", idempotency_key="k")


def test_uvci_sequence_persists_across_restarts(config, journal_path, clock, software_signer, request_for):
    from appliance.issue import Issuer

    seen = []
    for _ in range(3):
        with Journal.open(journal_path) as j:
            issuer = Issuer(config=config, signer=software_signer, journal=j, clock=clock)
            seen.append(issuer.issue(request_for("v"), operator="anna").uvci)
            clock.advance(timedelta(seconds=1))
    assert len(set(seen)) == 3
    assert [s.split("/")[1][6:13] for s in seen] == ["0000001", "0000002", "0000003"]


def test_time_before_newest_entry_is_refused_and_nothing_written(make_issuer, journal, request_for, now):
    clock = FixedClock(now)
    issuer = make_issuer(clock=clock)
    issuer.issue(request_for("v"), operator="anna")
    clock.set(now - timedelta(minutes=10))
    assert any("newest journal entry" in p for p in issuer.readiness())
    with pytest.raises(ClockNotTrusted, match="newest journal entry"):
        issuer.issue(request_for("v"), operator="anna")
    with pytest.raises(ClockNotTrusted):
        issuer.confirm_clock(operator="admin")  # confirming cannot fix an impossible time
    assert journal.last_seq() == 1 and journal.peek_sequence() == 2


def test_time_before_release_date_is_refused(make_issuer, journal, request_for, now):
    issuer = make_issuer(release_date=(now + timedelta(days=1)).strftime("%Y-%m-%d"))
    with pytest.raises(ClockNotTrusted, match="release date"):
        issuer.issue(request_for("v"), operator="anna")
    assert nothing_written(journal)


def test_unsynchronised_clock_needs_a_confirmation_per_boot(make_issuer, journal, request_for, now):
    clock = FixedClock(now, synchronized=False, rtc=False, boot="boot-1")
    issuer = make_issuer(clock=clock)
    with pytest.raises(ClockNotTrusted, match="confirm"):
        issuer.issue(request_for("v"), operator="anna")
    assert nothing_written(journal)
    confirmation = issuer.confirm_clock(operator="admin")
    assert confirmation["kind"] == "clock_confirmed" and confirmation["data"]["boot_id"] == "boot-1"
    assert issuer.readiness() == []
    issuer.issue(request_for("v"), operator="anna")
    clock.boot = "boot-2"  # a reboot: the old confirmation no longer counts
    with pytest.raises(ClockNotTrusted):
        issuer.issue(request_for("v"), operator="anna")
    clock.rtc = True       # a battery clock makes the confirmation unnecessary
    issuer.issue(request_for("v"), operator="anna")


def test_expired_dsc_is_refused_with_nothing_journaled(make_issuer, journal, request_for, now):
    old = SoftwareSigner.generate(now=now - timedelta(days=800))
    issuer = make_issuer(signer=old)
    with pytest.raises(DscError, match="expired"):
        issuer.issue(request_for("v"), operator="anna")
    assert any("expired" in p for p in issuer.readiness())
    assert nothing_written(journal)


def test_dsc_without_the_types_eku_is_refused(make_issuer, journal, request_for, now):
    tests_only = SoftwareSigner.generate(now=now, types="t")
    issuer = make_issuer(signer=tests_only)
    with pytest.raises(DscError, match="vaccination"):
        issuer.issue(request_for("v"), operator="anna")
    assert nothing_written(journal)
    assert issuer.readiness("v") and issuer.readiness("t") == [] and issuer.readiness() == []
    assert issuer.issue(request_for("t"), operator="anna").type == "t"


class BadSignatureSigner:
    """A signer whose signatures do not verify: self-verification must catch it."""

    def __init__(self, real):
        self.real = real
        self.kid, self.certificate = real.kid, real.certificate

    def sign(self, tbs: bytes) -> bytes:
        sig = bytearray(self.real.sign(tbs))
        sig[40] ^= 0xFF
        return bytes(sig)


def test_failed_self_verification_is_an_error_not_a_silent_pass(make_issuer, journal, request_for, software_signer):
    issuer = make_issuer(signer=BadSignatureSigner(software_signer))
    with pytest.raises(SigningError, match="self-verification"):
        issuer.issue(request_for("v"), operator="anna")
    assert journal.last_seq() == 0 and journal.search() == []


def test_broken_chain_stops_issuing(config, journal_path, clock, software_signer, request_for):
    from appliance.issue import Issuer

    with Journal.open(journal_path) as j:
        Issuer(config=config, signer=software_signer, journal=j, clock=clock).issue(request_for("v"), operator="a")
    with sqlite3.connect(journal_path) as db:
        db.execute("UPDATE entries SET operator = 'mallory' WHERE seq = 1")
    with Journal.open(journal_path) as j:
        issuer = Issuer(config=config, signer=software_signer, journal=j, clock=clock)
        assert any("broken at seq 1" in p for p in issuer.readiness())
        with pytest.raises(JournalCorrupt, match="seq 1"):
            issuer.issue(request_for("v"), operator="anna")
        assert j.last_seq() == 1


def test_revoke(make_issuer, journal, request_for):
    issuer = make_issuer()
    issued = issuer.issue(request_for("v"), operator="anna")
    entry = issuer.revoke(issued.uvci, operator="admin", reason="issued to the wrong person", fraud=True)
    original = journal.entries()[0]
    assert entry["kind"] == "revoked" and entry["uvci"] == issued.uvci and entry["seq"] == 2
    assert entry["data"] == {"reason": "other", "fraud": True}   # free text is no code: it stays on the device
    assert journal.note(entry["seq"]) == "issued to the wrong person"
    for k in ("hash_uci", "hash_countrycodeuci", "hash_signature", "kid", "type"):
        assert entry[k] == original[k]
    assert journal.certificate(issued.uvci).revoked
    with pytest.raises(InvalidInput) as err:
        issuer.revoke(issued.uvci, operator="admin", reason="again")
    assert "uvci" in err.value.field_errors
    with pytest.raises(InvalidInput):
        issuer.revoke("URN:UVCI:01:DE:NOPE/1#A", operator="admin", reason="x")
    with pytest.raises(InvalidInput) as err:
        issuer.revoke(issued.uvci, operator="admin", reason="  ")
    assert "reason" in err.value.field_errors
    assert journal.verify() is None and journal.last_seq() == 2


def test_threads_issue_without_duplicates(make_issuer, journal, request_for):
    issuer = make_issuer()
    req = request_for("t")
    out, errors = [], []

    def worker():
        try:
            for _ in range(10):
                out.append(issuer.issue(req, operator="t").uvci)
        except Exception as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(out) == 40 and len(set(out)) == 40
    assert journal.verify() is None and journal.last_seq() == 40


CONCURRENT = """
import json, sys
from datetime import datetime
from pathlib import Path
from appliance.dcc import form
from appliance.config import load_config
from appliance.devices.clock import FixedClock
from appliance.devices.signer import SoftwareSigner
from appliance.issue import Issuer
from appliance.journal.journal import Journal
state, example, now = Path(sys.argv[1]), Path(sys.argv[2]), datetime.fromisoformat(sys.argv[4])
config = load_config(env={}, state_dir=state)
clock = FixedClock(now)
with Journal.open(state / "journal.sqlite") as journal:
    issuer = Issuer(config=config, signer=SoftwareSigner.open(state, create=False), journal=journal, clock=clock)
    req = form.parse_input(json.loads(example.read_text()), type="t", device=config.device, now=now)
    for _ in range(15):
        print(issuer.issue(req, operator=sys.argv[3]).uvci, flush=True)
"""


def test_two_processes_issue_into_one_journal(state_dir, now):
    import subprocess
    import sys

    from appliance.dcc.samples import example_path

    SoftwareSigner.open(state_dir, now=now)
    args = [str(state_dir), str(example_path("t"))]
    procs = [subprocess.Popen([sys.executable, "-c", CONCURRENT, *args, name, now.isoformat()], env=clean_env(),
                              stdout=subprocess.PIPE, text=True) for name in ("web", "cli")]
    outs = [p.communicate(timeout=120)[0].split() for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    returned = outs[0] + outs[1]
    assert len(returned) == 30 and len(set(returned)) == 30
    with Journal.open(state_dir / "journal.sqlite") as j:
        assert j.verify() is None
        assert sorted(e["uvci"] for e in j.entries()) == sorted(returned)
        assert j.peek_sequence() == 31  # numbers 1..30, no gaps


class UnpluggedSigner:
    """The token was pulled out: every use raises SignerUnavailable, as the PKCS#11 adapter does."""

    kid = b"\x00" * 8

    @property
    def certificate(self):
        from appliance.errors import SignerUnavailable

        raise SignerUnavailable("the signing token is not present; plug it in")

    def sign(self, tbs):
        raise AssertionError("must not be called")


def test_missing_token_blocks_issuing_with_its_own_message(make_issuer, journal, request_for):
    from appliance.errors import SignerUnavailable

    issuer = make_issuer(signer=UnpluggedSigner())
    assert issuer.readiness() == ["the signing token is not present; plug it in"]
    with pytest.raises(SignerUnavailable, match="plug it in"):
        issuer.issue(request_for("v"), operator="anna")
    assert nothing_written(journal)


def test_tampering_in_the_recent_window_of_a_long_journal_stops_issuing(make_issuer, journal, now):
    journal.append_bulk(({"kind": "note", "data": {"i": i}} for i in range(1500)), now=now, operator="bulk")
    issuer = make_issuer()
    assert issuer.readiness() == []
    journal.append("note", now=now, operator="x")
    with sqlite3.connect(journal.path) as db:
        db.execute("""UPDATE entries SET data = '{"i":-1}' WHERE seq = 1400""")
    fresh = make_issuer()  # a restarted process checks the newest window at start
    assert any("broken at seq 1400" in p for p in fresh.readiness())
    assert journal.verify()[0] == 1400
