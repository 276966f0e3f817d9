"""JSON schema 1.3.3 and value-set checks (schema.py)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from appliance.dcc import schema
from tests.support.paths import VECTORS
VALID = sorted((VECTORS / "schema-test" / "valid").glob("*.json"))
INVALID = sorted((VECTORS / "schema-test" / "invalid").glob("*.json"))
EXAMPLES = sorted((VECTORS / "schema-examples").glob("*/*.json"))


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def test_the_vector_folders_are_not_empty():
    assert len(VALID) == 13 and len(INVALID) == 6 and len(EXAMPLES) >= 25


@pytest.mark.parametrize("path", VALID + EXAMPLES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_valid_cases_pass(path):
    assert schema.validate(load(path)) == []


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.name)
def test_invalid_cases_fail(path):
    assert schema.validate(load(path))


@pytest.fixture
def vaccination():
    return load(VECTORS / "schema-test" / "valid" / "V-min-data.json")


@pytest.fixture
def rat():
    return load(VECTORS / "schema-test" / "valid" / "T-rat-min-data.json")


@pytest.mark.parametrize("value", ["2021-02-30", "2021-6-11", "11.06.2021", "2021-06-11T10:00:00Z"])
def test_date_format_is_asserted(vaccination, value):
    vaccination["v"][0]["dt"] = value
    assert any(e.startswith("v[0].dt:") for e in schema.validate(vaccination))


@pytest.mark.parametrize("value, ok", [
    ("2021-06-11T17:30:00Z", True), ("2021-06-11T17:30:00.5+02:00", True),
    ("2021-06-11T17:30:00+02", True), ("2021-06-11T17:30:00+0200", True),   # schema's own valid cases
    ("2021-06-11T17:30:00", False), ("2021-06-11", False), ("2021-06-31T17:30:00Z", False),
    ("2021-06-11T25:30:00Z", False), ("yesterday", False),
])
def test_date_time_format_is_asserted(rat, value, ok):
    rat["t"][0]["sc"] = value
    assert (schema.validate(rat) == []) is ok


def test_messages_name_the_path_and_do_not_repeat_personal_data(vaccination):
    vaccination["dob"] = "1809-02-28"
    vaccination["nam"]["fnt"] = "Smith-Jones"
    errors = schema.validate(vaccination)
    assert any(e.startswith("dob:") for e in errors)
    assert any(e.startswith("nam.fnt:") for e in errors)
    assert not any("1809" in e or "Smith" in e for e in errors)


def test_exactly_one_group(vaccination, rat):
    both = copy.deepcopy(vaccination)
    both["t"] = rat["t"]
    assert schema.validate(both)
    assert schema.validate({"ver": "1.3.0", "nam": {"fnt": "X"}, "dob": ""})
    assert schema.validate("not an object")


def test_valuesets_pass_for_good_codes(vaccination):
    assert schema.check_valuesets(vaccination) == []


@pytest.mark.parametrize("group_field, bad", [("tg", "840539007"), ("vp", "1119349008"), ("mp", "EU/1/20/9999"),
                                              ("ma", "ORG-1"), ("co", "XX")])
def test_valueset_violations_are_reported(vaccination, group_field, bad):
    vaccination["v"][0][group_field] = bad
    assert schema.validate(vaccination) == []  # the schema alone does not see it (PL/7-9)
    assert schema.check_valuesets(vaccination) == [f"v[0].{group_field}: is not a code of the value set "
                                                   f"{schema.VALUESET_FIELDS['v'][group_field]}"]


def test_test_fields_are_checked(rat):
    rat["t"][0]["tt"] = "LP0000-0"
    rat["t"][0]["tr"] = "positive"
    assert {e.split(":")[0] for e in schema.check_valuesets(rat)} == {"t[0].tt", "t[0].tr"}


def test_unknown_rat_device_only_fails_when_strict(rat):
    rat["t"][0]["ma"] = "99999"
    assert schema.check_valuesets(rat) == []          # verifying: the packaged list is only an example
    assert schema.check_valuesets(rat, strict_test_manf=True) == ["t[0].ma: is not a code of the value set test-manf"]
    rat["t"][0]["ma"] = "1232"
    assert schema.check_valuesets(rat, strict_test_manf=True) == []


def test_missing_top_level_fields_are_named():
    dcc = load(VECTORS / "schema-test" / "invalid" / "missing_dob.json")
    assert schema.validate(dcc) == ["(root): dob is a required property"]


def test_cbor_tagged_date_times_are_accepted(rat):
    import cbor2

    rat["t"][0]["sc"] = "2021-06-11T17:30:00Z"
    tagged = cbor2.loads(cbor2.dumps(rat)
                         .replace(b"\x742021-06-11T17:30:00Z", b"\xc0\x742021-06-11T17:30:00Z"))
    assert not isinstance(tagged["t"][0]["sc"], str)  # cbor2 gives a datetime for tag 0
    assert schema.validate(tagged) == []
