"""Soft warnings for the review screen (issue 10, finding 8): pure, ``now`` and the time zone as arguments."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from appliance.dcc import doses, plausibility
from appliance.dcc.model import NAAT, NOT_DETECTED, RAT, IssueRequest, Person

NOW = datetime(2026, 11, 28, 10, 0, tzinfo=timezone.utc)
BERLIN = ZoneInfo("Europe/Berlin")


def _req(type_: str, dob: str = "1980-05-17", **event) -> IssueRequest:
    person = Person("Müller", "Jürgen", dob, "MUELLER", "JUERGEN")
    base = {"v": {"product": "EU/1/20/1528", "dose_number": 2, "total_doses": 2, "date": date(2026, 11, 27)},
            "t": {"test_type": RAT, "test_device": "1232", "sample_time": NOW - timedelta(hours=1),
                  "result": NOT_DETECTED},
            "r": {"first_positive": date(2026, 11, 10), "valid_from": date(2026, 11, 21),
                  "valid_until": date(2027, 5, 9)}}[type_]
    return IssueRequest(type=type_, person=person, event={**base, **event, "country": "DE", "issuer": "X"})


def _earlier_v(day: str, dn: int, sd: int, mp: str = "EU/1/20/1528") -> dict:
    return {"ver": "1.3.0", "nam": {"fnt": "MUELLER", "gnt": "JUERGEN"}, "dob": "1980-05-17",
            "v": [{"mp": mp, "dn": dn, "sd": sd, "dt": day}]}


def codes(req, earlier=(), now=NOW):
    return [w.code for w in plausibility.warnings(req, now=now, tz=BERLIN, earlier=list(earlier))]


@pytest.mark.parametrize("type_", ["v", "t", "r"])
def test_a_plain_case_has_no_warning(type_):
    assert codes(_req(type_)) == []


def test_a_vaccination_more_than_300_days_ago_is_a_warning():
    assert codes(_req("v", date=date(2026, 1, 31))) == ["vaccination_old"]   # 301 days
    assert codes(_req("v", date=date(2026, 2, 1))) == []                      # 300 days: fine


def test_the_year_typo_names_the_date_that_would_fit():
    """5.1.21 typed for 5.1.22: one year before today (the certificate is made on the day of the dose)."""
    (w,) = plausibility.warnings(_req("v", date=date(2025, 11, 28)), now=NOW, tz=BERLIN, earlier=[])
    assert w.code == "vaccination_year_typo" and w.field == "date"
    assert w.params == {"typed": date(2025, 11, 28), "meant": date(2026, 11, 28)}


def test_the_year_typo_after_the_persons_earlier_dose():
    """Dose 2 typed a year before a day that fits after this person's dose 1 (same device)."""
    earlier = [_earlier_v("2026-10-20", 1, 2)]
    req = _req("v", date=date(2025, 11, 17))
    (w,) = plausibility.warnings(req, now=NOW, tz=BERLIN, earlier=earlier)
    assert w.code == "vaccination_year_typo" and w.params["meant"] == date(2026, 11, 17)


def test_a_dose_on_or_before_the_earlier_dose_is_a_warning():
    earlier = [_earlier_v("2026-11-20", 1, 2)]
    assert codes(_req("v", date=date(2026, 11, 20)), earlier) == ["vaccination_before_earlier_dose"]
    assert codes(_req("v", date=date(2026, 11, 27)), earlier) == []


def test_today_is_the_local_day():
    """23:30 UTC on 27.11. is already the 28th in Berlin: a dose of the 28th last year is the typo."""
    late = datetime(2026, 11, 27, 23, 30, tzinfo=timezone.utc)
    (w,) = plausibility.warnings(_req("v", date=date(2025, 11, 28)), now=late, tz=BERLIN, earlier=[])
    assert w.code == "vaccination_year_typo" and w.params["meant"] == date(2026, 11, 28)


def test_a_sample_older_than_24_hours_is_a_warning():
    (w,) = plausibility.warnings(_req("t", sample_time=NOW - timedelta(hours=25)), now=NOW, tz=BERLIN, earlier=[])
    assert w.code == "sample_old" and w.field == "sample_time" and w.params == {"hours": 25}
    assert codes(_req("t", sample_time=NOW - timedelta(hours=23, minutes=59))) == []


@pytest.mark.parametrize("dob, expected", [
    ("2021-11-29", ["age_young"]), ("2021-11-28", []),        # 4 until today; 5 from today
    ("1915-11-28", ["age_old"]), ("1915-11-29", []),          # 111 from today; 110 until tomorrow
    ("2022", ["age_young"]), ("2021", []),                    # partial dates: only what is certain
    ("2021-12", ["age_young"]), ("1914", ["age_old"]), ("1915", []),
])
def test_ages_below_5_or_above_110_are_warnings(dob, expected):
    assert codes(_req("t", dob=dob)) == expected


@pytest.mark.parametrize("product, dn, sd, usual", [
    ("EU/1/20/1528", 1, 2, True), ("EU/1/20/1528", 2, 2, True), ("EU/1/20/1528", 3, 3, True),
    ("EU/1/20/1528", 1, 1, False),            # one dose after recovery: allowed, but check it
    ("EU/1/20/1528", 2, 1, False),            # a booster after a single-dose vaccine
    ("EU/1/20/1525", 1, 1, True), ("EU/1/20/1525", 2, 1, True), ("EU/1/20/1525", 3, 3, False),
])
def test_the_products_usual_schedule(product, dn, sd, usual):
    assert doses.find(product, dn, sd) is not None               # all of them may be issued
    assert doses.is_usual(product, dn, sd) is usual
    expected = [] if usual else ["dose_unusual"]
    assert codes(_req("v", product=product, dose_number=dn, total_doses=sd)) == expected


def test_a_dose_that_does_not_follow_the_earlier_one_is_a_warning():
    earlier = [_earlier_v("2026-10-01", 1, 2)]
    (w,) = plausibility.warnings(_req("v", dose_number=3, total_doses=3), now=NOW, tz=BERLIN, earlier=earlier)
    assert w.code == "dose_sequence" and w.params == {"earlier": "1/2", "typed": "3/3"}
    assert codes(_req("v"), earlier) == []                    # 2/2 after 1/2
    assert codes(_req("t"), earlier) == []                    # other types do not care


def test_pcr_has_no_device_and_no_warning():
    assert codes(_req("t", test_type=NAAT, test_device=None)) == []


def test_warnings_need_an_aware_now():
    with pytest.raises(ValueError):
        plausibility.warnings(_req("v"), now=NOW.replace(tzinfo=None), tz=BERLIN, earlier=[])
