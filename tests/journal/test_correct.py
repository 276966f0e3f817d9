"""Issuer.correct (issue 10, finding 2): the new certificate and the old one's revocation in ONE
journal commit, idempotent as a whole; refusals leave nothing behind.

One-time failures are real: a SQLite trigger, made through a second connection to the journal
file, refuses ``revoked`` entries until it is dropped; a signer whose first signature fails.
"""

from __future__ import annotations


import pytest

from appliance.dcc import verify
from appliance.errors import IdempotencyConflict, InvalidInput, JournalError, SigningError
from tests.support.faults import refusing_revocations


@pytest.fixture
def issuer(make_issuer):
    return make_issuer()


@pytest.fixture
def old(issuer, request_for):
    """A vaccination certificate to correct."""
    return issuer.issue(request_for("v"), operator="anna", idempotency_key="first")


@pytest.fixture
def fixed(request_for, example):
    """The corrected request: another birth date."""
    data = example("v")
    data["date_of_birth"] = "1964-08-13"
    return request_for("v", data)


@pytest.fixture
def refuse_revocations(journal_path):
    with refusing_revocations(journal_path) as switch:
        yield switch


def _kinds(journal, after: int) -> list[tuple[str, str]]:
    return [(e["kind"], e["uvci"]) for e in journal.entries(after_seq=after)]


def test_correct_commits_the_new_certificate_and_the_revocation_together(issuer, journal, old, fixed, now,
                                                                          software_signer):
    before = journal.last_seq()
    new = issuer.correct(old.uvci, fixed, operator="bert", idempotency_key="fix-1")
    assert not new.replayed and new.uvci != old.uvci and new.dcc["dob"] == "1964-08-13"
    issued, revoked = journal.entries(after_seq=before)
    assert (issued["kind"], issued["uvci"], issued["seq"]) == ("issued", new.uvci, new.seq)
    assert (revoked["kind"], revoked["uvci"], revoked["seq"]) == ("revoked", old.uvci, new.seq + 1)
    assert revoked["data"] == {"reason": "corrected", "fraud": False} and revoked["time"] == issued["time"]
    assert journal.note(revoked["seq"]) == f"replaced by {new.uvci}"
    assert {k: revoked[k] for k in ("hash_uci", "hash_signature")} == \
        {k: journal.issued_entry(old.uvci)[k] for k in ("hash_uci", "hash_signature")}
    assert journal.certificate(old.uvci).revoked and not journal.certificate(new.uvci).revoked
    assert verify.verify(new.hc1, dscs=[software_signer.certificate], at=now).valid
    assert issuer.readiness() == []          # chain and signed head intact after the group commit


def test_a_failed_revocation_commits_nothing_and_the_replay_completes(issuer, journal, old, fixed,
                                                                     refuse_revocations):
    before, number = journal.last_seq(), journal.peek_sequence()
    refuse_revocations.arm()
    with pytest.raises(JournalError):
        issuer.correct(old.uvci, fixed, operator="bert", idempotency_key="fix-1")
    assert journal.last_seq() == before and journal.peek_sequence() == number      # not even the new entry
    assert [r.uvci for r in journal.search()] == [old.uvci] and not journal.certificate(old.uvci).revoked
    refuse_revocations.disarm()
    new = issuer.correct(old.uvci, fixed, operator="bert", idempotency_key="fix-1")
    assert not new.replayed
    assert _kinds(journal, before) == [("issued", new.uvci), ("revoked", old.uvci)]


def test_a_failed_signature_commits_nothing_and_the_replay_completes(make_issuer, journal, old, fixed,
                                                                    software_signer):
    class FailsOnce:
        """The real signer, whose next signature fails once (a token that drops out)."""

        def __init__(self, signer):
            self._signer, self.armed = signer, True

        def __getattr__(self, name):
            return getattr(self._signer, name)

        def sign(self, tbs: bytes) -> bytes:
            if self.armed:
                self.armed = False
                raise SigningError("injected: the token did not answer")
            return self._signer.sign(tbs)

    issuer = make_issuer(signer=FailsOnce(software_signer))
    before = journal.last_seq()
    with pytest.raises(SigningError):
        issuer.correct(old.uvci, fixed, operator="bert", idempotency_key="fix-1")
    assert journal.last_seq() == before and not journal.certificate(old.uvci).revoked
    new = issuer.correct(old.uvci, fixed, operator="bert", idempotency_key="fix-1")
    assert _kinds(journal, before) == [("issued", new.uvci), ("revoked", old.uvci)]


def test_a_replayed_correction_returns_the_same_certificate_and_writes_nothing(issuer, journal, old, fixed):
    first = issuer.correct(old.uvci, fixed, operator="bert", idempotency_key="fix-1")
    seq = journal.last_seq()
    again = issuer.correct(old.uvci, fixed, operator="bert", idempotency_key="fix-1")
    assert again.replayed and (again.uvci, again.hc1, again.seq) == (first.uvci, first.hc1, first.seq)
    assert journal.last_seq() == seq


def test_a_replay_revokes_the_old_certificate_an_earlier_non_atomic_correction_left_valid(issuer, journal, old,
                                                                                         fixed):
    """The journal the old view could leave: the new certificate issued, the revocation failed."""
    new = issuer.issue(fixed, operator="bert", idempotency_key="fix-1")
    assert not journal.certificate(old.uvci).revoked
    again = issuer.correct(old.uvci, fixed, operator="bert", idempotency_key="fix-1")
    assert again.replayed and again.uvci == new.uvci
    assert journal.certificate(old.uvci).revoked and not journal.certificate(new.uvci).revoked
    (revoked,) = [e for e in journal.entries() if e["kind"] == "revoked"]
    assert revoked["data"]["reason"] == "corrected" and journal.note(revoked["seq"]) == f"replaced by {new.uvci}"


def test_a_replay_with_other_data_is_refused_and_revokes_nothing(issuer, journal, old, fixed, request_for,
                                                                  example):
    issuer.issue(fixed, operator="bert", idempotency_key="fix-1")
    other = example("v")
    other["date_of_birth"] = "1970-01-01"
    seq = journal.last_seq()
    with pytest.raises(IdempotencyConflict):
        issuer.correct(old.uvci, request_for("v", other), operator="bert", idempotency_key="fix-1")
    assert journal.last_seq() == seq and not journal.certificate(old.uvci).revoked


def test_correcting_a_revoked_certificate_is_refused(issuer, journal, old, fixed):
    issuer.revoke(old.uvci, operator="bert", reason="wrong_data")
    seq, number = journal.last_seq(), journal.peek_sequence()
    with pytest.raises(InvalidInput) as exc:
        issuer.correct(old.uvci, fixed, operator="bert", idempotency_key="fix-1")
    assert set(exc.value.field_errors) == {"uvci"}
    assert "already revoked" in exc.value.field_errors["uvci"] and "new certificate" in exc.value.field_errors["uvci"]
    assert journal.last_seq() == seq and journal.peek_sequence() == number


def test_correcting_twice_with_new_keys_is_refused_the_second_time(issuer, journal, old, fixed):
    issuer.correct(old.uvci, fixed, operator="bert", idempotency_key="fix-1")
    seq = journal.last_seq()
    with pytest.raises(InvalidInput, match="already revoked"):
        issuer.correct(old.uvci, fixed, operator="bert", idempotency_key="fix-2")
    assert journal.last_seq() == seq


def test_correcting_an_unknown_certificate_or_into_another_type_is_refused(issuer, journal, old, request_for):
    seq = journal.last_seq()
    with pytest.raises(InvalidInput) as unknown:
        issuer.correct("URN:UVCI:01:DE:NOPE/0000001#X", request_for("v"), operator="bert")
    assert set(unknown.value.field_errors) == {"uvci"}
    with pytest.raises(InvalidInput) as other_type:
        issuer.correct(old.uvci, request_for("t"), operator="bert")
    assert set(other_type.value.field_errors) == {"type"}
    assert journal.last_seq() == seq and not journal.certificate(old.uvci).revoked
