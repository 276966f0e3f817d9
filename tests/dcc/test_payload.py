"""DCC building, checks before signing, and expiry (payload.py)."""

from __future__ import annotations

import copy
import unicodedata
from datetime import datetime, timedelta, timezone

import pytest

from appliance.dcc import payload, schema, uvci
from appliance.config import IssueSection
from appliance.errors import InvalidInput
from appliance.dcc.form import parse_input
from tests.support.clock import NOW

UVCI = uvci.make_uvci(country="DE", issuer="TST1", opaque=uvci.opaque_for("test-device-7", 42))


@pytest.fixture
def build(example, device):
    def make(kind: str, mutate=None, version: str = "1.3.0"):
        data = example(kind)
        if mutate:
            mutate(data)
        req = parse_input(data, type=kind, device=device, now=NOW)
        return req, payload.build_dcc(req, uvci=UVCI, schema_version=version)
    return make


@pytest.mark.parametrize("kind", ["v", "t", "r"])
@pytest.mark.parametrize("version", ["1.3.0", "1.3.3"])
def test_built_dccs_pass_schema_value_sets_and_checks(build, kind, version):
    _, dcc = build(kind, version=version)
    assert dcc["ver"] == version
    assert schema.validate(dcc) == []
    assert schema.check_valuesets(dcc, strict_test_manf=True) == []
    payload.validate_dcc(dcc, now=NOW)
    assert [k for k in ("v", "t", "r") if k in dcc] == [kind]
    assert dcc[kind][0]["tg"] == "840539006" and dcc[kind][0]["ci"] == UVCI


def test_vaccination_entry(build):
    _, dcc = build("v")
    v = dcc["v"][0]
    assert (v["vp"], v["mp"], v["ma"]) == ("1119349007", "EU/1/20/1528", "ORG-100030215")
    assert (v["dn"], v["sd"], v["dt"], v["co"]) == (3, 3, "2026-11-20", "DE")
    assert isinstance(v["dn"], int) and isinstance(v["sd"], int)
    assert dcc["nam"] == {"fn": "Müller-Lüdenscheidt", "fnt": "MUELLER<LUEDENSCHEIDT",
                          "gn": "Jürgen Günther", "gnt": "JUERGEN<GUENTHER"}


def test_test_entry_sample_time_in_utc_without_fractions(build):
    _, dcc = build("t", lambda d: d["test"].update(sample_time="2026-11-27T09:30:15.250+01:00"))
    t = dcc["t"][0]
    assert t["sc"] == "2026-11-27T08:30:15Z"
    assert (t["tt"], t["ma"], t["tr"]) == ("LP217198-3", "1232", "260415000")


def test_naat_entry_leaves_out_empty_optional_fields(build):
    def naat(d):
        d["test"].update(test_type="pcr")
        del d["test"]["test_device"], d["test"]["centre"]
    _, dcc = build("t", naat)
    assert "ma" not in dcc["t"][0] and "nm" not in dcc["t"][0] and "tc" not in dcc["t"][0]
    assert schema.validate(dcc) == []


def test_missing_given_name_is_left_out(build):
    _, dcc = build("r", lambda d: d.pop("given_name"))
    assert dcc["nam"] == {"fn": "Schäfer", "fnt": "SCHAEFER"}
    assert schema.validate(dcc) == []


def test_strings_are_nfc(build):
    decomposed = unicodedata.normalize("NFD", "Schäfer")
    _, dcc = build("r", lambda d: d.update(family_name=decomposed))
    assert dcc["nam"]["fn"] == "Schäfer" and dcc["nam"]["fn"] != decomposed


@pytest.mark.parametrize("mutate, field", [
    (lambda d: d.__setitem__("dob", "1809-02-28"), "date_of_birth"),
    (lambda d: d["nam"].__setitem__("fnt", "Müller"), "family_name_standardised"),
    (lambda d: d["nam"].clear(), "family_name"),
    (lambda d: d["v"][0].__setitem__("dn", 0), "vaccination.dose_number"),
    (lambda d: d["v"][0].__setitem__("sd", "2"), "vaccination.total_doses"),
    (lambda d: d["v"][0].__setitem__("dt", "2026-12-24"), "vaccination.date"),
    (lambda d: d["v"][0].__setitem__("dt", "2026-11-31"), "vaccination.date"),
    (lambda d: d["v"][0].__setitem__("mp", "EU/9/99/9999"), "vaccination.product"),
    (lambda d: d["v"][0].__setitem__("vp", "J07BX0"), "vaccination.product"),
    (lambda d: d["v"][0].__setitem__("co", "XX"), "vaccination.country"),
    (lambda d: d["v"][0].__setitem__("is", "I" * 81), "vaccination.issuer"),
    (lambda d: d["v"][0].update(dn=2, sd=3), "vaccination.dose_number"),
])
def test_validate_dcc_maps_problems_to_input_fields(build, mutate, field):
    _, dcc = build("v")
    mutate(dcc)
    with pytest.raises(InvalidInput) as exc:
        payload.validate_dcc(dcc, now=NOW)
    assert field in exc.value.field_errors, exc.value.field_errors


@pytest.mark.parametrize("kind, key, value, field", [
    ("t", "tr", "260373001", "test.result"),
    ("t", "ma", "99999", "test.test_device"),            # unknown RAT device refused when issuing
    ("t", "sc", "2026-11-28T11:00:00Z", "test.sample_time"),
    ("t", "sc", "2026-11-28T11:00:00", "test.sample_time"),
    ("r", "df", "2026-10-05", "recovery.valid_from"),
    ("r", "du", "2027-06-01", "recovery.valid_until"),
    ("r", "fr", "2026-12-01", "recovery.first_positive"),
])
def test_validate_dcc_test_and_recovery_rules(build, kind, key, value, field):
    _, dcc = build(kind)
    dcc[kind][0][key] = value
    with pytest.raises(InvalidInput) as exc:
        payload.validate_dcc(dcc, now=NOW)
    assert field in exc.value.field_errors


def test_rat_without_device_is_refused_but_naat_is_fine(build):
    _, dcc = build("t")
    rat = copy.deepcopy(dcc)
    del rat["t"][0]["ma"]
    with pytest.raises(InvalidInput) as exc:
        payload.validate_dcc(rat, now=NOW)
    assert "test.test_device" in exc.value.field_errors
    rat["t"][0]["tt"] = "LP6464-4"
    payload.validate_dcc(rat, now=NOW)


def test_two_groups_is_an_input_error(build):
    _, v = build("v")
    _, t = build("t")
    v["t"] = t["t"]
    with pytest.raises(InvalidInput) as exc:
        payload.validate_dcc(v, now=NOW)
    assert "input" in exc.value.field_errors


def test_expiry_vaccination(build):
    req, _ = build("v")
    assert payload.expiry(req, iat=NOW, issue=IssueSection(validity_days_v=365)) == NOW + timedelta(days=365)


def test_expiry_test_counts_from_the_sample_time(build):
    req, _ = build("t")  # sample 2026-11-27T08:30Z
    exp = payload.expiry(req, iat=NOW, issue=IssueSection(validity_hours_t=72))
    assert exp == datetime(2026, 11, 30, 8, 30, tzinfo=timezone.utc)
    with pytest.raises(InvalidInput) as exc:
        payload.expiry(req, iat=NOW, issue=IssueSection(validity_hours_t=24))
    assert "test.sample_time" in exc.value.field_errors


def test_expiry_recovery_is_valid_until_capped_by_config(build):
    req, _ = build("r")  # du 2027-03-31
    assert payload.expiry(req, iat=NOW, issue=IssueSection(validity_days_r=180)) == \
        datetime(2027, 3, 31, 23, 59, 59, tzinfo=timezone.utc)
    assert payload.expiry(req, iat=NOW, issue=IssueSection(validity_days_r=30)) == NOW + timedelta(days=30)


@pytest.mark.parametrize("path, expected", [
    (("v", 0, "dt"), "vaccination.date"), (("t", 0, "sc"), "test.sample_time"), (("r", 0, "du"), "recovery.valid_until"),
    (("nam", "gnt"), "given_name_standardised"), (("dob",), "date_of_birth"), ((), "input"), (("ver",), "input"),
])
def test_input_path_mapping(path, expected):
    assert payload.input_path(path) == expected
