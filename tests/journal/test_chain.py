import base64
import hashlib

from appliance.journal import chain
from tests.support.journal import make_entries


def test_intact_chain():
    assert chain.first_broken_link(make_entries(5)) is None


def test_edit_delete_insert_reorder_are_caught():
    e = make_entries(5)
    edited = [dict(x) for x in e]
    edited[2]["operator"] = "mallory"
    assert chain.first_broken_link(edited) == (3, "hash does not match the entry's content (entry edited)")
    deleted = e[:2] + e[3:]
    assert chain.first_broken_link(deleted)[0] == 3
    reordered = [e[0], e[2], e[1], e[3], e[4]]
    assert chain.first_broken_link(reordered)[0] == 2
    inserted = e[:2] + [dict(e[2], seq=3)] + [dict(x, seq=x["seq"] + 1) for x in e[2:]]
    assert chain.first_broken_link(inserted) is not None


def test_revocation_hashes_follow_the_gateway_rules():
    sig = bytes(range(64))
    h = chain.revocation_hashes("URN:UVCI:01:DE:X/1#A", "DE", sig)
    assert h["hash_uci"] == base64.b64encode(hashlib.sha256(b"URN:UVCI:01:DE:X/1#A").digest()[:16]).decode()
    assert h["hash_countrycodeuci"] == base64.b64encode(hashlib.sha256(b"DEURN:UVCI:01:DE:X/1#A").digest()[:16]).decode()
    assert h["hash_signature"] == base64.b64encode(hashlib.sha256(sig[:32]).digest()[:16]).decode()
    assert all(len(v) == 24 and v.endswith("==") for v in h.values())
