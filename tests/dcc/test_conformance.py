"""Conformance: every EXPECTED* flag of every dgc-testdata vector, checked through appliance.verify's stages.

- The DSC is TESTCTX.CERTIFICATE and ``at`` is TESTCTX.VALIDATIONCLOCK.
- EXPECTEDVALIDOBJECT / EXPECTEDENCODE are issuance-side; what we check for them is
  described in ``vectors.check_validobject`` / ``vectors.check_encode``.
- Misspellings: EXPTECTEDEXPIRED counts as EXPECTEDEXPIRATIONCHECK, a stray boolean
  EXPECTEDRESULTS inside EXPECTEDRESULTS is no check (counted in the inventory).
- Only rows of known_issues.csv may be xfail: a row naming one vector is a strict
  xfail; a row naming a whole country (NL schema, FI) xfails only the vectors of
  that country where our answer really differs from the expectation.
"""

from __future__ import annotations

from collections import Counter

import pytest

from tests.support import vectors

VECTORS = vectors.load_vectors()
KNOWN = vectors.known_issues()


def _known_issue(vec, flag: str) -> tuple[str, bool] | None:
    """(reason URL, whole-country row?) when known_issues.csv lists this vector and flag."""
    for row in KNOWN:
        if vectors.KNOWN_ISSUE_FLAG.get(row["test_name"]) != flag or row["country"] != vec.country:
            continue
        if not row["test_set"]:
            return row["reason"], True
        if row["test_set"] == vec.path.stem:
            return row["reason"], False
    return None


def _cases():
    for vec in VECTORS:
        for flag, expected in sorted(vec.flags().items()):
            marks = []
            issue = _known_issue(vec, flag)
            if issue and not issue[1]:
                marks.append(pytest.mark.xfail(strict=True, reason=f"upstream known issue {issue[0]}"))
            yield pytest.param(vec, flag, expected, id=f"{vec.id}:{flag.removeprefix('EXPECTED')}", marks=marks)


CASES = list(_cases())


@pytest.mark.parametrize(("vec", "flag", "expected"), CASES)
def test_vector_flag(vec, flag, expected):
    if flag == "EXPECTEDPICTUREDECODE" and vectors.picture(vec) is None:
        pytest.skip(f"{vec.id} expects PICTUREDECODE={expected} but has no 2DCODE picture to decode")
    ok, why = vectors.outcome(vec, flag)
    issue = _known_issue(vec, flag)
    if ok != expected and issue and issue[1]:
        pytest.xfail(f"upstream known issue {issue[0]}")
    assert ok == expected, f"{vec.id}: {flag} expected {expected}, got {ok} {why}".rstrip()


def test_inventory(capsys):
    """Every flag in the data is either checked or deliberately not a check; print the counts."""
    seen = Counter()
    for vec in VECTORS:
        for name in vec.data.get("EXPECTEDRESULTS", {}):
            seen[name] += 1
    unknown = set(seen) - set(vectors.CHECKS) - set(vectors.ALIASES) - vectors.NOT_A_CHECK
    assert not unknown, f"flags nobody checks: {sorted(unknown)}"
    countries = Counter(v.country for v in VECTORS)
    per_flag = Counter(flag for vec in VECTORS for flag in vec.flags())
    assert len(VECTORS) >= 400 and sum(per_flag.values()) == len(CASES)
    with capsys.disabled():
        print(f"\nconformance: {len(VECTORS)} vectors in {len(countries)} folders, {len(CASES)} flag checks")
        print("  per flag: " + ", ".join(f"{k.removeprefix('EXPECTED')} {n}" for k, n in sorted(per_flag.items())))
        print("  not checks: " + ", ".join(f"{k} {seen[k]}" for k in sorted(vectors.NOT_A_CHECK) if seen[k]))


def _whole_chain_cases():
    for vec in VECTORS:
        flags = vec.flags()
        wanted = ("EXPECTEDVERIFY", "EXPECTEDUNPREFIX")
        checked = ("EXPECTEDVERIFY", "EXPECTEDEXPIRATIONCHECK", "EXPECTEDKEYUSAGE")
        if all(flags.get(f) is True for f in wanted) and not any(_known_issue(vec, f) for f in checked):
            yield pytest.param(vec, id=vec.id)


@pytest.mark.parametrize("vec", list(_whole_chain_cases()))
def test_whole_verifier_on_positive_vectors(vec):
    """verify() itself (not only its stages) on PREFIX: every check the vector expects to pass passes."""
    out = vectors.V.verify(vec.field("PREFIX"), dscs=[vec.certificate()], at=vec.clock()).to_json()
    flags = vec.flags()
    expected = {"prefix": True, "base45": True, "zlib": True, "cose": True, "signature": True,
                "validity_period": flags.get("EXPECTEDEXPIRATIONCHECK"), "key_usage": flags.get("EXPECTEDKEYUSAGE")}
    for check, want in expected.items():
        if want is not None:
            assert out["checks"][check] is want, (check, out["errors"])
    assert out["kid"] and out["payload"] and out["type"] in ("v", "t", "r")
