"""The tablet UI with reference data: the admin uploads a bundle, the verify page trusts the
installed trust list and revocations, the result page shows the acceptance preview."""

from __future__ import annotations

import io
import json
import re

import pytest

from appliance.dcc import verify as V
from appliance.reference import store
from appliance.runtime import build_services
from appliance.web import create_app
from tests.support import reference as R
from tests.support.web import ADMIN, FORMS, STAFF, Browser, review_token


@pytest.fixture
def devices(make_config, clock, software_signer, kit, tmp_path):
    files = kit.write(tmp_path / "office")
    config = make_config({"printer": {"kind": "file"}, "gpio": {"enabled": False},
                          "device": {"country": "CZ"},
                          "reference": {"trust_anchor": str(files["anchor"]), "destinations": "EU,FI"}})
    d = build_services(config, clock=clock, signer=software_signer, with_panel=False)
    d.settings.add_user(ADMIN[0], password=ADMIN[1], role="admin")
    d.settings.add_user(STAFF[0], password=STAFF[1], role="staff")
    yield d
    d.close()


@pytest.fixture
def browser(devices):
    app = create_app(devices.config, devices)
    app.config["TESTING"] = True
    return Browser(app.test_client())


def _login(browser, who):
    assert browser.login(*who).status_code == 302
    return browser


def _upload(browser, data: bytes):
    browser.get("/admin/reference")
    return browser.post("/admin/reference", {"bundle": (io.BytesIO(data), "b.dccbundle")},
                        content_type="multipart/form-data")


def test_admin_uploads_a_bundle_and_rolls_back(browser, devices, kit, bundle):
    big = [{"country": "CZ", "kid": "AAAAAAAAAAA=", "hashType": "UCI", "expires": "2030-01-01T00:00:00Z",
            "entries": R.uci_batch(f"URN:UVCI:01:CZ:{n}")[0]["entries"]} for n in range(3000)]
    bundle = kit.bundle(bundle, revocations=big)
    _login(browser, ADMIN)
    resp = _upload(browser, b"garbage")
    assert resp.status_code == 422 and "bundle refused: container" in resp.get_data(as_text=True)
    assert store.current_dir(devices.config.state_dir) is None
    resp = _upload(browser, bundle)                                   # larger than the app's 64 KiB limit
    assert len(bundle) > 64 * 1024 and resp.status_code == 303, resp.get_data(as_text=True)[:500]
    assert store.versions(devices.config.state_dir)["rules"] == 1
    assert _upload(browser, kit.bundle(bundle, revocations=[])).status_code == 303
    html = browser.get("/admin/reference").get_data(as_text=True)
    assert "v-0002" in html and "revocations" in html
    assert browser.post("/admin/reference/rollback").status_code == 303
    assert store.versions(devices.config.state_dir)["revocations"] == 2           # back to the first upload


def test_staff_cannot_upload(browser, bundle):
    _login(browser, STAFF)
    assert browser.get("/admin/reference").status_code in (302, 403)


def test_verify_page_uses_the_trust_list_and_revocations(browser, devices, kit, bundle, foreign, clock, real_now):
    _login(browser, STAFF)
    browser.get("/verify")
    html = browser.post("/verify", {"hc1": foreign.field("PREFIX")}).get_data(as_text=True)
    assert 'class="bad" data-check="signature"' in html               # only the device's own DSC so far
    store.install(devices.config.state_dir, bundle, anchor=kit.anchor, now=real_now, source="test")
    clock.set(foreign.clock())
    resp = browser.post("/verify", {"hc1": foreign.field("PREFIX")})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and 'class="ok" data-check="signature"' in html
    assert 'class="ok" data-check="valuesets"' in html
    dcc = V.jsonable(foreign.claims().dcc)
    ci = next(dcc[k] for k in ("v", "t", "r") if k in dcc)[0]["ci"]
    store.install(devices.config.state_dir, kit.bundle(bundle, revocations=R.uci_batch(ci, foreign.country)),
                  anchor=kit.anchor, now=real_now, source="test")
    resp = browser.post("/verify", {"hc1": foreign.field("PREFIX")})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and 'id="revoked"' in html and "widerrufen" in html


def test_verify_page_shows_own_revocations(browser, devices):
    html = _issue(_login(browser, STAFF), "v", {**FORMS["v"], "country": "CZ"})
    uvci = re.search(r"URN:UVCI:01:CZ:[A-Z0-9/]+#[A-Z0-9]", html).group(0)
    hc1 = devices.journal.certificate(uvci).personal["hc1"]
    devices.issuer.revoke(uvci, operator="admin", reason="test")
    browser.get("/verify")
    html = browser.post("/verify", {"hc1": hc1}).get_data(as_text=True)
    assert 'id="revoked"' in html


def _issue(browser, type_: str, values: dict) -> str:
    browser.get(f"/issue/{type_}")
    review = browser.post(f"/issue/{type_}/review", values)
    assert review.status_code == 200, review.get_data(as_text=True)[:2000]
    token = review_token(review.get_data(as_text=True))
    done = browser.post(f"/issue/{type_}/confirm", {**values, "token": token})
    assert done.status_code == 303, done.get_data(as_text=True)[:2000]
    return browser.get(done.location).get_data(as_text=True)


WAITING_RULE = {
    "Identifier": "VR-CZ-0099", "Type": "Acceptance", "Country": "CZ", "Version": "1.0.0", "SchemaVersion": "1.0.0",
    "Engine": "CERTLOGIC", "EngineVersion": "0.7.5", "CertificateType": "Vaccination",
    "Description": [{"lang": "en", "desc": "The vaccination must be at least 14 days old."},
                    {"lang": "de", "desc": "Die Impfung muss mindestens 14 Tage zurückliegen."}],
    "ValidFrom": "2021-07-01T00:00:00Z", "ValidTo": "2030-06-01T00:00:00Z", "AffectedFields": ["v.0.dt"],
    "Logic": {"not-before": [{"plusTime": [{"var": "external.validationClock"}, 0, "day"]},
                             {"plusTime": [{"var": "payload.v.0.dt"}, 14, "day"]}]}}


def test_acceptance_preview_after_issuing(browser, devices, kit, inputs, real_now):
    html = _issue(_login(browser, STAFF), "v", {**FORMS["v"], "country": "CZ"})
    assert 'id="acceptance"' not in html                               # no rules installed: no preview
    (inputs["rules"] / "CZ" / "VR-CZ-0099.json").write_text(json.dumps(WAITING_RULE))
    store.install(devices.config.state_dir, kit.bundle(**inputs), anchor=kit.anchor, now=real_now, source="test")
    html = _issue(browser, "v", {**FORMS["v"], "country": "CZ", "family_name": "Neumann"})
    section = html[html.find('id="acceptance"'):html.find("</section>")]
    # vaccinated 2026-11-27, issued 2026-11-28: CZ accepts from 11.12.; the EU's general rules pass now
    assert "wird in CZ anerkannt ab 11.12." in section and "wird in EU anerkannt" in section
    assert "Die Impfung muss mindestens 14 Tage zurückliegen." in section and "✗ VR-CZ-0099" in section
    assert 'id="own-rules-warning"' in section
    warning = devices.journal.latest("rules_warning")
    assert warning is not None and warning["data"] == {"country": "CZ", "failed": ["VR-CZ-0099"]}
    browser.get("/?lang=en")
    english = _issue(browser, "v", {**FORMS["v"], "country": "CZ", "family_name": "Jansen"})
    assert "accepted in CZ from 11.12." in english and "The vaccination must be at least 14 days old." in english
