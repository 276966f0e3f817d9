"""Finding 2: cutting or rewriting the journal is found through the signed heads (the journal key)."""

from __future__ import annotations

import json

import pytest

from appliance.errors import JournalCorrupt
from appliance.journal import chain, heads, integrity


def _issue(issuer, request_for, n=3):
    return [issuer.issue(request_for("v"), operator="anna") for _ in range(n)]


def test_every_commit_stores_a_head_signed_by_the_journal_key_not_the_dcc_key(make_issuer, journal, request_for,
                                                                              software_signer, config):
    issued = _issue(make_issuer(), request_for)
    head = journal.newest_head()
    jkey = software_signer.journal_signer
    assert head["seq"] == issued[-1].seq and head["hash"] == journal.entry_hash(head["seq"])
    assert head["kid"] == jkey.kid == heads.journal_kid(jkey.public_key_der) != software_signer.kid
    assert heads.verify_head(jkey.public_key_der, config.device.id, head)
    assert not heads.verify_head(software_signer.certificate.public_key(), config.device.id, head)
    assert not heads.verify_head(jkey.public_key_der, "another-device", head)
    assert not heads.verify_head(jkey.public_key_der, config.device.id, {**head, "seq": head["seq"] - 1})


def test_deleting_the_newest_unsynced_entry_stops_issuing(make_issuer, journal, request_for, tamper):
    _issue(make_issuer(), request_for)
    tamper("DELETE FROM entries WHERE seq = 3")
    assert journal.verify() is None  # the hash chain alone still looks fine
    issuer = make_issuer()  # the next start
    problems = issuer.readiness()
    assert any("ends at seq 2, but its newest signed head is seq 3" in p and "call the technician" in p
               for p in problems), problems
    with pytest.raises(JournalCorrupt, match="cut off"):
        issuer.issue(request_for("v"), operator="anna")
    assert journal.last_seq() == 2  # nothing written


def test_rewriting_entries_with_recomputed_hashes_stops_issuing(make_issuer, journal, request_for, tamper):
    _issue(make_issuer(), request_for)
    entries = journal.entries()
    prev = chain.GENESIS
    for e in entries:  # the attacker changes the product of entry 2 and re-chains everything
        if e["seq"] == 2:
            e["data"] = {**e["data"], "mp": "EU/1/21/1529"}
        e["prev_hash"] = prev
        e["hash"] = prev = chain.entry_hash(e)
        tamper("UPDATE entries SET data = ?, prev_hash = ?, hash = ? WHERE seq = ?",
               json.dumps(e["data"], sort_keys=True, separators=(",", ":")), e["prev_hash"], e["hash"], e["seq"])
    assert journal.verify() is None
    problems = make_issuer().readiness()
    assert any("does not match the signed head: the journal was rewritten" in p for p in problems), problems


def test_cutting_entries_and_their_heads_together_is_found_by_the_missing_heads_or_the_hub(
        make_issuer, journal, request_for, tamper, config, software_signer):
    _issue(make_issuer(), request_for)
    tamper("DELETE FROM heads")
    assert any("signed heads were deleted" in p for p in make_issuer().readiness())
    report = integrity.check(journal, software_signer.journal_signer, config.device.id)
    assert integrity.NO_COUNTER in report.notes  # without a TPM the device says who will notice


def test_a_forged_head_is_refused(make_issuer, journal, request_for, tamper):
    _issue(make_issuer(), request_for)
    tamper("UPDATE heads SET sig = ? WHERE seq = 3", bytes(64))
    assert any("does not carry a valid signature" in p for p in make_issuer().readiness())


def test_a_deleted_synced_entry_is_found_at_the_next_start(make_issuer, journal, request_for, tamper):
    _issue(make_issuer(), request_for)
    journal.set_acknowledged(3)  # the hub has 1..3
    tamper("DELETE FROM entries WHERE seq = 3")
    tamper("DELETE FROM heads WHERE seq = 3")
    problems = make_issuer().readiness()
    assert any("hub acknowledged entries up to seq 3" in p and "synced entries were deleted" in p
               for p in problems), problems


def test_an_intact_journal_stays_ready_and_a_device_without_journal_key_says_so(make_issuer, journal, request_for,
                                                                                software_signer, config, now):
    from appliance.devices.signer import SoftwareSigner

    _issue(make_issuer(), request_for, 2)
    assert make_issuer().readiness() == []
    keyless = SoftwareSigner(software_signer._key, software_signer.certificate)
    report = integrity.check(journal, keyless.journal_signer, config.device.id)
    assert report.problems == [] and "no journal key" in report.notes[0]


def test_bulk_append_signs_its_heads_too(journal, software_signer, config, now):
    from tests.support.journal import issue_specs

    journal.bind_heads(software_signer.journal_signer, config.device.id)
    last = journal.append_bulk(issue_specs(5, software_signer), now=now, operator="import")
    assert journal.newest_head()["seq"] == last == 5
