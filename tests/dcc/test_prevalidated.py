"""The issuer's self-check may skip the verifier's schema pass only for exactly the bytes it validated."""

from __future__ import annotations

import copy

from appliance.dcc import dsc, schema
from appliance.dcc import verify as V
from appliance.dcc.payload_checks import schema_problems


def test_canonical_json_keeps_the_python_types_apart():
    one = schema.canonical_json({"a": 1})
    assert one == schema.canonical_json({"a": 1}) and one is not None
    assert len({one, schema.canonical_json({"a": True}), schema.canonical_json({"a": 1.0})}) == 3
    assert schema.canonical_json({"b": [1], "a": "x"}) == schema.canonical_json({"a": "x", "b": [1]})
    assert schema.canonical_json({"a": (1,)}) is None            # a tuple is no JSON array to jsonschema
    assert schema.canonical_json({"a": b"x"}) is None
    assert schema.canonical_json({1: "x"}) is None
    assert schema.canonical_json({"a": float("nan")}) is None


def test_the_schema_pass_runs_unless_the_bytes_are_the_prevalidated_ones(dcc):
    good = schema.canonical_json(schema.as_json(dcc))
    assert schema_problems(dcc, good) == [] == schema_problems(dcc)
    bad = copy.deepcopy(dcc)
    bad["v"][0]["dn"] = "two"
    assert schema_problems(bad, good) == schema_problems(bad) != []     # other bytes: the full pass


def test_verify_with_prevalidated_still_checks_everything_else(make_hc1, software_signer, now, dcc):
    good = schema.canonical_json(schema.as_json(dcc))
    hc1, _ = make_hc1(dcc)
    assert V.verify(hc1, dscs=[software_signer.certificate], at=now, prevalidated=good).valid
    other = copy.deepcopy(dcc)
    other["v"][0]["dn"] = "two"                                       # signed, but not what was validated
    result = V.verify(make_hc1(other)[0], dscs=[software_signer.certificate], at=now, prevalidated=good)
    assert result.checks["schema"] is False and not result.valid
    tampered = hc1[:-3] + ("A" if hc1[-3] != "A" else "B") + hc1[-2:]
    assert not V.verify(tampered, dscs=[software_signer.certificate], at=now, prevalidated=good).valid


def test_dcc_types_allowed_is_cached_but_returns_a_fresh_set(software_signer):
    cert = software_signer.certificate
    first = dsc.dcc_types_allowed(cert)
    expected = set(first)
    assert expected
    first.clear()                                                  # a caller's copy, not the cache's
    assert dsc.dcc_types_allowed(cert) == expected
