"""The tablet UI in a real browser: Debian's Chromium driven by Playwright against waitress on 127.0.0.1.

Signs in, issues one certificate of each type through the whole flow, screenshots the
result, decodes the QR from the screenshot with zxing-cpp and verifies it; reloads the
result page and checks that no second journal entry appeared; checks German and English labels.
"""

from __future__ import annotations

import io

import pytest
from playwright.sync_api import expect

from appliance.dcc import verify
from tests.support.browser import sign_in

pytestmark = [pytest.mark.browser]


def _decode_screenshot(png: bytes) -> str:
    import zxingcpp
    from PIL import Image
    results = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    texts = [r.text for r in results if r.format == zxingcpp.BarcodeFormat.QRCode]
    assert texts, "no QR code found in the screenshot"
    return texts[0]


def _person(page, family, given, dob):
    page.get_by_label("Nachname", exact=True).fill(family)
    page.get_by_label("Vorname", exact=True).fill(given)
    page.get_by_label("Geburtsdatum").fill(dob)


def _fill_v(page):
    _person(page, "Müller", "Jürgen", "1980-05-17")
    page.get_by_label("Impfstoff").select_option("EU/1/20/1528")
    page.get_by_label("Dosis").select_option("2/2")
    page.get_by_label("Impfdatum").fill("2026-11-27")


def _fill_t(page):
    _person(page, "Schmidt", "Anna", "1990-01-02")
    page.get_by_label("Testart").select_option("LP217198-3")
    page.get_by_label("Antigentest (Hersteller)").select_option("1232")
    page.get_by_label("Probenahme").fill("2026-11-28T09:30")
    page.get_by_label("Testzentrum").select_option("DEMO-TC")


def _fill_r(page):
    _person(page, "Weiß", "Peter", "1975-03-04")
    page.get_by_label("Erster positiver Test").fill("2026-11-10")
    page.get_by_label("Gültig ab").fill("2026-11-21")
    page.get_by_label("Gültig bis").fill("2027-05-09")


@pytest.mark.parametrize("type_, choice, fill", [("v", "Impfung", _fill_v), ("t", "Test", _fill_t),
                                                 ("r", "Genesung", _fill_r)])
def test_issue_in_the_browser(page, devices, software_signer, now, tmp_path, type_, choice, fill):
    sign_in(page)
    page.get_by_role("link", name=choice, exact=True).click()
    fill(page)
    page.get_by_role("button", name="Prüfen").click()
    page.wait_for_url("**/review")
    assert devices.journal.last_seq() == 0
    page.get_by_role("button", name="Zertifikat ausstellen").click()
    page.wait_for_url("**/result/**")
    page.locator("img#qr").wait_for()
    expect(page.locator("img#qr")).to_have_js_property("complete", True)
    png = page.screenshot(full_page=True, path=str(tmp_path / f"result-{type_}.png"))
    hc1 = _decode_screenshot(png)
    result = verify.verify(hc1, dscs=[software_signer.certificate], at=now)
    assert result.valid, result.errors
    assert result.type == type_
    (record,) = devices.journal.search(None)
    assert record.personal["hc1"] == hc1
    seq = devices.journal.last_seq()
    page.reload()                                                 # a reload never issues again
    page.locator("img#qr").wait_for()
    assert devices.journal.last_seq() == seq
    assert len(devices.journal.search(None)) == 1
    assert page.get_by_role("button", name="Beleg drucken").is_visible()
    assert page.errors == []                                      # no CSP violations, no JS errors


def test_a_double_tap_on_issue_issues_once(page, devices):
    sign_in(page)
    page.goto(page.base + "/issue/v")
    _fill_v(page)
    page.get_by_role("button", name="Prüfen").click()
    page.get_by_role("button", name="Zertifikat ausstellen").dblclick()
    page.wait_for_url("**/result/**")
    page.locator("img#qr").wait_for()
    assert len(devices.journal.search(None)) == 1


def test_german_and_english_labels_and_live_preview(page):
    sign_in(page)
    page.goto(page.base + "/issue/v")
    for label in ("Nachname", "Vorname", "Geburtsdatum"):
        assert page.get_by_label(label, exact=True).count() == 1
    page.get_by_label("Nachname", exact=True).fill("Müller-Lüdenscheidt")
    page.get_by_label("Vorname", exact=True).fill("Jürgen")
    expect(page.locator("#preview-family")).to_have_text("MUELLER<LUEDENSCHEIDT")
    expect(page.locator("#preview-given")).to_have_text("JUERGEN")
    assert page.get_by_role("button", name="Prüfen").is_visible()

    page.goto(page.base + "/issue/v?lang=en")
    for label in ("Family name", "Given name", "Date of birth"):
        assert page.get_by_label(label, exact=True).count() == 1
    assert page.get_by_role("button", name="Review").is_visible()
    page.goto(page.base + "/")
    for name in ("Vaccination", "Test", "Recovery"):
        assert page.get_by_role("link", name=name, exact=True).is_visible()
    assert page.errors == []


def test_field_errors_show_beside_the_field(page, devices):
    sign_in(page)
    page.goto(page.base + "/issue/v")
    _fill_v(page)
    page.get_by_label("Geburtsdatum").fill("1980-13-45")
    page.get_by_role("button", name="Prüfen").click()
    error = page.locator("#date_of_birth-error")
    assert error.is_visible() and error.text_content().startswith("Geburtsdatum")
    assert page.get_by_label("Nachname", exact=True).input_value() == "Müller"
    assert devices.journal.last_seq() == 0


def test_unreachable_indicator_appears_when_the_device_stops_answering(page, server):
    sign_in(page)
    assert page.locator("#unreachable").is_hidden()
    page.route("**/status.json", lambda route: route.abort())
    page.clock.install()
    page.reload()
    page.clock.run_for(25_000)                                    # two missed polls
    page.locator("#unreachable").wait_for(state="visible")
