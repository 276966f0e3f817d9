"""Finding 4 of issue 10: an idempotency token is tied to the data it was reviewed with. The same token with
other data is refused (HTTP 409, a clear message, nothing issued, the first person's certificate not shown);
the same token with the same data returns the same certificate without issuing again."""

from __future__ import annotations

import pytest

from appliance.errors import IdempotencyConflict
from tests.support.web import FORMS, review_token


def _issued(devices):
    return [e for e in devices.journal.entries() if e["kind"] == "issued"]


def _review(client, form):
    resp = client.post("/issue/v/review", form)
    assert resp.status_code == 200
    return review_token(resp.get_data(as_text=True))


def test_the_same_token_with_another_persons_data_is_refused_with_409(staff, devices):
    token = _review(staff, FORMS["v"])
    first = staff.post("/issue/v/confirm", {**FORMS["v"], "token": token, "action": "issue"})
    assert first.status_code == 303
    other = {**FORMS["v"], "family_name": "Schneider", "given_name": "Petra", "date_of_birth": "1971-02-03"}
    again = staff.post("/issue/v/confirm", {**other, "token": token, "action": "issue"})
    html = again.get_data(as_text=True)
    assert again.status_code == 409
    assert "Dieses Formular wurde schon für ein Zertifikat mit anderen Angaben verwendet" in html
    uvci = devices.journal.search(None)[0].uvci
    assert uvci not in html and "/result/" not in again.headers.get("Location", "")
    assert 'value="Schneider"' in html                                   # the form keeps what was typed
    assert len(_issued(devices)) == 1


def test_the_409_message_is_english_for_an_english_user(staff, devices):
    staff.get("/issue/v?lang=en")
    token = _review(staff, FORMS["v"])
    staff.post("/issue/v/confirm", {**FORMS["v"], "token": token, "action": "issue"})
    again = staff.post("/issue/v/confirm", {**FORMS["v"], "dose": "1/2", "token": token, "action": "issue"})
    assert again.status_code == 409
    assert "This form was already used for a certificate with other data" in again.get_data(as_text=True)


def test_the_same_token_with_the_same_data_returns_the_same_certificate(staff, devices):
    token = _review(staff, FORMS["v"])
    first = staff.post("/issue/v/confirm", {**FORMS["v"], "token": token, "action": "issue"})
    again = staff.post("/issue/v/confirm", {**FORMS["v"], "token": token, "action": "issue"})
    assert again.status_code == 303 and again.location == first.location
    assert len(_issued(devices)) == 1


def test_the_issuer_refuses_a_repeated_key_with_other_data(make_issuer, request_for, example, journal):
    issuer = make_issuer()
    first = issuer.issue(request_for("v"), operator="staff", idempotency_key="staff:K1")
    data = example("v")
    data["family_name"] = "Andere"
    with pytest.raises(IdempotencyConflict):
        issuer.issue(request_for("v", data), operator="staff", idempotency_key="staff:K1")
    again = issuer.issue(request_for("v"), operator="staff", idempotency_key="staff:K1")
    assert again.replayed and again.uvci == first.uvci
    assert [e["kind"] for e in journal.entries()] == ["issued"]
