"""The strict verifier, one test per failure mode, on certificates made by appliance.sign."""

from __future__ import annotations

import json
import zlib
from datetime import timedelta

import cbor2
import pytest

from appliance.dcc import verify as V
from appliance.dcc.base45 import b45encode
from appliance.devices.signer import SoftwareSigner
from appliance.dcc.encode import to_hc1
from appliance.dcc.sign import sig_structure


def test_valid_certificate(make_hc1, software_signer, now, dcc):
    hc1, signed = make_hc1()
    result = V.verify(hc1, dscs=[software_signer.certificate], at=now + timedelta(hours=1))
    out = result.to_json()
    assert result.valid and out["valid"] and out["errors"] == []
    assert set(out) == {"valid", "checks", "type", "payload", "kid", "issuer_country", "issued_at", "expires_at",
                        "revoked", "rules", "errors"}
    assert out["revoked"] is None and out["rules"] is None      # no revocation list, no rules given
    assert all(out["checks"].values()) and list(out["checks"]) == list(V.CHECKS)
    assert out["type"] == "v" and out["payload"] == dcc and out["issuer_country"] == "DE"
    assert out["issued_at"] == now.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert out["kid"] == __import__("base64").b64encode(signed.kid).decode()
    json.dumps(out)


def _failed(result, check):
    out = result.to_json()
    assert not out["valid"] and out["checks"][check] is False
    assert any(e.startswith(check) or check in e.lower() for e in out["errors"]), out["errors"]
    return out


@pytest.mark.parametrize("mangle", [lambda h: "HC2:" + h[4:], lambda h: h[4:], lambda h: "hc1:" + h[4:]])
def test_wrong_or_missing_prefix(make_hc1, software_signer, now, mangle):
    hc1, _ = make_hc1()
    out = _failed(V.verify(mangle(hc1), dscs=[software_signer.certificate], at=now), "prefix")
    assert out["checks"]["base45"] is None


def test_truncated(make_hc1, software_signer, now):
    hc1, _ = make_hc1()
    result = V.verify(hc1[:-30], dscs=[software_signer.certificate], at=now)
    assert not result.valid and False in (result.checks["base45"], result.checks["zlib"])


def test_corrupted_signature_byte(make_hc1, software_signer, now):
    _, signed = make_hc1()
    cose = bytearray(signed.cose)
    cose[-5] ^= 0x01  # inside the signature
    _failed(V.verify(to_hc1(bytes(cose)), dscs=[software_signer.certificate], at=now), "signature")


def test_wrong_key_same_kid_is_invalid(make_hc1, now):
    other = SoftwareSigner.generate(now=now)
    _, signed = make_hc1(signer=other)
    tag = cbor2.loads(signed.cose)
    protected, unprotected, payload, _ = tag.value
    forged = SoftwareSigner.generate(now=now).sign(sig_structure(protected, payload))
    hc1 = to_hc1(cbor2.dumps(cbor2.CBORTag(18, [protected, {}, payload, forged])))
    _failed(V.verify(hc1, dscs=[other.certificate], at=now), "signature")


def test_unknown_kid(make_hc1, now):
    hc1, _ = make_hc1()
    out = _failed(V.verify(hc1, dscs=[SoftwareSigner.generate(now=now).certificate], at=now), "signature")
    assert "no trusted DSC" in out["errors"][0]
    assert out["checks"]["validity_period"] is None and out["checks"]["schema"] is True


def test_expired_and_not_yet_valid(make_hc1, software_signer, now):
    hc1, _ = make_hc1(days=10)
    _failed(V.verify(hc1, dscs=[software_signer.certificate], at=now + timedelta(days=11)), "validity_period")
    _failed(V.verify(hc1, dscs=[software_signer.certificate], at=now - timedelta(minutes=5)), "validity_period")


def test_wrong_eku_for_type(make_hc1, now):
    test_only = SoftwareSigner.generate(now=now, types="t")
    hc1, _ = make_hc1(signer=test_only)
    out = _failed(V.verify(hc1, dscs=[test_only.certificate], at=now), "key_usage")
    assert "not vaccination" in " ".join(out["errors"])


def test_uncompressed_cose_is_rejected(make_hc1, software_signer, now):
    _, signed = make_hc1()
    _failed(V.verify("HC1:" + b45encode(signed.cose), dscs=[software_signer.certificate], at=now), "zlib")


def test_broken_zlib_stream(make_hc1, software_signer, now):
    _, signed = make_hc1()
    data = zlib.compress(signed.cose, 9)
    _failed(V.verify("HC1:" + b45encode(data[:-8]), dscs=[software_signer.certificate], at=now), "zlib")


def _resign(signer, protected, unprotected, payload, tag=True):
    sig = signer.sign(sig_structure(protected, payload))
    body = [protected, unprotected, payload, sig]
    return to_hc1(cbor2.dumps(cbor2.CBORTag(18, body) if tag else body))


def test_tolerates_untagged_kid_unprotected_empty_protected(make_hc1, software_signer, now):
    _, signed = make_hc1()
    payload = cbor2.loads(signed.cose).value[2]
    hc1 = _resign(software_signer, b"", {1: -7, 4: software_signer.kid}, payload, tag=False)
    assert V.verify(hc1, dscs=[software_signer.certificate], at=now).valid


def test_protected_kid_wins_over_unprotected(make_hc1, software_signer, now):
    _, signed = make_hc1()
    payload = cbor2.loads(signed.cose).value[2]
    protected = cbor2.dumps({1: -7, 4: b"WRONGKID"})
    hc1 = _resign(software_signer, protected, {4: software_signer.kid}, payload)
    _failed(V.verify(hc1, dscs=[software_signer.certificate], at=now), "signature")


def test_kid_must_be_8_bytes(software_signer, make_hc1, now):
    _, signed = make_hc1()
    payload = cbor2.loads(signed.cose).value[2]
    hc1 = _resign(software_signer, cbor2.dumps({1: -7, 4: software_signer.kid + b"x"}), {}, payload)
    out = _failed(V.verify(hc1, dscs=[software_signer.certificate], at=now), "signature")
    assert "9 bytes" in out["errors"][0]


def test_overlong_signature_and_alg_mismatch_do_not_crash(make_hc1, software_signer, now):
    _, signed = make_hc1()
    protected, _, payload, sig = cbor2.loads(signed.cose).value
    for p, s in ((protected, sig + bytes(80)), (cbor2.dumps({1: -37, 4: software_signer.kid}), sig)):
        hc1 = to_hc1(cbor2.dumps(cbor2.CBORTag(18, [p, {}, payload, s])))
        _failed(V.verify(hc1, dscs=[software_signer.certificate], at=now), "signature")


def test_several_groups_are_invalid_and_valuesets_count(make_hc1, software_signer, now, dcc):
    two = dict(dcc, r=[{"tg": "840539006", "fr": "2026-10-01", "co": "DE", "is": "RKI", "df": "2026-10-12",
                        "du": "2027-03-30", "ci": "URN:UVCI:01:DE:X/Y#1"}])
    out = _failed(V.verify(make_hc1(two)[0], dscs=[software_signer.certificate], at=now), "schema")
    assert out["type"] is None and out["checks"]["key_usage"] is False
    dcc["v"][0]["mp"] = "NOT/A/PRODUCT"
    out = _failed(V.verify(make_hc1(dcc)[0], dscs=[software_signer.certificate], at=now), "valuesets")
    assert out["checks"]["schema"] is True            # an unknown code is no schema failure (issue 14)
    assert any(e.startswith("valuesets: v[0].mp") for e in out["errors"])


@pytest.mark.parametrize("garbage", ["", "HC1:", "HC1:" + "A" * 5000, "HC1:%%%", "\x00\xff", "HC1:NCF" + " " * 9,
                                     "HC1:" + b45encode(zlib.compress(b"\xd2\x84\x40\xa0\x40\x40")),
                                     "HC1:" + b45encode(zlib.compress(b"\xff" * 40))])
def test_garbage_never_raises(garbage, software_signer, now):
    out = V.verify(garbage, dscs=[software_signer.certificate], at=now).to_json()
    assert out["valid"] is False and out["errors"] and json.dumps(out)


@pytest.mark.parametrize(("dt", "ok"), [("2026-11-20T00:00:00.000Z", True), ("2026-11-20", True),
                                        ("2026-13-45", False), ("2026-13-45T00:00:00Z", False), ("20.11.2026", False)])
def test_date_fields_tolerate_a_date_time_but_not_a_bad_date(dcc, dt, ok):
    dcc["v"][0]["dt"] = dt
    assert (V.check_schema(dcc) == []) is ok
