"""Typos caught at review (issue 10, finding 8): soft warnings that staff must acknowledge, refused
server-side without it (nothing written); a review re-sent after issuing leads to the certificate."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest

from tests.support.web import FORMS, review_token

ACK = re.compile(r'<input type="checkbox" id="acknowledge" name="acknowledge" value="([^"]*)"')


def _entries(devices) -> int:
    return len([e for e in devices.journal.entries() if e["kind"] == "issued"])


def _review(staff, type_, form):
    resp = staff.post(f"/issue/{type_}/review", form)
    assert resp.status_code == 200, resp.get_data(as_text=True)[:3000]
    return resp.get_data(as_text=True)


@pytest.mark.parametrize("type_, change, text", [
    ("v", {"date": "27.11.2025"}, "genau ein Jahr vor dem 27.11.2026"),            # the 5.1.21-for-5.1.22 typo
    ("v", {"date": "01.01.2026"}, "mehr als 300 Tage"),
    ("v", {"dose": "1/1"}, "1/1"),                                                  # not Comirnaty's schedule
    ("t", {"sample_time": "2026-11-27T09:00"}, "älter als 24 Stunden"),
    ("t", {"date_of_birth": "2023-01-01"}, "jünger als 5 Jahre"),
    ("r", {"date_of_birth": "1910"}, "älter als 110 Jahre"),
])
def test_a_warning_must_be_acknowledged_before_issuing(staff, devices, type_, change, text):
    form = {**FORMS[type_], **change}
    page = _review(staff, type_, form)
    assert text in html.unescape(page), html.unescape(page)[:4000]
    ack = ACK.search(page)
    assert ack, "the review asks to confirm the warnings"
    token = review_token(page)
    refused = staff.post(f"/issue/{type_}/confirm", {**form, "token": token, "action": "issue"})
    assert refused.status_code == 422
    assert "Bitte bestätigen Sie, dass Sie die Hinweise geprüft haben" in html.unescape(refused.get_data(as_text=True))
    assert _entries(devices) == 0                                                  # nothing written
    done = staff.post(f"/issue/{type_}/confirm", {**form, "token": token, "action": "issue",
                                                   "acknowledge": ack.group(1)})
    assert done.status_code == 303 and _entries(devices) == 1


def test_a_plain_case_asks_nothing(staff, devices):
    page = _review(staff, "v", FORMS["v"])
    assert not ACK.search(page)


def test_the_acknowledgement_covers_the_warnings_it_was_given_for(staff, devices):
    """A tick for one warning does not cover another one (the sample got older meanwhile)."""
    form = {**FORMS["t"], "date_of_birth": "2023-01-01", "sample_time": "2026-11-27T11:05"}   # 23 h 55 min old
    page = _review(staff, "t", form)
    assert ACK.search(page).group(1) == "age_young"
    token = review_token(page)
    devices.clock.advance(timedelta(minutes=10))              # now the sample is also more than 24 h old
    refused = staff.post("/issue/t/confirm", {**form, "token": token, "action": "issue",
                                              "acknowledge": ACK.search(page).group(1)})
    assert refused.status_code == 422 and _entries(devices) == 0


def test_the_second_dose_a_year_before_the_first_one_fits_the_typo(staff, devices):
    first = {**FORMS["v"], "dose": "1/2", "date": "20.11.2026"}
    page = _review(staff, "v", first)
    staff.post("/issue/v/confirm", {**first, "token": review_token(page), "action": "issue"})
    second = {**FORMS["v"], "dose": "2/2", "date": "27.11.2025"}
    text = html.unescape(_review(staff, "v", second))
    assert "27.11.2026" in text and "genau ein Jahr" in text


def test_a_review_sent_again_after_issuing_leads_to_the_certificate(staff, devices):
    """Back after issuing, then 'resubmit': the review form's draft id is the idempotency token, so the
    re-sent review finds the certificate instead of offering a second one."""
    form_page = staff.get("/issue/v").get_data(as_text=True)
    draft = re.search(r'name="draft" value="([^"]+)"', form_page).group(1)
    form = {**FORMS["v"], "draft": draft}
    page = _review(staff, "v", form)
    assert review_token(page) == draft
    done = staff.post("/issue/v/confirm", {**form, "token": draft, "action": "issue"})
    again = staff.post("/issue/v/review", form)
    assert again.status_code == 303 and again.location == done.location
    assert _entries(devices) == 1
    replaced = staff.get(f"/issue/v/drafts/{draft}/review")           # the page's URL after history.replaceState
    assert replaced.status_code == 303 and replaced.location == done.location


def test_the_review_page_can_be_reloaded_by_its_own_url(staff, devices):
    form_page = staff.get("/issue/v").get_data(as_text=True)
    draft = re.search(r'name="draft" value="([^"]+)"', form_page).group(1)
    page = _review(staff, "v", {**FORMS["v"], "draft": draft})
    assert f'data-review-url="/issue/v/drafts/{draft}/review"' in page
    again = staff.get(f"/issue/v/drafts/{draft}/review")
    assert again.status_code == 200 and review_token(again.get_data(as_text=True)) == draft
    assert staff.get("/issue/v/drafts/" + "B" * 24 + "/review").status_code == 303    # unknown: back to a fresh form
    assert _entries(devices) == 0
