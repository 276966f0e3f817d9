"""Correcting a certificate through the tablet UI (issue 10, findings 1 and 2): the form as the
correct page renders it, submitted as a browser would; the new certificate decoded and verified.

The one-time failure is a real SQLite one: a trigger, created through a second connection to the
journal file (as another process would), refuses the next ``revoked`` entry until it is dropped.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import quote

import pytest

from appliance.dcc import verify
from tests.support.faults import refusing_revocations
from tests.support.web import FORMS, review_token

OLD_NAME = "Müller-Lüdenscheidt"


def q(uvci: str) -> str:
    return quote(uvci, safe=":/")


class _FormValues(HTMLParser):
    """What a browser submits from the page's form ``#issue-form``: inputs and selected options."""

    def __init__(self):
        super().__init__()
        self.values: dict[str, str] = {}
        self._in_form, self._select, self._first = False, None, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self._in_form = a.get("id") == "issue-form"
        elif not self._in_form:
            return
        elif tag == "input" and a.get("name") and a.get("name") != "csrf_token":
            self.values[a["name"]] = a.get("value") or ""
        elif tag == "select":
            self._select, self._first = a.get("name"), True
        elif tag == "option" and self._select:
            if self._first or "selected" in a:
                self.values[self._select] = a.get("value") or ""
            self._first = False

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "form":
            self._in_form = False


def form_values(html: str) -> dict[str, str]:
    parser = _FormValues()
    parser.feed(html)
    assert parser.values, "the page has the certificate form"
    return parser.values


def _review(client, type_, form):
    resp = client.post(f"/issue/{type_}/review", form)
    assert resp.status_code == 200, re.findall(r'class="error"[^>]*>([^<]*)', resp.get_data(as_text=True))
    return review_token(resp.get_data(as_text=True))


def _issue(client, type_, form):
    token = _review(client, type_, form)
    return client.post(f"/issue/{type_}/confirm", {**form, "token": token, "action": "issue"})


def _records(devices):
    return {r.uvci: r for r in devices.journal.search(None, limit=1000)}


@pytest.fixture
def old(admin, devices):
    """A vaccination certificate for Jürgen Müller-Lüdenscheidt, issued by the admin; its UVCI."""
    assert _issue(admin, "v", {**FORMS["v"], "family_name": OLD_NAME}).status_code == 303
    (uvci,) = _records(devices)
    assert _records(devices)[uvci].personal["family_name_std"] == "MUELLER<LUEDENSCHEIDT"
    return uvci


def _correct_form(admin, uvci: str) -> dict[str, str]:
    page = admin.get(f"/records/{q(uvci)}/correct")
    assert page.status_code == 200
    values = form_values(page.get_data(as_text=True))
    assert values["corrects"] == uvci and values["family_name"] == OLD_NAME
    return values


def _valid(devices, software_signer, now, uvci: str) -> verify.VerifyResult:
    return verify.verify(_records(devices)[uvci].personal["hc1"], dscs=[software_signer.certificate], at=now)


def test_a_corrected_family_name_gets_its_own_standardised_name(admin, devices, software_signer, now, old):
    values = _correct_form(admin, old)
    values["family_name"] = "Schmidt"
    resp = _issue(admin, "v", values)
    assert resp.status_code == 303
    records = _records(devices)
    (new,) = [u for u in records if u != old]
    result = _valid(devices, software_signer, now, new)
    nam = result.payload["nam"]
    assert nam["fn"] == "Schmidt" and nam["fnt"] == "SCHMIDT"
    assert nam["gn"] == FORMS["v"]["given_name"] and nam["gnt"] == "JUERGEN"
    assert result.valid and result.checks["names"] is True
    assert records[old].revoked and not records[new].revoked


def test_a_standardised_name_typed_in_the_correct_form_is_kept(admin, devices, old):
    values = _correct_form(admin, old)
    values.update(family_name="Schmidt-Müller", family_name_standardised="SCHMIDT<MULLER")
    assert _issue(admin, "v", values).status_code == 303
    (new,) = [r for u, r in _records(devices).items() if u != old]
    assert new.personal["dcc"]["nam"]["fnt"] == "SCHMIDT<MULLER"


def test_a_typed_standardised_name_that_contradicts_the_name_is_refused_at_review(admin, devices, old):
    values = _correct_form(admin, old)
    values.update(family_name="Schmidt", family_name_standardised="MUELLER<LUEDENSCHEIDT")
    resp = admin.post("/issue/v/review", values)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert 'id="family_name_standardised-error"' in html and 'id="family_name-error"' not in html
    records = _records(devices)
    assert list(records) == [old] and not records[old].revoked


@pytest.fixture
def refuse_revocations(devices):
    """``arm()``: the journal file refuses ``revoked`` entries (a real SQLite error) until ``disarm()``."""
    with refusing_revocations(devices.journal.path) as switch:
        yield switch


def test_a_correction_replayed_after_a_failed_revocation_leaves_one_valid_certificate(
        admin, devices, software_signer, now, old, refuse_revocations):
    values = _correct_form(admin, old)
    values["date_of_birth"] = "1980-05-18"
    token = _review(admin, "v", values)
    post = {**values, "token": token, "action": "issue"}
    refuse_revocations.arm()
    first = admin.post("/issue/v/confirm", post)
    assert first.status_code in (303, 503)
    refuse_revocations.disarm()
    again = admin.post("/issue/v/confirm", post)            # staff send the same POST again
    assert again.status_code == 303
    records = _records(devices)
    valid = [u for u, r in records.items() if not r.revoked and _valid(devices, software_signer, now, u).valid]
    assert len(valid) == 1 and valid[0] != old
    assert records[old].revoked
    assert records[valid[0]].personal["date_of_birth"] == "1980-05-18"
    revoked = [e for e in devices.journal.entries() if e["kind"] == "revoked"]
    assert [(e["uvci"], e["data"]["reason"]) for e in revoked] == [(old, "corrected")]
    assert admin.post("/issue/v/confirm", post).location == again.location   # a third time: the same


def test_a_failed_correction_commits_nothing_and_says_so(admin, devices, old, refuse_revocations):
    values = _correct_form(admin, old)
    values["date_of_birth"] = "1980-05-18"
    token = _review(admin, "v", values)
    refuse_revocations.arm()
    resp = admin.post("/issue/v/confirm", {**values, "token": token, "action": "issue"})
    assert resp.status_code == 503 and "Traceback" not in resp.get_data(as_text=True)
    assert list(_records(devices)) == [old] and not _records(devices)[old].revoked


def test_correcting_a_revoked_certificate_is_refused(admin, devices, old):
    values = _correct_form(admin, old)
    devices.issuer.revoke(old, operator="admin", reason="wrong_data")
    token = _review(admin, "v", values)
    resp = admin.post("/issue/v/confirm", {**values, "token": token, "action": "issue"})
    assert resp.status_code == 422
    assert list(_records(devices)) == [old]


def test_a_typed_standardised_name_of_the_old_certificate_is_not_carried_over_but_named(admin, devices):
    """The old certificate had an override (MULLER for Müller): the correct form starts empty, says so."""
    assert _issue(admin, "v", {**FORMS["v"], "family_name_standardised": "MULLER"}).status_code == 303
    (old,) = _records(devices)
    page = admin.get(f"/records/{q(old)}/correct").get_data(as_text=True)
    values = form_values(page)
    assert values["family_name_standardised"] == "" and values["given_name_standardised"] == ""
    assert page.count("eingetippte standardisierte Namen") == 1
    assert "eingetippte" not in admin.get(f"/records/{q(old)}").get_data(as_text=True)  # not left for the next page


def test_the_correct_form_without_an_old_override_shows_no_notice(admin, old):
    assert "eingetippte standardisierte Namen" not in admin.get(f"/records/{q(old)}/correct").get_data(as_text=True)
