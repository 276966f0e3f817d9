"""Forms that fit the case (issue 10, finding 7) and the duplicate warning, through the Flask test client.

PCR ignores the rapid-test device; the sample time defaults to now (local); recovery dates follow
the first positive test; German dates; local times with their offset; the first wrong field has
the focus and the banner names the fields; one duplicate warning, however many earlier certificates.
"""

from __future__ import annotations

import html
import re

from appliance.dcc.model import NAAT
from tests.support.web import FORMS, review_token


def _issue(client, type_, form):
    resp = client.post(f"/issue/{type_}/review", form)
    assert resp.status_code == 200, re.findall(r'class="error"[^>]*>([^<]*)', resp.get_data(as_text=True))
    token = review_token(resp.get_data(as_text=True))
    done = client.post(f"/issue/{type_}/confirm", {**form, "token": token, "action": "issue"})
    assert done.status_code == 303, done.get_data(as_text=True)[:2000]
    return done


def _text(resp) -> str:
    return html.unescape(resp.get_data(as_text=True))


def test_pcr_with_the_default_rapid_test_device_is_issued_without_it(staff, devices):
    """A hurried user picks PCR and leaves the (default) RAT device: the server ignores the device."""
    form = {**FORMS["t"], "test_type": NAAT, "test_device": "1232"}
    _issue(staff, "t", form)
    (record,) = devices.journal.search(None, limit=10)
    assert "ma" not in record.personal["dcc"]["t"][0] and record.personal["dcc"]["t"][0]["tt"] == NAAT


def test_the_device_field_is_hidden_unless_the_test_is_rapid(staff, devices):
    devices.settings.update_centre(default_test_type=NAAT, default_test_device="1232")
    page = staff.get("/issue/t").get_data(as_text=True)
    wrapper = re.search(r'<div class="field[^"]*"[^>]*data-show-for="LP217198-3"[^>]*>', page)
    assert wrapper and " hidden" in wrapper.group(0)
    devices.settings.update_centre(default_test_type="LP217198-3")
    page = staff.get("/issue/t").get_data(as_text=True)
    wrapper = re.search(r'<div class="field[^"]*"[^>]*data-show-for="LP217198-3"[^>]*>', page)
    assert wrapper and " hidden" not in wrapper.group(0)


def test_the_sample_time_defaults_to_now_in_local_time(staff, now):
    page = staff.get("/issue/t").get_data(as_text=True)      # 10:00 UTC = 11:00 in Berlin (CET)
    assert re.search(r'<input id="sample_time" name="sample_time" type="datetime-local" value="2026-11-28T11:00"', page)


def test_recovery_dates_follow_the_first_positive_test(staff, devices):
    page = staff.get("/issue/r").get_data(as_text=True)
    assert 'data-from-days="11"' in page and 'data-until-days="180"' in page       # for the script
    form = {**FORMS["r"], "first_positive": "10.11.2026", "valid_from": "", "valid_until": ""}
    review = staff.post("/issue/r/review", form)
    text = _text(review)
    assert review.status_code == 200, text[:3000]
    assert "2026-11-21" in text and "2027-05-09" in text                     # computed, shown on review
    assert 'name="valid_from" value="21.11.2026"' in text                      # and carried, editable
    _issue(staff, "r", form)
    (record,) = devices.journal.search(None, limit=10)
    entry = record.personal["dcc"]["r"][0]
    assert (entry["fr"], entry["df"], entry["du"]) == ("2026-11-10", "2026-11-21", "2027-05-09")


def test_dates_typed_the_german_way(staff, devices):
    page = staff.get("/issue/v").get_data(as_text=True)
    assert "TT.MM.JJJJ" in html.unescape(page)                                # the field says what it reads
    assert not re.search(r'<input id="date" name="date" type="date"', page)    # a text field: 14.03.1961 types
    form = {**FORMS["v"], "date_of_birth": "17051980", "date": "27.11.2026"}
    _issue(staff, "v", form)
    (record,) = devices.journal.search(None, limit=10)
    assert record.personal["dcc"]["dob"] == "1980-05-17" and record.personal["dcc"]["v"][0]["dt"] == "2026-11-27"


def test_the_first_wrong_field_has_the_focus_and_the_banner_names_the_fields(staff):
    staff.get("/issue/v")
    resp = staff.post("/issue/v/review", {**FORMS["v"], "family_name": "", "date": "31.02.2026"})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert page.count(" autofocus") == 1
    assert re.search(r'<input id="family_name" [^>]*autofocus', page)
    banner = re.search(r'<div class="flash error" role="alert" id="form-errors">(.*?)</div>', page, re.S)
    assert banner, page[:3000]
    links = re.findall(r'<a href="#(\w+)">([^<]+)</a>', banner.group(1))
    assert links == [("family_name", "Nachname"), ("date", "Impfdatum")]


def test_times_on_screen_are_local_with_the_offset(staff, devices):
    _issue(staff, "t", FORMS["t"])                                            # 09:30 in Berlin
    review = _text(staff.post("/issue/t/review", FORMS["t"]))
    assert "28.11.2026 09:30 (UTC+01:00)" in review                           # the sample time read back
    assert "28.11.2026 11:00 (UTC+01:00)" in review                           # when the first one was issued
    (record,) = devices.journal.search(None, limit=10)
    assert record.personal["dcc"]["t"][0]["sc"] == "2026-11-28T08:30:00Z"     # the certificate keeps UTC


def test_the_device_time_zone_comes_from_the_config(make_config, clock, software_signer):
    from appliance.runtime import build_services
    from appliance.web import create_app
    from tests.support.web import STAFF, Browser

    config = make_config({"printer": {"kind": "file"}, "gpio": {"enabled": False},
                          "device": {"timezone": "America/New_York"}})
    d = build_services(config, clock=clock, signer=software_signer, with_panel=False)
    try:
        d.settings.add_user(STAFF[0], password=STAFF[1], role="staff")
        app = create_app(d.config, d)
        app.config["TESTING"] = True
        client = Browser(app.test_client())
        client.login(*STAFF)
        page = client.get("/issue/t").get_data(as_text=True)     # 10:00 UTC = 05:00 in New York
        assert 'value="2026-11-28T05:00"' in page
    finally:
        d.close()


def test_one_duplicate_warning_for_three_earlier_certificates(staff, devices):
    for _ in range(3):
        _issue(staff, "v", FORMS["v"])
    assert len(devices.journal.search(None, limit=10)) == 3
    page = _text(staff.post("/issue/v/review", FORMS["v"]))
    assert page.count("Achtung: Für diese Person gibt es bereits") == 1
    assert "3" in re.search(r"Achtung: Für diese Person gibt es bereits[^<]*", page).group(0)
