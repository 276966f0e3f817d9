"""Input JSON -> IssueRequest (form.py): every bad input is a field error naming its field."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from appliance.errors import InvalidInput
from appliance.dcc.form import IssueRequest, Person, parse_input
from tests.support.clock import NOW


def parse(data, kind, device):
    return parse_input(data, type=kind, device=device, now=NOW)


def errors_of(data, kind, device) -> dict[str, str]:
    with pytest.raises(InvalidInput) as exc:
        parse(data, kind, device)
    return exc.value.field_errors


@pytest.mark.parametrize("kind", ["v", "t", "r"])
def test_examples_parse(example, device, kind):
    req = parse(example(kind), kind, device)
    assert isinstance(req, IssueRequest) and req.type == kind and isinstance(req.person, Person)


def test_vaccination_values_are_typed(example, device):
    req = parse(example("v"), "v", device)
    assert req.person.family_name == "Müller-Lüdenscheidt"
    assert req.person.family_name_std == "MUELLER<LUEDENSCHEIDT"
    assert req.person.given_name_std == "JUERGEN<GUENTHER"
    assert req.event["product"] == "EU/1/20/1528"
    assert (req.event["dose_number"], req.event["total_doses"]) == (3, 3)
    assert req.event["date"] == date(2026, 11, 20)


def test_digit_strings_and_defaults_from_device(example, device):
    data = example("v")
    data["vaccination"].update(dose_number="1", total_doses=" 2 ")
    del data["vaccination"]["country"], data["vaccination"]["issuer"]
    req = parse(data, "v", device)
    assert (req.event["dose_number"], req.event["total_doses"]) == (1, 2)
    assert req.event["country"] == "DE" and req.event["issuer"] == device.issuer


@pytest.mark.parametrize("dob", ["1964-08-12", "1964-08", "1964"])
def test_partial_birth_dates(example, device, dob):
    data = example("v")
    data["date_of_birth"] = dob
    assert parse(data, "v", device).person.date_of_birth == dob


def test_standardised_names_can_be_typed(example, device):
    data = example("v")
    data.update(family_name="Иванов", given_name="Пётр", family_name_standardised="IVANOV",
                given_name_standardised="petr")
    req = parse(data, "v", device)
    assert (req.person.family_name_std, req.person.given_name_std) == ("IVANOV", "PETR")


def test_no_given_name(example, device):
    data = example("v")
    del data["given_name"]
    req = parse(data, "v", device)
    assert req.person.given_name == "" and req.person.given_name_std == ""


@pytest.mark.parametrize("sample, utc", [("2026-11-27T09:30:00+01:00", datetime(2026, 11, 27, 8, 30, tzinfo=timezone.utc)),
                                         ("2026-11-27T08:30:00Z", datetime(2026, 11, 27, 8, 30, tzinfo=timezone.utc))])
def test_sample_time_is_stored_in_utc(example, device, sample, utc):
    data = example("t")
    data["test"]["sample_time"] = sample
    assert parse(data, "t", device).event["sample_time"] == utc


@pytest.mark.parametrize("given, code", [("pcr", "LP6464-4"), ("NAAT", "LP6464-4"), ("LP6464-4", "LP6464-4"),
                                         ("rapid", "LP217198-3"), ("rat", "LP217198-3")])
def test_test_type_aliases(example, device, given, code):
    data = example("t")
    data["test"]["test_type"] = given
    if code == "LP6464-4":
        del data["test"]["test_device"]
    assert parse(data, "t", device).event["test_type"] == code


@pytest.mark.parametrize("given", ["negative", "not_detected", "260415000"])
def test_negative_result_aliases(example, device, given):
    data = example("t")
    data["test"]["result"] = given
    assert parse(data, "t", device).event["result"] == "260415000"


@pytest.mark.parametrize("given", ["positive", "detected", "260373001"])
def test_positive_results_get_no_test_certificate(example, device, given):
    data = example("t")
    data["test"]["result"] = given
    assert "recovery" in errors_of(data, "t", device)["test.result"]


def test_naat_needs_no_device_and_test_name_is_optional(example, device):
    data = example("t")
    data["test"].update(test_type="pcr")
    del data["test"]["test_device"]
    req = parse(data, "t", device)
    assert req.event["test_device"] is None and req.event["test_name"] is None


def test_rat_needs_a_device_from_the_list(example, device):
    data = example("t")
    del data["test"]["test_device"]
    assert "test.test_device" in errors_of(data, "t", device)
    data["test"]["test_device"] = "99999"
    assert "test.test_device" in errors_of(data, "t", device)


def test_naat_with_a_device_is_refused(example, device):
    data = example("t")
    data["test"]["test_type"] = "pcr"
    assert "test.test_device" in errors_of(data, "t", device)


# one bad value per case: (type, mutation, expected field)
BAD_FIELDS = [
    ("v", lambda d: d.pop("family_name"), "family_name"),
    ("v", lambda d: d.update(family_name=""), "family_name"),
    ("v", lambda d: d.update(family_name=42), "family_name"),
    ("v", lambda d: d.update(family_name="X" * 81), "family_name"),
    ("v", lambda d: d.update(family_name="Mül\x00ler"), "family_name"),
    ("v", lambda d: d.update(family_name="Müller2"), "family_name"),
    ("v", lambda d: d.update(given_name="Ξένια"), "given_name_standardised"),
    ("v", lambda d: d.update(family_name_standardised="MÜLLER"), "family_name_standardised"),
    ("v", lambda d: d.pop("date_of_birth"), "date_of_birth"),
    ("v", lambda d: d.update(date_of_birth="12/08/1964"), "date_of_birth"),
    ("v", lambda d: d.update(date_of_birth="1964-02-30"), "date_of_birth"),
    ("v", lambda d: d.update(date_of_birth="1964-13"), "date_of_birth"),
    ("v", lambda d: d.update(date_of_birth="1899-12-31"), "date_of_birth"),
    ("v", lambda d: d.update(date_of_birth="2027-01-01"), "date_of_birth"),
    ("v", lambda d: d.update(date_of_birth="2026-11-21"), "date_of_birth"),  # after the vaccination
    ("v", lambda d: d["vaccination"].update(product="Comirnaty"), "vaccination.product"),
    ("v", lambda d: d["vaccination"].update(product="NVX-CoV2373"), "vaccination.product"),  # deprecated
    ("v", lambda d: d["vaccination"].update(dose_number=0), "vaccination.dose_number"),
    ("v", lambda d: d["vaccination"].update(dose_number="zwei"), "vaccination.dose_number"),
    ("v", lambda d: d["vaccination"].update(dose_number=True), "vaccination.dose_number"),
    ("v", lambda d: d["vaccination"].update(total_doses=2.5), "vaccination.total_doses"),
    ("v", lambda d: d["vaccination"].pop("total_doses"), "vaccination.total_doses"),
    ("v", lambda d: d["vaccination"].update(dose_number=3, total_doses=2), "vaccination.dose_number"),
    ("v", lambda d: d["vaccination"].update(date="20/11/2026"), "vaccination.date"),
    ("v", lambda d: d["vaccination"].update(date="2026-11-31"), "vaccination.date"),
    ("v", lambda d: d["vaccination"].update(date="2026-11-30"), "vaccination.date"),  # future
    ("v", lambda d: d["vaccination"].update(date="2020-11-30"), "vaccination.date"),  # before any vaccine
    ("v", lambda d: d["vaccination"].update(date="2021-01-10", product="EU/1/20/1525"), "vaccination.date"),
    ("v", lambda d: d["vaccination"].update(country="Germany"), "vaccination.country"),
    ("v", lambda d: d["vaccination"].update(country="XX"), "vaccination.country"),
    ("v", lambda d: d["vaccination"].update(issuer="I" * 81), "vaccination.issuer"),
    ("v", lambda d: d["vaccination"].update(batch="EX1234"), "vaccination"),
    ("t", lambda d: d["test"].update(test_type="antibody"), "test.test_type"),
    ("t", lambda d: d["test"].update(sample_time="2026-11-27T09:30:00"), "test.sample_time"),  # no offset
    ("t", lambda d: d["test"].update(sample_time="2026-11-27"), "test.sample_time"),
    ("t", lambda d: d["test"].update(sample_time="gestern"), "test.sample_time"),
    ("t", lambda d: d["test"].update(sample_time="2026-11-28T10:06:00Z"), "test.sample_time"),  # > 5 min ahead
    ("t", lambda d: d["test"].update(sample_time="2019-12-31T10:00:00Z"), "test.sample_time"),
    ("t", lambda d: d["test"].update(result="maybe"), "test.result"),
    ("t", lambda d: d["test"].update(centre=["a"]), "test.centre"),
    ("t", lambda d: d["test"].update(test_name="N" * 81), "test.test_name"),
    ("r", lambda d: d["recovery"].update(first_positive="2026-11-30"), "recovery.first_positive"),
    ("r", lambda d: d["recovery"].update(valid_from="2026-10-12"), "recovery.valid_from"),   # fr + 10
    ("r", lambda d: d["recovery"].update(valid_until="2027-04-01"), "recovery.valid_until"),  # fr + 181
    ("r", lambda d: d["recovery"].update(valid_from="2027-03-31"), "recovery.valid_until"),  # df == du
    ("r", lambda d: d["recovery"].update(first_positive="2026-01-02", valid_from="2026-01-30",
                                         valid_until="2026-06-30"), "recovery.valid_until"),  # already past
    ("r", lambda d: d["recovery"].pop("valid_from"), "recovery.valid_from"),
]


@pytest.mark.parametrize("kind, mutate, field", BAD_FIELDS)
def test_each_bad_input_names_its_field(example, device, kind, mutate, field):
    data = example(kind)
    mutate(data)
    errors = errors_of(data, kind, device)
    assert field in errors, errors
    assert all(isinstance(m, str) and m for m in errors.values())


def test_the_boundaries_themselves_are_accepted(example, device):
    data = example("r")
    data["recovery"].update(valid_from="2026-10-13", valid_until="2027-03-31")  # fr + 11, fr + 180
    parse(data, "r", device)
    data = example("t")
    data["test"]["sample_time"] = "2026-11-28T10:04:00Z"  # within the 5 minutes tolerance
    parse(data, "t", device)
    data = example("v")
    data["vaccination"]["date"] = "2026-11-28"
    parse(data, "v", device)


def test_all_problems_are_collected_at_once(example, device):
    data = example("v")
    data.update(family_name="", date_of_birth="soon")
    data["vaccination"].update(product="?", date="?", dose_number="?")
    errors = errors_of(data, "v", device)
    assert {"family_name", "date_of_birth", "vaccination.product", "vaccination.date",
            "vaccination.dose_number"} <= set(errors)


def test_errors_do_not_repeat_personal_data(example, device):
    data = example("v")
    data.update(family_name="Schmidt4711", date_of_birth="1964-02-30")
    with pytest.raises(InvalidInput) as exc:
        parse(data, "v", device)
    assert "Schmidt" not in str(exc.value) and "1964" not in str(exc.value)


@pytest.mark.parametrize("data, kind", [
    ([1, 2], "v"), ("text", "v"), (None, "t"),
    ({"family_name": "A", "date_of_birth": "1990"}, "v"),                 # missing section
    ({"family_name": "A", "date_of_birth": "1990", "vaccination": []}, "v"),
    ({"family_name": "A", "date_of_birth": "1990", "test": {}}, "v"),     # section of another type
    ({"family_name": "A", "date_of_birth": "1990", "vaccination": {}, "nickname": "x"}, "v"),
])
def test_structure_errors(data, kind, device):
    errors = errors_of(data, kind, device)
    assert set(errors) & {"input", "vaccination"}


def test_unknown_type(example, device):
    with pytest.raises(InvalidInput) as exc:
        parse(example("v"), "x", device)
    assert "type" in exc.value.field_errors


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=30),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
                    max_leaves=20)
KEYS = st.sampled_from(["family_name", "given_name", "date_of_birth", "family_name_standardised",
                        "given_name_standardised", "vaccination", "test", "recovery", "product", "dose_number",
                        "total_doses", "date", "country", "issuer", "test_type", "test_device", "sample_time",
                        "result", "first_positive", "valid_from", "valid_until", "centre", "test_name"])
NEAR = st.recursive(JSON, lambda inner: st.dictionaries(KEYS, inner, max_size=8), max_leaves=30)


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=NEAR | JSON, kind=st.sampled_from(["v", "t", "r"]))
def test_arbitrary_input_raises_only_invalid_input(data, kind, device):
    try:
        req = parse(data, kind, device)
    except InvalidInput as exc:
        assert exc.field_errors and all(isinstance(k, str) for k in exc.field_errors)
    else:
        assert req.type == kind


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(section=st.dictionaries(KEYS, JSON, max_size=8), kind=st.sampled_from(["v", "t", "r"]))
def test_arbitrary_sections_raise_only_invalid_input(example, device, section, kind):
    data = example(kind)
    data[{"v": "vaccination", "t": "test", "r": "recovery"}[kind]].update(section)
    try:
        req = parse(data, kind, device)
    except InvalidInput as exc:
        assert exc.field_errors and all(isinstance(k, str) and k for k in exc.field_errors)
        assert all(isinstance(m, str) and m for m in exc.field_errors.values())
    else:
        assert isinstance(req, IssueRequest) and req.type == kind


def test_sample_time_without_a_utc_equivalent_is_a_field_error(example):
    from appliance.config import DeviceSection

    data = example("t")
    data["test"]["sample_time"] = "0001-01-01T00:30+01:00"
    with pytest.raises(InvalidInput) as err:
        parse_input(data, type="t", device=DeviceSection(), now=NOW)
    assert "test.sample_time" in err.value.field_errors
