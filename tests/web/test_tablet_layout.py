"""The tablet UI laid out for a tablet (issue 10, finding 6), in Debian's Chromium via Playwright.

At 1024×768 landscape, 768×1024 portrait and a 390×844 phone (touch, mobile viewport, as the
tablets are), signed in as the admin (the widest navigation): the header, with the health and hub badges
showing, is one row and every navigation target is reachable and at least 44 px; the review of a person who already has a
certificate (so it carries the duplicate warning) reads in columns a value fits in, and its
"Zertifikat ausstellen" is hit-testable and clicks without ``force``; the
result page shows the whole QR and "Beleg drucken" on the first screen, and the QR decoded from a
viewport-only screenshot is the certificate just issued; the records and status pages reflow
instead of scrolling sideways. Screenshots and the measured figures are kept under
tests/artifacts/tablet/ (git-ignored) as ``<viewport>-<page>.png`` and ``<viewport>-figures.json``.
"""

from __future__ import annotations

import io
import json
import re

from urllib.parse import unquote

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

from appliance.dcc import verify
from tests.support import browser
from tests.support.browser import sign_in
from tests.support.paths import REPO
from tests.support.web import ADMIN, FORMS, review_token

pytestmark = [pytest.mark.browser]

VIEWPORTS = {"landscape": (1024, 768), "portrait": (768, 1024), "phone": (390, 844)}
ARTEFACTS = REPO / "tests" / "artifacts" / "tablet"
NAV = ("Ausstellen", "Zertifikate", "Prüfen", "Status", "Verwaltung")
MIN_TAP = 44                                                     # px, the smallest tap target allowed

# (element, description) of every header control the pointer could hit, with its box
_HEADER_CONTROLS = """() => [...document.querySelectorAll('header.top a, header.top button, header.top .badge')]
  .filter((e) => e.getClientRects().length && getComputedStyle(e).visibility !== 'hidden')
  .map((e) => { const r = e.getBoundingClientRect();
                return {text: e.textContent.trim(), target: !e.classList.contains('badge') || e.tagName === 'A',
                        top: r.top, bottom: r.bottom, left: r.left, right: r.right, width: r.width, height: r.height}; })"""
# null when a tap at the element's centre reaches it, else what it hits instead
_HIT = """(el) => { const r = el.getBoundingClientRect();
  const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
  return hit && (hit === el || el.contains(hit)) ? null : (hit ? hit.outerHTML.slice(0, 160) : 'nothing'); }"""
_SCROLL_WIDTH = "() => document.scrollingElement.scrollWidth"
# cells whose right edge lies beyond the viewport
_CELLS_OUTSIDE = """(w) => [...document.querySelectorAll('main td, main th, main dd, main dt')]
  .filter((e) => e.getBoundingClientRect().right > w + 0.5).map((e) => e.textContent.trim().slice(0, 40))"""


@pytest.fixture(scope="module")
def chromium():
    with browser.chromium() as b:
        yield b


@pytest.fixture(params=list(VIEWPORTS), ids=list(VIEWPORTS))
def viewport(request):
    return request.param


@pytest.fixture
def page(chromium, server, viewport):
    context, page = browser.new_page(chromium, server, viewport=VIEWPORTS[viewport], has_touch=True, is_mobile=True)
    yield page
    context.close()


def _decode(png: bytes) -> str:
    import zxingcpp
    from PIL import Image
    texts = [r.text for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
             if r.format == zxingcpp.BarcodeFormat.QRCode]
    assert texts, "no QR code found in the viewport screenshot"
    return texts[0]


def _shot(page, viewport: str, name: str) -> bytes:
    """A screenshot of the viewport only (what staff see without scrolling), kept as an artefact."""
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    return page.screenshot(path=str(ARTEFACTS / f"{viewport}-{name}.png"), full_page=False)


def _inside(box, width: int, height: int) -> bool:
    return (box is not None and box["x"] >= 0 and box["y"] >= 0
            and box["x"] + box["width"] <= width + 0.5 and box["y"] + box["height"] <= height + 0.5)


def _check_header(page, viewport, width, figures, problems) -> None:
    header = page.locator("header.top")
    figures["header_height"] = round(header.bounding_box()["height"])
    controls = page.evaluate(_HEADER_CONTROLS)
    if controls and max(c["top"] for c in controls) >= min(c["bottom"] for c in controls):
        problems.append(f"the header wraps into more than one row ({figures['header_height']} px tall)")
    if figures["header_height"] >= 2 * MIN_TAP:
        problems.append(f"the header is {figures['header_height']} px tall, more than one row of targets")
    small = [c["text"] for c in controls if c["target"] and (c["width"] < MIN_TAP or c["height"] < MIN_TAP)]
    if small:
        problems.append(f"header targets smaller than {MIN_TAP} px: {small}")
    outside = [c["text"] for c in controls if c["left"] < 0 or c["right"] > width + 0.5]
    if outside:
        problems.append(f"header items beyond the screen's edge: {outside}")
    overlapping = [(a["text"], b["text"]) for i, a in enumerate(controls) for b in controls[i + 1:]
                   if a["left"] < b["right"] - 0.5 and b["left"] < a["right"] - 0.5
                   and a["top"] < b["bottom"] - 0.5 and b["top"] < a["bottom"] - 0.5]
    if overlapping:
        problems.append(f"header items overlap: {overlapping}")
    _shot(page, viewport, "home")
    for name in NAV:
        link = header.get_by_role("link", name=name, exact=True)
        if not link.is_visible():                                # small screens: behind the menu
            header.get_by_role("button", name="Menü").click()
            _shot(page, viewport, "menu")
        expect(link).to_be_visible()
        box = link.bounding_box()
        if box["width"] < MIN_TAP or box["height"] < MIN_TAP:
            problems.append(f"nav target {name!r} is {box['width']:.0f}×{box['height']:.0f} px")
        covered = link.evaluate(_HIT)
        if covered:
            problems.append(f"nav target {name!r} is covered by {covered}")
        if page.evaluate(_SCROLL_WIDTH) > width:
            problems.append(f"the open navigation scrolls sideways ({page.evaluate(_SCROLL_WIDTH)} px)")
        page.keyboard.press("Escape")                            # closes an open menu, harmless otherwise
    sign_out = header.get_by_role("button", name="Abmelden")
    if not sign_out.is_visible():                                # below 1200 px: behind the user's name
        header.get_by_role("button", name=ADMIN[0]).click()
        _shot(page, viewport, "account")
    expect(sign_out).to_be_visible()
    box = sign_out.bounding_box()
    if box["width"] < MIN_TAP or box["height"] < MIN_TAP or sign_out.evaluate(_HIT):
        problems.append(f"'Abmelden' is not tappable: {box}, covered by {sign_out.evaluate(_HIT)}")
    page.keyboard.press("Escape")


def _check_reflow(page, viewport, name, width, figures, problems) -> None:
    figures[f"{name}_scroll_width"] = page.evaluate(_SCROLL_WIDTH)
    if figures[f"{name}_scroll_width"] > width:
        problems.append(f"the {name} page scrolls sideways: {figures[f'{name}_scroll_width']} px > {width} px")
    outside = page.evaluate(_CELLS_OUTSIDE, width)
    if outside:
        problems.append(f"{name} cells beyond the right edge: {outside[:4]}")
    _shot(page, viewport, name)


def _nav(page, name: str, path: str) -> None:
    """Follow a navigation target as staff would, through the menu where the screen has one,
    and wait until ``path`` has loaded."""
    link = page.locator("header.top").get_by_role("link", name=name, exact=True)
    if not link.is_visible():
        page.locator("header.top").get_by_role("button", name="Menü").click()
    link.click()
    page.wait_for_url(page.base + path)


def _seed_earlier_certificate(staff) -> None:
    """The same person's certificate issued earlier, so that the review shows the duplicate warning."""
    form = FORMS["v"]
    review = staff.post("/issue/v/review", form)
    assert review.status_code == 200
    resp = staff.post("/issue/v/confirm", {**form, "token": review_token(review.get_data(as_text=True)),
                                           "action": "issue"})
    assert resp.status_code in (302, 303), resp.status_code


def test_the_staff_pages_fit_the_screen(page, viewport, staff, devices, software_signer, now):
    width, height = VIEWPORTS[viewport]
    figures: dict[str, object] = {"viewport": f"{width}x{height}"}
    problems: list[str] = []
    _seed_earlier_certificate(staff)
    devices.journal.set_sync_status(last_error="connection refused", last_error_at=now.isoformat())
    page.goto(page.base + "/login")
    _check_reflow(page, viewport, "login", width, figures, problems)
    sign_in(page, account=ADMIN)
    expect(page.locator("#health-badge")).to_be_visible()       # the widest header: both badges show
    assert page.locator("#hub-badge").get_attribute("hidden") is None   # (below 900 px the health badge says it)
    _check_header(page, viewport, width, figures, problems)

    _nav(page, "Ausstellen", "/")
    page.locator("main").get_by_role("link", name="Impfung", exact=True).click()
    page.get_by_label("Nachname", exact=True).fill(FORMS["v"]["family_name"])
    page.get_by_label("Vorname", exact=True).fill(FORMS["v"]["given_name"])
    page.get_by_label("Geburtsdatum").fill(FORMS["v"]["date_of_birth"])
    page.get_by_label("Impfstoff").select_option(FORMS["v"]["product"])
    page.get_by_label("Dosis").select_option(FORMS["v"]["dose"])
    page.get_by_label("Impfdatum").fill(FORMS["v"]["date"])
    page.locator("main").get_by_role("button", name="Prüfen").click()
    page.wait_for_url(re.compile(r"/issue/v/review(/[^/?#]+)?$"))     # app.js gives it its own URL
    expect(page.get_by_role("alert").first).to_be_visible()      # the duplicate warning
    _check_reflow(page, viewport, "review", width, figures, problems)
    content = page.locator("main").evaluate("(m) => m.clientWidth - parseFloat(getComputedStyle(m).paddingLeft)"
                                            " - parseFloat(getComputedStyle(m).paddingRight)")
    figures["review_narrowest_value"] = round(min(b["width"] for b in
                                                  (d.bounding_box() for d in page.locator("main dl dd").all())))
    if figures["review_narrowest_value"] < 0.4 * content:
        problems.append(f"review values squeezed into {figures['review_narrowest_value']} px of {content:.0f} px")
    issue = page.get_by_role("button", name="Zertifikat ausstellen")
    figures["review_issue_y"] = round(issue.bounding_box()["y"])
    issue.scroll_into_view_if_needed()
    figures["review_issue_covered_by"] = issue.evaluate(_HIT)
    if figures["review_issue_covered_by"]:
        problems.append(f"'Zertifikat ausstellen' is covered by {figures['review_issue_covered_by']}")
    _shot(page, viewport, "review-actions")
    try:
        issue.click()                                             # no force: Playwright checks the hit target
    except PlaywrightTimeout as exc:
        pytest.fail(f"{viewport}: 'Zertifikat ausstellen' cannot be tapped: {str(exc)[-300:]}; "
                    f"also {problems}; measured {figures}")
    page.wait_for_url("**/result/**")
    uvci = page.url.split("/result/", 1)[1]

    qr = page.locator("img#qr")
    expect(qr).to_have_js_property("complete", True)
    page.evaluate("() => window.scrollTo(0, 0)")
    qr_box = qr.bounding_box()
    button = page.get_by_role("button", name="Beleg drucken")
    button_box = button.bounding_box()
    figures["qr_box"] = {k: round(v) for k, v in qr_box.items()}
    figures["print_button_box"] = {k: round(v) for k, v in button_box.items()}
    if not _inside(qr_box, width, height):
        problems.append(f"the QR is not all on the first screen: {figures['qr_box']}")
    if not _inside(button_box, width, height):
        problems.append(f"'Beleg drucken' is not on the first screen: {figures['print_button_box']}")
    _check_reflow(page, viewport, "result", width, figures, problems)
    png = _shot(page, viewport, "result")

    _nav(page, "Zertifikate", "/records")
    _check_reflow(page, viewport, "records", width, figures, problems)
    details = page.get_by_role("link", name="Details").first
    box = details.bounding_box()
    if box["width"] < MIN_TAP or box["height"] < MIN_TAP or details.evaluate(_HIT):
        problems.append(f"the records' Details link is not tappable: {box}")
    _nav(page, "Status", "/status")
    _check_reflow(page, viewport, "status", width, figures, problems)

    (ARTEFACTS / f"{viewport}-figures.json").write_text(json.dumps({**figures, "problems": problems}, indent=1))
    assert not problems, f"{viewport} {width}×{height}: {problems}; measured {figures}"

    hc1 = _decode(png)                                           # what the first screen shows is scannable
    (record,) = [r for r in devices.journal.search(None) if r.uvci == unquote(uvci)]
    assert hc1 == record.personal["hc1"]
    result = verify.verify(hc1, dscs=[software_signer.certificate], at=now)
    assert result.valid, result.errors
    assert result.type == "v"
    assert page.errors == []
