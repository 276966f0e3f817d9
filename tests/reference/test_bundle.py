"""The .dccbundle: signed by the trust anchor's key, checked before anything is installed.

Every refusal names the part and the problem, and leaves the installed data as it was."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import cbor2
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from appliance.errors import ReferenceDataError
from appliance.reference import content, store
from appliance.reference.bundle import MAX_BUNDLE_BYTES, Part, open_bundle, sign_bundle
from tests.support import reference as R


def _snapshot(state: Path) -> dict:
    return {str(p.relative_to(state)): (p.readlink() if p.is_symlink() else p.read_bytes() if p.is_file() else None)
            for p in sorted(state.rglob("*")) if p.name != ".lock"}


@pytest.fixture
def installed_state(tmp_path, kit, bundle, real_now) -> Path:
    state = tmp_path / "state"
    state.mkdir(exist_ok=True)
    store.install(state, bundle, anchor=kit.anchor, now=real_now, source="test")
    return state


def _refused(state, data, kit, now, *needles):
    before = _snapshot(state)
    with pytest.raises(ReferenceDataError) as exc:
        store.install(state, data, anchor=kit.anchor, now=now, source="test")
    text = str(exc.value)
    assert text.startswith("bundle refused: ") and "nothing was installed" in text, text
    for needle in needles:
        assert needle in text, text
    assert _snapshot(state) == before           # nothing changed, not even a staging folder
    return text


def test_round_trip(kit, bundle, real_now):
    opened = open_bundle(bundle, anchor=kit.anchor, now=real_now)
    assert opened.versions() == {"valuesets": 1, "trustlist": 1, "rules": 1, "revocations": 1}
    parsed = content.check_parts(opened.parts)
    assert R.NEW_RAT_DEVICE in parsed["valuesets"]["covid-19-lab-test-manufacturer-and-name"]["valueSetValues"]


def test_tampered(installed_state, kit, bundle, real_now, inputs):
    newer = kit.bundle(bundle, revocations=R.uci_batch("URN:UVCI:01:XX:OTHER#1"))
    tag = cbor2.loads(newer)
    protected, unprotected, payload, signature = tag.value
    body = cbor2.loads(payload)
    assert b'"country":"AT"' in body["parts"]["revocations"]
    body["parts"]["revocations"] = body["parts"]["revocations"].replace(b'"country":"AT"', b'"country":"AU"')
    forged = cbor2.dumps(cbor2.CBORTag(18, [protected, unprotected, cbor2.dumps(body), signature]))
    _refused(installed_state, forged, kit, real_now, "signature", "does not verify")
    flipped = bytearray(newer)
    flipped[len(flipped) // 2] ^= 0x01
    _refused(installed_state, bytes(flipped), kit, real_now)


def test_unsigned(installed_state, kit, bundle, real_now):
    tag = cbor2.loads(kit.bundle(bundle, revocations=[]))
    protected, unprotected, payload, _sig = tag.value
    _refused(installed_state, cbor2.dumps(cbor2.CBORTag(18, [protected, unprotected, payload, b""])), kit, real_now,
             "signature: the bundle is not signed")


def test_wrongly_signed(installed_state, kit, bundle, real_now, inputs):
    stranger = R.ReferenceKit.make()                      # another office's CA and key
    _refused(installed_state, stranger.bundle(bundle, revocations=[]), kit, real_now,
             "signature", "trust anchor")
    # the right certificate in the header, but signed with another key
    imposter = R.ReferenceKit(kit.anchor_key, kit.anchor, ec.generate_private_key(ec.SECP256R1()), kit.cert)
    _refused(installed_state, imposter.bundle(bundle, revocations=[]), kit, real_now, "does not verify")


def test_older_or_equal(installed_state, kit, bundle, real_now, inputs):
    _refused(installed_state, bundle, kit, real_now, "versions: nothing newer")
    v2 = kit.bundle(bundle, revocations=[])
    store.install(installed_state, v2, anchor=kit.anchor, now=real_now, source="test")
    _refused(installed_state, bundle, kit, real_now, "revocations: version 1 is older than the installed version 2")


@pytest.mark.parametrize("mangle,needles", [
    (lambda data: data[: len(data) // 2], ["container"]),                        # truncated
    (lambda data: b"\x00PK not a bundle" * 10, ["container"]),                   # corrupt
    (lambda data: b"", ["container", "empty"]),
])
def test_corrupt_and_truncated(installed_state, kit, bundle, real_now, mangle, needles):
    _refused(installed_state, mangle(bundle), kit, real_now, *needles)


def test_oversized(installed_state, kit, real_now):
    _refused(installed_state, b"\x00" * (MAX_BUNDLE_BYTES + 1), kit, real_now, "container", "larger than the limit")


def _signed(kit, now, parts: dict) -> bytes:
    return sign_bundle(parts, key=kit.key, certificate=kit.cert, now=now)


def test_unknown_content_type(installed_state, kit, real_now):
    tag = cbor2.loads(_signed(kit, real_now, {"revocations": content.to_part([], version=9, created="x")}))
    protected, _u, payload, _s = tag.value
    body = cbor2.loads(payload)
    body["manifest"]["weather"] = dict(body["manifest"]["revocations"])
    body["parts"]["weather"] = body["parts"]["revocations"]
    # re-sign properly: the content type, not the signature, must be the reason
    parts = {k: Part(v["version"], v["created"], body["parts"][k], 0) for k, v in body["manifest"].items()}
    with pytest.raises(ReferenceDataError, match="manifest: unknown content type 'weather'"):
        _signed(kit, real_now, parts)
    from appliance.dcc.sign import sig_structure
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
    new_payload = cbor2.dumps(body)
    r, s = decode_dss_signature(kit.key.sign(sig_structure(protected, new_payload), ec.ECDSA(hashes.SHA256())))
    data = cbor2.dumps(cbor2.CBORTag(18, [protected, {}, new_payload, r.to_bytes(32, "big") + s.to_bytes(32, "big")]))
    _refused(installed_state, data, kit, real_now, "manifest: unknown content type 'weather'")


def _rule(name="VR-CZ-0001") -> dict:
    return json.loads((R.RULES / "CZ" / name / "rule.json").read_text())


@pytest.mark.parametrize("change,needles", [
    (lambda r: r.update(Logic={"no-such-op": [1, 2]}), ["rules[0] (VR-CZ-0001)", "not valid CertLogic"]),
    (lambda r: r.update(Logic={"var": 5}), ["rules[0] (VR-CZ-0001)", "not valid CertLogic"]),
    (lambda r: r["Description"][0].update(desc="too short"), ["rules[0] (VR-CZ-0001)", "rule schema", "Description"]),
    (lambda r: r.update(Colour="green"), ["rule schema", "Colour"]),
    (lambda r: r.pop("ValidTo"), ["rule schema", "ValidTo"]),
    (lambda r: r.update(Identifier="VR-CZ-1"), ["rule schema", "Identifier"]),
])
def test_bad_rules_are_refused(installed_state, kit, real_now, change, needles):
    rule = copy.deepcopy(_rule())
    change(rule)
    data = _signed(kit, real_now, {"rules": content.to_part([rule], version=5, created="2026-11-01T00:00:00Z")})
    _refused(installed_state, data, kit, real_now, *needles)


@pytest.mark.parametrize("kind,value,needles", [
    ("valuesets", {"x": {"valueSetId": "y"}}, ["valuesets.x"]),
    ("valuesets", {"x": {"valueSetId": "x", "valueSetDate": "2026-01-01", "valueSetValues": {"a": {"display": 1}}}},
     ["valuesets.x.a", "display"]),
    ("trustlist", [{"certificate": "bm90IGEgY2VydA==", "kid": "AAAA", "country": "AT", "types": ["v"]}],
     ["trustlist[0].certificate"]),
    ("revocations", [{"hashType": "MD5", "entries": []}], ["revocations[0].hashType"]),
    ("revocations", [{"hashType": "UCI", "entries": [{"hash": "c2hvcnQ="}]}], ["revocations[0].entries[0].hash"]),
])
def test_bad_content_is_refused(installed_state, kit, real_now, kind, value, needles):
    data = _signed(kit, real_now, {kind: content.to_part(value, version=7, created="2026-11-01T00:00:00Z")})
    _refused(installed_state, data, kit, real_now, *needles)


def test_trustlist_kid_must_match(installed_state, kit, real_now, inputs):
    entries = json.loads(Path(inputs["trustlist"]).read_text())
    entries[0]["kid"] = "AAAAAAAAAAA="
    Path(inputs["trustlist"]).write_text(json.dumps(entries))
    with pytest.raises(ReferenceDataError, match=r"trustlist\[0\]\.kid: does not match the certificate"):
        kit.bundle(trustlist=inputs["trustlist"])
