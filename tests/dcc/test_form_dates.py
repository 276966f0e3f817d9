"""Dates typed the German way (issue 10, finding 7): ``14.03.1961`` and ``14031961`` as well as ISO."""

from __future__ import annotations

from datetime import date

import pytest

from appliance.dcc import form
from appliance.dcc.samples import example_input
from appliance.errors import InvalidInput


@pytest.mark.parametrize("typed, iso", [
    ("14.03.1961", "1961-03-14"), ("14031961", "1961-03-14"), ("1961-03-14", "1961-03-14"),
    ("4.3.1961", "1961-03-04"), (" 14.03.1961 ", "1961-03-14"),
    ("03.1961", "1961-03"), ("3.1961", "1961-03"), ("1961-03", "1961-03"), ("1961", "1961"),
])
def test_birth_dates_german_iso_and_partial(typed, iso):
    assert form.parse_birth_date(typed) == iso


@pytest.mark.parametrize("typed", ["14.03.61", "140361", "31.02.1961", "14.13.1961", "1961-3-14", "14/03/1961",
                                   "32031961", "1961031", "", "14.03.1961x"])
def test_unreadable_birth_dates(typed):
    assert form.parse_birth_date(typed) is None


@pytest.mark.parametrize("typed, day", [
    ("27.11.2026", date(2026, 11, 27)), ("27112026", date(2026, 11, 27)), ("2026-11-27", date(2026, 11, 27)),
    ("5.1.22", date(2022, 1, 5)), ("050122", date(2022, 1, 5)),     # events are after 2000: two-digit years
])
def test_event_dates(typed, day):
    assert form.parse_day(typed) == day


@pytest.mark.parametrize("typed", ["30.02.2026", "2026-02-30", "27-11-2026", "2026", "11.2026", "1.1.1"])
def test_unreadable_event_dates(typed):
    assert form.parse_day(typed) is None


def test_parse_input_reads_german_dates_and_asks_for_four_digit_years(config, now):
    data = example_input("v")
    data["date_of_birth"] = "14.03.1961"
    data["vaccination"]["date"] = "20112026"
    req = form.parse_input(data, type="v", device=config.device, now=now)
    assert req.person.date_of_birth == "1961-03-14" and req.event["date"] == date(2026, 11, 20)
    data["date_of_birth"], data["vaccination"]["date"] = "14.03.61", "31.11.2026"
    with pytest.raises(InvalidInput) as err:
        form.parse_input(data, type="v", device=config.device, now=now)
    assert err.value.field_errors["date_of_birth"].id == "dob.year_digits"
    assert "four digits" in err.value.field_errors["date_of_birth"]
    assert err.value.field_errors["vaccination.date"].id == "date.invalid"


def test_recovery_dates_from_the_first_positive_test():
    assert form.recovery_window(date(2026, 11, 10)) == (date(2026, 11, 21), date(2027, 5, 9))
