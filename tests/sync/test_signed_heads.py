"""Every batch carries the device's newest signed journal head and the journal key (wire format
shared with the hub); older batches without them still open."""

from __future__ import annotations

import cbor2
import pytest

from appliance.errors import DecodeError
from appliance.journal import heads
from appliance.sync import batches
from appliance.sync.agent import SyncAgent
from tests.support.clock import NOW
from tests.support.journal import issue_specs, make_entries


def test_head_and_journal_key_round_trip(software_signer):
    jkey = software_signer.journal_signer
    entries = make_entries(3)
    head = heads.sign_head(jkey, "dev-1", 5, "ab" * 32, "2026-11-28T10:00:00Z")  # beyond last_seq: allowed
    data = batches.sign_batch(entries, device_id="dev-1", signer=software_signer, now=NOW, head=head,
                              journal_key=jkey.public_key_der)
    batch = batches.open_batch_full(data, certificate=software_signer.certificate)
    assert batch.head == head and batch.journal_key == jkey.public_key_der
    assert heads.verify_head(batch.journal_key, batch.device_id, batch.head)


def test_a_batch_without_head_still_opens(software_signer):
    data = batches.sign_batch(make_entries(2), device_id="d", signer=software_signer, now=NOW)
    batch = batches.open_batch_full(data, certificate=software_signer.certificate)
    assert batch.head is None and batch.journal_key is None
    assert set(cbor2.loads(cbor2.loads(data).value[2])) == batches.BODY_KEYS


@pytest.mark.parametrize("head, key, reason", [
    ({"seq": 1}, None, "head is malformed"),
    ({"seq": 1, "hash": "ab" * 32, "time": "yesterday", "kid": bytes(8), "sig": bytes(64)}, None, "time"),
    (None, b"not a key", "journal_key is not a P-256"),
])
def test_a_malformed_head_or_key_is_refused(software_signer, head, key, reason):
    body_head = head
    data = batches.sign_batch(make_entries(1), device_id="d", signer=software_signer, now=NOW)
    parts = list(cbor2.loads(data).value)
    body = cbor2.loads(parts[2])
    if body_head is not None:
        body["head"] = body_head
    if key is not None:
        body["journal_key"] = key
    parts[2] = cbor2.dumps(body)
    from appliance.dcc.sign import sig_structure
    parts[3] = software_signer.sign(sig_structure(parts[0], parts[2]))
    with pytest.raises(DecodeError, match=reason):
        batches.open_batch_full(cbor2.dumps(cbor2.CBORTag(18, parts)), certificate=software_signer.certificate)


class _RecordingHub:
    def __init__(self):
        self.ack, self.batches = 0, []

    def acknowledged(self, device_id, credential=None):
        return self.ack

    def push(self, device_id, data):
        self.batches.append(data)
        self.ack = cbor2.loads(cbor2.loads(data).value[2])["last_seq"]
        return self.ack


def test_the_agent_signs_the_current_head_at_every_sync(device_config, journal, software_signer):
    journal.append_bulk(issue_specs(4, software_signer), now=NOW, operator="s")  # not bound: no heads yet
    assert journal.newest_head() is None
    hub = _RecordingHub()
    assert SyncAgent(device_config.replace(sync=device_config.sync.__class__(batch_size=3)), journal,
                     software_signer, hub).run_once()
    opened = [batches.open_batch_full(b, certificate=software_signer.certificate) for b in hub.batches]
    assert [b.last_seq for b in opened] == [3, 4]
    for b in opened:  # each batch carries the newest head, seq 4, even the first one
        assert b.head["seq"] == 4 and b.head["hash"] == journal.entry_hash(4)
        assert heads.verify_head(b.journal_key, device_config.device.id, b.head)
    assert journal.newest_head()["seq"] == 4
