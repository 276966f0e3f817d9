"""Hub-side findings of issue 11: cross-device revocation (3), work before authentication (9),
device-signed entries the hub cannot store (12). Each case ends with nothing stored."""

from __future__ import annotations

import datetime as dt
import tracemalloc

import cbor2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from appliance.devices.signer import SoftwareSigner
from appliance.hub.intake import BatchRejected, accept
from appliance.journal import chain
from appliance.sync import batches
from tests.support.clock import NOW
from tests.support.hub_batches import hostile_body
from tests.support.hub_kit import DEVICE, raw_signed_batch
from tests.support.journal import make_entries

OTHER = "dev-0002"


def post(client, data: bytes, device: str = DEVICE):
    return client.post(f"/api/v1/devices/{device}/batches", data=data, content_type="application/cose")


def _revocation(seq: int, uvci: str, prev_hash: str) -> dict:
    entry = {"seq": seq, "time": "2026-11-28T11:00:00Z", "kind": "revoked", "operator": "op-1", "type": "v",
             "uvci": uvci, "kid": "AAAAAAAAAAA=", "hash_uci": "A" * 22 + "==", "hash_countrycodeuci": "B" * 22 + "==",
             "hash_signature": "C" * 22 + "==", "data": {"reason": "test"}, "prev_hash": prev_hash}
    return dict(entry, hash=chain.entry_hash(entry))


def test_a_device_may_revoke_only_what_it_issued(hub_app, hub_store, registered, software_signer, auth):
    other = SoftwareSigner.generate(now=NOW)
    hub_store.register_device(OTHER, other.certificate, now=NOW)
    client = hub_app.test_client()
    issued = make_entries(3)                                              # DEVICE issues URN:UVCI:01:DE:T/1..3
    assert post(client, batches.sign_batch(issued, device_id=DEVICE, signer=software_signer, now=NOW)).status_code == 200
    attack = [_revocation(1, issued[0]["uvci"], chain.GENESIS)]           # OTHER revokes DEVICE's certificate
    r = post(client, batches.sign_batch(attack, device_id=OTHER, signer=other, now=NOW), device=OTHER)
    assert r.status_code == 403 and "did not issue" in r.get_json()["error"]
    assert hub_store.count(OTHER) == 0
    assert client.get("/api/v1/revocations", headers=auth).get_json()["batches"] == []
    own = [_revocation(4, issued[1]["uvci"], issued[-1]["hash"])]         # DEVICE revokes its own: fine
    assert post(client, batches.sign_batch(own, device_id=DEVICE, signer=software_signer, now=NOW)).status_code == 200
    exported = client.get("/api/v1/revocations?hashType=UCI", headers=auth).get_json()["batches"]
    assert [len(b["entries"]) for b in exported] == [1]


def test_a_bad_signature_is_refused_before_the_payload_is_decoded(hub_app, registered, software_signer):
    protected = cbor2.dumps({1: -7, 4: software_signer.kid})
    junk = b"\xff\xfe this payload is not CBOR at all"                     # decoding it would fail first
    r = post(hub_app.test_client(), cbor2.dumps(cbor2.CBORTag(18, [protected, {}, junk, b"\x01" * 64])))
    assert r.status_code == 403 and "does not verify" in r.get_json()["error"]


def test_a_maximal_hostile_body_costs_no_more_than_its_bytes(hub_config, hub_store, registered, software_signer):
    limit = hub_config.hub.max_body_bytes
    data = hostile_body(limit - 64, software_signer.kid)
    assert len(data) <= limit
    tracemalloc.start()
    try:
        with pytest.raises(BatchRejected) as refused:
            accept(hub_store, data, now=NOW, url_device_id=DEVICE, max_bytes=limit)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert refused.value.status == 403
    assert peak < limit // 4, f"refusing a {len(data)}-byte body allocated {peak} bytes"


def test_the_body_limit_fits_a_maximal_real_batch_and_no_more(hub_config, hub_app, registered, software_signer):
    limit, most = hub_config.hub.max_body_bytes, hub_config.hub.max_batch
    assert limit < batches.MAX_BATCH_BYTES
    rich = [dict(e, operator="op-0123456789abcdef", hash_uci="A" * 22 + "==", hash_countrycodeuci="B" * 22 + "==",
                 hash_signature="C" * 22 + "==", uvci=f"URN:UVCI:01:DE:DEMO1/ABCDEFG{e['seq']:06d}#X",
                 data={"mp": "EU/1/20/1528", "dn": 1, "sd": 3, "co": "DE", "expires_at": "2027-11-28T10:00:00Z",
                       "centre": "Impfzentrum Musterstadt Nord"}) for e in make_entries(most)]
    prev = chain.GENESIS
    for e in rich:
        e["prev_hash"] = prev
        e["hash"] = prev = chain.entry_hash(e)
    data = batches.sign_batch(rich, device_id=DEVICE, signer=software_signer, now=NOW)
    assert len(data) <= limit
    r = post(hub_app.test_client(), data)
    assert r.status_code == 200 and r.get_json()["acknowledged_seq"] == most
    r = post(hub_app.test_client(), b"\x00" * (limit + 1))
    assert r.status_code == 413


def _entry_with(field: str, value) -> dict:
    entry = make_entries(1)[0]
    entry[field] = value
    try:
        entry["hash"] = chain.entry_hash(entry)
    except (TypeError, ValueError):
        entry["hash"] = "0" * 64                                          # the device signs it anyway
    return entry


UNSTORABLE = {
    "bytes in data": ("data", {"mp": b"\x01\x02"}, "data.mp"),
    "date-time in data": ("data", {"dt": dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)}, "date-time"),
    "undefined in data": ("data", {"x": cbor2.undefined}, "undefined"),
    "data a list": ("data", [1, 2], "must be a map"),
    "data a string": ("data", "x", "must be a map"),
    "data bytes": ("data", b"x", "must be a map"),
    "tag in data": ("data", {"x": cbor2.CBORTag(99, 1)}, "CBORTag"),
    "bytes as operator": ("operator", b"op", "operator"),
    "NUL in uvci": ("uvci", "URN:\x00", "NUL"),
    "huge dose": ("data", {"dn": 2**70}, "out of range"),
    "bad time": ("time", "yesterday", "ISO 8601"),
    "date-time as time": ("time", dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc), "time"),
    "kind bytes": ("kind", b"issued", "kind"),
    "huge seq": ("seq", 2**64, "seq"),
}


@pytest.mark.parametrize("case", list(UNSTORABLE))
def test_an_entry_the_hub_cannot_store_is_a_clear_400(hub_app, hub_store, registered, software_signer, case):
    field, value, says = UNSTORABLE[case]
    entry = _entry_with(field, value)
    first = entry["seq"] if isinstance(entry["seq"], int) else 1
    data = raw_signed_batch({"device_id": DEVICE, "created": 0, "first_seq": first, "last_seq": first,
                             "entries": [entry]}, software_signer)
    r = post(hub_app.test_client(), data)
    assert r.status_code == 400, r.get_data(as_text=True)[:300]
    assert says in r.get_json()["error"]
    assert hub_store.count(DEVICE) == 0


_leaf = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=8), st.binary(max_size=8),
                  st.datetimes(timezones=st.just(dt.timezone.utc)), st.just(cbor2.undefined),
                  st.builds(cbor2.CBORTag, st.integers(6, 30), st.integers()))
_values = st.recursive(_leaf, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                     st.dictionaries(st.text(max_size=4), inner, max_size=3)),
                       max_leaves=8)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(field=st.sampled_from(chain.FIELDS[1:-1]), value=_values)
def test_hub_intake_answers_400_or_200_never_500(hub_app, hub_store, software_signer, field, value):
    device = f"hyp-{hub_store.devices.__self__.__class__.__name__}-{abs(hash((field, repr(value)))) % 10**9}"
    hub_store.register_device(device, software_signer.certificate, now=NOW)
    entry = _entry_with(field, value)
    data = raw_signed_batch({"device_id": device, "created": 0, "first_seq": 1, "last_seq": 1, "entries": [entry]},
                            software_signer)
    r = post(hub_app.test_client(), data, device=device)
    assert r.status_code in (200, 400), r.get_data(as_text=True)[:300]
    assert hub_store.count(device) == (1 if r.status_code == 200 else 0)
