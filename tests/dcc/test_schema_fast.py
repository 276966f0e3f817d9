"""The compiled schema (fastjsonschema) and jsonschema give the same verdict (schema.py).

The issuing path asks the compiled validator for the verdict and jsonschema only for the
wording of errors, so a payload the compiled one accepts and jsonschema refuses would be
signed without a schema check. These tests hold the two to the same verdict on every
vector, and on many one-step mutations of them (a leaf replaced, a key dropped or added,
a list emptied or doubled).
"""

from __future__ import annotations

import copy
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from appliance.dcc import schema
from tests.support.paths import VECTORS

PATHS = sorted((VECTORS / "schema-test").glob("*/*.json")) + sorted((VECTORS / "schema-examples").glob("*/*.json"))
VALID = [json.loads(p.read_text(encoding="utf-8")) for p in sorted((VECTORS / "schema-test" / "valid").glob("*.json"))]

LEAVES = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 70000), st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["", "DE", "1", "2021-02-30", "2021-06-11", "2021-6-11", "2021-06-11T10:00:00Z",
                     "2021-06-11T10:00:00+02", "2021-06-11T10:00:00+0200", "2021-06-11 10:00", "URN:UVCI:01:DE:X",
                     "EU/1/20/1528", "840539006", "J07BX03", "1.3.0", "x" * 81, "MUSTERMANN<GABRIELE", "müller"]),
    st.text(max_size=90), st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


def verdicts(instance) -> tuple[bool, bool]:
    data = schema.as_json(instance)
    return schema.fast_verdict(data), not list(schema._validator().iter_errors(data))


def locations(value, path=()):
    """Every (path, value) in a JSON document, the root included."""
    yield path, value
    if isinstance(value, dict):
        for k, v in value.items():
            yield from locations(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from locations(v, (*path, i))


def put(doc, path, value):
    target = doc
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value


@pytest.mark.parametrize("path", PATHS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_vector_gets_the_same_verdict(path):
    fast, full = verdicts(json.loads(path.read_text(encoding="utf-8")))
    assert fast == full
    assert fast == (path.parent.name != "invalid")


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_vectors_get_the_same_verdict(data):
    doc = copy.deepcopy(data.draw(st.sampled_from(VALID)))
    spots = [p for p, _ in locations(doc) if p]
    spot = data.draw(st.sampled_from(spots))
    action = data.draw(st.sampled_from(["replace", "drop", "add", "empty", "double"]))
    parent = doc
    for part in spot[:-1]:
        parent = parent[part]
    current = parent[spot[-1]]
    if action == "replace":
        put(doc, spot, data.draw(LEAVES))
    elif action == "drop":
        del parent[spot[-1]]
    elif action == "add" and isinstance(current, dict):
        current[data.draw(st.sampled_from(["zz", "fn", "ci", "tg", "v", "t", "r"]))] = data.draw(LEAVES)
    elif action == "empty" and isinstance(current, (list, dict)):
        current.clear()
    elif action == "double" and isinstance(current, list):
        current.extend(copy.deepcopy(current))
    fast, full = verdicts(doc)
    assert fast == full, (action, spot)


def test_a_refused_payload_still_gets_jsonschemas_messages():
    doc = copy.deepcopy(VALID[0])
    group = next(k for k in ("v", "t", "r") if k in doc)
    date_key = {"v": "dt", "t": "sc", "r": "fr"}[group]
    doc[group][0][date_key] = "2021-02-30" if group != "t" else "2021-02-30T10:00:00Z"
    errors = schema.validate(doc)
    assert errors and all(e.startswith(f"{group}[0].{date_key}:") for e in errors)
