"""The issue flow through the Flask test client: v, t, r; idempotency; bad input; duplicates;
records, corrections, revocation, printing, verification."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest

from appliance.dcc import verify
from tests.support.web import FORMS, review_token


def q(uvci: str) -> str:
    """A UVCI as it goes into a URL path (its '#' must be escaped)."""
    return quote(uvci, safe=":/")


def _issued(devices) -> list:
    return devices.journal.search(None, limit=1000)


def _issue(client, type_, form):
    resp = client.post(f"/issue/{type_}/review", form)
    assert resp.status_code == 200, re.findall(r'class="error"[^>]*>([^<]*)', resp.get_data(as_text=True))
    token = review_token(resp.get_data(as_text=True))
    return client.post(f"/issue/{type_}/confirm", {**form, "token": token, "action": "issue"}), token


@pytest.mark.parametrize("type_", ["v", "t", "r"])
def test_issue_each_type_through_review_and_result(staff, devices, software_signer, now, type_):
    form = FORMS[type_]
    review = staff.post(f"/issue/{type_}/review", form)
    html = review.get_data(as_text=True)
    assert review.status_code == 200 and "Zertifikat ausstellen" in html
    assert form["issuer"] in html                                    # read back
    assert _issued(devices) == []                                    # nothing before Issue
    resp, _ = _issue(staff, type_, form)
    assert resp.status_code == 303 and resp.location.startswith("/result/")
    (record,) = _issued(devices)
    assert record.type == type_ and record.operator == "staff"
    page = staff.get(resp.location)
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "Beleg drucken" in text and record.uvci in text
    assert page.headers["Cache-Control"] == "no-store"
    qr = staff.get(re.search(r'src="(/qr/[^"]+)"', text).group(1))
    assert qr.status_code == 200 and qr.mimetype == "image/svg+xml"
    result = verify.verify(record.personal["hc1"], dscs=[software_signer.certificate], at=now)
    assert result.valid and result.type == type_
    assert result.payload["nam"]["fn"] == form["family_name"]
    staff.get(resp.location)                                         # reload the result
    assert len(_issued(devices)) == 1


def test_the_same_token_never_issues_twice(staff, devices):
    resp, token = _issue(staff, "v", FORMS["v"])
    again = staff.post("/issue/v/confirm", {**FORMS["v"], "token": token, "action": "issue"})
    assert again.status_code == 303 and again.location == resp.location
    assert len(_issued(devices)) == 1
    entries = [e for e in devices.journal.entries() if e["kind"] == "issued"]
    assert len(entries) == 1


def test_confirm_without_a_token_is_refused(staff, devices):
    staff.get("/issue/v")
    assert staff.post("/issue/v/confirm", {**FORMS["v"], "action": "issue"}).status_code == 400
    assert _issued(devices) == []


def test_back_from_review_keeps_the_values(staff):
    staff.get("/issue/v")
    resp = staff.post("/issue/v/confirm", {**FORMS["v"], "action": "back"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and 'value="Müller"' in html and 'value="1980-05-17"' in html


def test_bad_input_shows_errors_beside_fields_and_keeps_values(staff, devices):
    staff.get("/issue/v")
    bad = {**FORMS["v"], "date_of_birth": "1980-13-45", "family_name": "", "given_name": "Zoë"}
    resp = staff.post("/issue/v/review", bad)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert 'id="date_of_birth-error"' in html and 'id="family_name-error"' in html
    assert 'value="1980-13-45"' in html and 'value="Zoë"' in html
    assert "Bitte die markierten Felder korrigieren" in html
    confirm = staff.post("/issue/v/confirm", {**bad, "token": "A" * 24, "action": "issue"})
    assert confirm.status_code == 422
    assert _issued(devices) == []


def test_sample_time_is_taken_in_the_centres_time_zone(staff, devices):
    _issue(staff, "t", FORMS["t"])   # 09:30 in Berlin (CET, UTC+1) on 2026-11-28
    (record,) = _issued(devices)
    assert record.personal["dcc"]["t"][0]["sc"].startswith("2026-11-28T08:30:00")


def test_duplicate_warning_for_the_same_dose(staff, devices):
    _issue(staff, "v", FORMS["v"])
    resp = staff.post("/issue/v/review", FORMS["v"])
    assert "Achtung: Für diese Person gibt es bereits" in resp.get_data(as_text=True)
    other = staff.post("/issue/v/review", {**FORMS["v"], "dose": "1/2"})
    assert "Achtung: Für diese Person" not in other.get_data(as_text=True)
    stranger = staff.post("/issue/v/review", {**FORMS["v"], "date_of_birth": "1981-05-17"})
    assert "Achtung: Für diese Person" not in stranger.get_data(as_text=True)


def test_duplicate_warning_for_a_test_on_the_same_day(staff):
    _issue(staff, "t", FORMS["t"])
    later = {**FORMS["t"], "sample_time": "2026-11-28T11:00"}
    assert "Achtung: Für diese Person" in staff.post("/issue/t/review", later).get_data(as_text=True)


def test_sticky_defaults_and_same_person(staff, devices):
    form = {**FORMS["v"], "dose": "1/2", "issuer": "Impfteam Süd"}
    _issue(staff, "v", form)
    uvci = _issued(devices)[0].uvci
    fresh = staff.get("/issue/v").get_data(as_text=True)
    assert 'value="Impfteam Süd"' in fresh and 'value="Müller"' not in fresh
    same = staff.get(f"/issue/v?from={q(uvci)}").get_data(as_text=True)
    assert 'value="Müller"' in same and 'value="1980-05-17"' in same
    assert re.search(r'<option value="2/2" selected>', same)          # the next dose


def test_records_search_and_reprint(staff, devices):
    _issue(staff, "v", FORMS["v"])
    _issue(staff, "r", FORMS["r"])
    listing = staff.get("/records").get_data(as_text=True)
    assert "Müller" in listing and "Weiß" in listing
    found = staff.get("/records?q=Weiß").get_data(as_text=True)
    assert "Weiß" in found and "Müller" not in found
    uvci = _issued(devices)[0].uvci
    resp = staff.post(f"/print/{q(uvci)}", {"reprint": "1", "back": "records"})
    assert resp.status_code == 303
    assert devices.printing.status(probe=False)["queue"]


def test_print_receipt_reaches_the_printer(staff, devices):
    resp, _ = _issue(staff, "v", FORMS["v"])
    printed = staff.post(resp.location.replace("/result/", "/print/"))
    assert printed.status_code == 303
    assert "Beleg gedruckt." in staff.get(printed.location).get_data(as_text=True)


def test_admin_revokes_with_reason_and_fraud_flag(admin, devices):
    _issue(admin, "v", FORMS["v"])
    uvci = _issued(devices)[0].uvci
    admin.get(f"/records/{q(uvci)}")
    admin.post(f"/records/{q(uvci)}/revoke", {"reason": "", "confirm": "1"})
    assert not _issued(devices)[0].revoked                             # a reason is required
    assert admin.post(f"/records/{q(uvci)}/revoke", {"reason": "wrong person", "fraud": "1",
                                                     "confirm": "1"}).status_code == 303
    assert _issued(devices)[0].revoked
    revoked = [e for e in devices.journal.entries() if e["kind"] == "revoked"]
    assert len(revoked) == 1 and revoked[0]["data"]["fraud"] is True


def test_staff_cannot_revoke(staff, devices):
    _issue(staff, "v", FORMS["v"])
    uvci = _issued(devices)[0].uvci
    assert staff.post(f"/records/{q(uvci)}/revoke", {"reason": "x"}).status_code == 403
    assert not _issued(devices)[0].revoked


def test_admin_correction_reissues_and_revokes_the_old(admin, devices):
    _issue(admin, "v", FORMS["v"])
    old = _issued(devices)[0].uvci
    form_page = admin.get(f"/records/{q(old)}/correct").get_data(as_text=True)
    assert 'value="Müller"' in form_page and old in form_page
    fixed = {**FORMS["v"], "date_of_birth": "1980-05-18", "corrects": old}
    resp, _ = _issue(admin, "v", fixed)
    assert resp.status_code == 303
    records = {r.uvci: r for r in _issued(devices)}
    assert len(records) == 2 and records[old].revoked
    (new,) = [r for r in records.values() if r.uvci != old]
    assert new.personal["date_of_birth"] == "1980-05-18" and not new.revoked


def test_verify_page(staff, devices):
    _issue(staff, "v", FORMS["v"])
    hc1 = _issued(devices)[0].personal["hc1"]
    staff.get("/verify")
    good = staff.post("/verify", {"hc1": hc1})
    assert good.status_code == 200 and "Gültig" in good.get_data(as_text=True)
    bad = staff.post("/verify", {"hc1": "HC1:NOT-A-CERT"})
    assert bad.status_code == 422 and "Ungültig" in bad.get_data(as_text=True)
    assert staff.post("/verify", {"hc1": hc1[:-7]}).status_code == 422


def test_issuing_refused_with_a_clear_message_when_the_clock_is_untrusted(staff, devices, clock):
    clock.synchronized = False                      # no NTP, no RTC, no admin confirmation: the time is unproven
    staff.get("/issue/v")
    resp = staff.post("/issue/v/confirm", {**FORMS["v"], "token": "B" * 24, "action": "issue"})
    assert resp.status_code == 503                  # the form is valid (422 would be a field error)
    assert "Die Uhrzeit ist nicht bestätigt" in resp.get_data(as_text=True)
    assert _issued(devices) == []


def test_name_preview_api(staff):
    data = staff.client.get("/api/names?family_name=Müller&given_name=Jürgen").get_json()
    assert data == {"family_name": "MUELLER", "given_name": "JUERGEN"}
    doses = staff.client.get("/api/doses?product=EU/1/20/1528").get_json()["options"]
    assert any(o["value"] == "2/2" for o in doses)


@pytest.mark.parametrize("sample_time", ["0001-01-01T00:00", "9999-12-31T23:59", "2026-11-28T25:00", "yesterday"])
def test_impossible_sample_times_are_field_errors(staff, devices, sample_time):
    staff.get("/issue/t")
    resp = staff.post("/issue/t/review", {**FORMS["t"], "sample_time": sample_time})
    assert resp.status_code == 422
    assert 'id="sample_time-error"' in resp.get_data(as_text=True)


def test_centre_settings_apply_to_new_certificates(admin, devices):
    admin.get("/admin/")
    assert admin.post("/admin/centre", {"uvci_issuer": "PRAXIS7", "issuer": "Praxis Dr. Beispiel",
                                        "validity_days_v": "100"}).status_code == 303
    form = {**FORMS["v"], "issuer": "Praxis Dr. Beispiel"}
    _issue(admin, "v", form)
    (record,) = _issued(devices)
    assert ":PRAXIS7/" in record.uvci
    assert (record.expires_at - record.issued_at).days == 100


def test_review_reads_back_the_dose_meaning(staff):
    from appliance.dcc import doses
    staff.get("/issue/v")
    html = staff.post("/issue/v/review", FORMS["v"]).get_data(as_text=True)
    meaning = doses.find("EU/1/20/1528", 2, 2).meaning_de
    assert f"2/2 – {meaning}" in html


def test_after_the_retention_period_records_show_no_personal_data(staff, devices, now):
    from datetime import timedelta
    resp, _ = _issue(staff, "v", FORMS["v"])
    assert devices.journal.purge(now=now + timedelta(days=30), retention_days=14) == 1   # the one certificate
    page = staff.get(resp.location).get_data(as_text=True)
    assert "Personendaten wurden nach der Aufbewahrungsfrist gelöscht" in page and "Müller" not in page
    assert "Müller" not in staff.get("/records?days=30").get_data(as_text=True)
