"""Forms that fit the case, Back after issuing and camera failures in a real browser (issue 10,
findings 7 and 8 and the camera finding): Debian's Chromium through Playwright against waitress."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from appliance.web.i18n import translate
from tests.support import browser
from tests.support.browser import sign_in
from tests.support.paths import REPO

pytestmark = [pytest.mark.browser]
ARTIFACTS = REPO / "tests" / "artifacts"


def _issued(devices) -> int:
    return len([e for e in devices.journal.entries() if e["kind"] == "issued"])


def test_pcr_filling_every_visible_field_is_issued(page, devices):
    """The centre's default is a rapid test with a device; a hurried user switches to PCR and fills
    every field they can see. The device field disappears and the certificate is issued."""
    devices.settings.update_centre(default_test_type="LP217198-3", default_test_device="1232")
    sign_in(page)
    page.goto(page.base + "/issue/t")
    device = page.get_by_label("Antigentest (Hersteller)")
    expect(device).to_be_visible()
    page.get_by_label("Testart").select_option("LP6464-4")
    expect(device).to_be_hidden()
    for field in page.locator("#issue-form input:visible, #issue-form select:visible").all():
        name = field.get_attribute("name")
        if field.evaluate("e => e.tagName") == "SELECT":
            continue                                  # every choice keeps its (valid) default
        field.fill({"family_name": "Schmidt", "given_name": "Anna", "date_of_birth": "02.01.1990",
                    "test_name": "PCR Labor Süd", "sample_time": "2026-11-28T09:30", "issuer": "Testzentrum"}[name])
    page.get_by_role("button", name="Prüfen").click()
    page.wait_for_url("**/review**")
    page.get_by_role("button", name="Zertifikat ausstellen").click()
    page.wait_for_url("**/result/**")
    (record,) = devices.journal.search(None, limit=10)
    assert record.personal["dcc"]["t"][0]["tt"] == "LP6464-4" and "ma" not in record.personal["dcc"]["t"][0]
    assert page.errors == []


def test_recovery_dates_are_filled_in_from_the_first_positive_test(page):
    sign_in(page)
    page.goto(page.base + "/issue/r")
    page.get_by_label("Erster positiver Test").fill("10.11.2026")
    expect(page.get_by_label("Gültig ab")).to_have_value("21.11.2026")
    expect(page.get_by_label("Gültig bis")).to_have_value("09.05.2027")
    page.get_by_label("Gültig bis").fill("01.03.2027")                 # staff's own value stays
    page.get_by_label("Erster positiver Test").fill("12.11.2026")
    expect(page.get_by_label("Gültig ab")).to_have_value("23.11.2026")
    expect(page.get_by_label("Gültig bis")).to_have_value("01.03.2027")


def test_the_first_wrong_field_has_the_focus(page):
    sign_in(page)
    page.goto(page.base + "/issue/v")
    page.get_by_label("Geburtsdatum").fill("14.03.61")
    page.get_by_role("button", name="Prüfen").click()
    expect(page.locator("#form-errors")).to_contain_text("Nachname")
    expect(page.locator("#form-errors")).to_contain_text("Geburtsdatum")
    assert page.evaluate("document.activeElement.id") == "family_name"


def test_back_after_issuing_offers_no_second_certificate(page, devices):
    sign_in(page)
    page.goto(page.base + "/issue/v")
    page.get_by_label("Nachname", exact=True).fill("Müller")
    page.get_by_label("Geburtsdatum").fill("17.05.1980")
    page.get_by_label("Impfstoff").select_option("EU/1/20/1528")
    page.get_by_label("Dosis").select_option("2/2")
    page.get_by_label("Impfdatum").fill("27.11.2026")
    page.get_by_role("button", name="Prüfen").click()
    page.wait_for_url("**/review**")
    page.get_by_role("button", name="Zertifikat ausstellen").click()
    page.wait_for_url("**/result/**")
    result = page.url
    page.go_back()                                   # raised net::ERR_CACHE_MISS before: "Confirm Form Resubmission"
    page.wait_for_url(result)
    expect(page.get_by_text("Dieses Formular wurde bereits ausgestellt")).to_be_visible()
    page.reload()
    assert page.url == result and _issued(devices) == 1


def test_a_warning_needs_the_tick_in_the_browser(page, devices):
    sign_in(page)
    page.goto(page.base + "/issue/v")
    page.get_by_label("Nachname", exact=True).fill("Müller")
    page.get_by_label("Geburtsdatum").fill("17.05.1980")
    page.get_by_label("Impfstoff").select_option("EU/1/20/1528")
    page.get_by_label("Dosis").select_option("2/2")
    page.get_by_label("Impfdatum").fill("27.11.2025")             # a year too early
    page.get_by_role("button", name="Prüfen").click()
    expect(page.locator("#review-warnings")).to_contain_text("genau ein Jahr vor dem 27.11.2026")
    page.get_by_role("button", name="Zertifikat ausstellen").click()
    assert "/review" in page.url and _issued(devices) == 0       # the required tick stops the form
    page.get_by_label(translate("acknowledge_warnings", "de")).check()
    page.get_by_role("button", name="Zertifikat ausstellen").click()
    page.wait_for_url("**/result/**")
    assert _issued(devices) == 1


@pytest.mark.parametrize("args, permissions, key", [
    ((), [], "camera_missing"),                                                  # headless: no camera at all
    (("--use-fake-device-for-media-stream",), [], "camera_denied"),              # a camera, but denied
])
def test_a_camera_failure_on_the_verify_page_says_so(chromium, server, args, permissions, key):
    """Without fake media flags headless Chromium has no camera (NotFoundError); with a fake camera the
    context grants no permission (NotAllowedError). The page says what to do (it said nothing)."""
    b = chromium.browser_type.launch(executable_path=browser.CHROMIUM, headless=True, args=[*browser.ARGS, *args])
    with b:
        context, page = browser.new_page(b, server, permissions=permissions)
        try:
            sign_in(page)
            page.goto(page.base + "/verify")
            page.get_by_role("button", name="Mit Kamera scannen").click()
            problem = page.locator("#camera-problem")
            expect(problem).to_be_visible()
            expect(problem).to_have_text(translate(key, "de"))
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / f"verify-camera-{len(args)}.png"))
        finally:
            context.close()
