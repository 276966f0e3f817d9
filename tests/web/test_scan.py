"""Camera scanning on the verify page in Debian's Chromium (Playwright): the jsQR fallback for
browsers without BarcodeDetector (iPad Safari, Firefox).

Decodes a real HC1's QR (appliance.qr.qr_png as a data: URL drawn into a canvas) with the very
function the scan loop uses per frame (window.applianceScan.decodeImageData); scans the same QR
from Chromium's fake camera end to end (button -> camera -> jsQR -> form submitted -> verdict);
checks that the vendored jsQR is served from the appliance itself, only on the verify page,
under a CSP without 'unsafe-inline', and that the page still works without JavaScript.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest

from appliance import web
from appliance.dcc import qr
from tests.support import browser
from tests.support.browser import sign_in
from tests.support.web import FORMS, review_token

pytestmark = [pytest.mark.browser]

STATIC = Path(web.__file__).resolve().parent / "static"
W, H = 640, 480                                      # the fake camera's frame size
CAMERA_ARGS = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]

#: the page-side helper: data: URL -> <img> -> <canvas> -> ImageData -> the scan's frame decoder
DECODE_JS = """async (url) => {
  const img = new Image();
  await new Promise((ok, fail) => { img.onload = ok; img.onerror = fail; img.src = url; });
  const canvas = document.createElement("canvas");
  canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
  const ctx = canvas.getContext("2d");
  ctx.drawImage(img, 0, 0);
  return window.applianceScan.decodeImageData(ctx.getImageData(0, 0, canvas.width, canvas.height));
}"""


@pytest.fixture(scope="module")
def camera_file(tmp_path_factory):
    """Where the fake camera reads its frames from (written by the test before it scans)."""
    return tmp_path_factory.mktemp("camera") / "camera.y4m"


@pytest.fixture(scope="module")
def chromium(camera_file):
    with browser.chromium([*CAMERA_ARGS, f"--use-file-for-fake-video-capture={camera_file}"]) as b:
        yield b


@pytest.fixture
def page(chromium, server):
    context, page = browser.new_page(chromium, server)
    # the fallback under test: a browser without BarcodeDetector, as iPad Safari and Firefox
    page.add_init_script("delete window.BarcodeDetector;")
    yield page
    context.close()


@pytest.fixture
def hc1(staff, devices):
    """A real HC1, issued through the app (Flask test client) that the browser's server serves."""
    form = FORMS["v"]
    review = staff.post("/issue/v/review", form)
    token = review_token(review.get_data(as_text=True))
    assert staff.post("/issue/v/confirm", {**form, "token": token, "action": "issue"}).status_code == 303
    (record,) = devices.journal.search(None)
    text = record.personal["hc1"]
    assert text.startswith("HC1:")
    return text


def _data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _y4m(png: bytes) -> bytes:
    """A few grey frames of a QR code centred on white: YUV4MPEG2, 4:2:0, neutral chroma."""
    import io

    from PIL import Image
    code = Image.open(io.BytesIO(png)).convert("L")
    assert code.width <= W and code.height <= H, code.size
    frame = Image.new("L", (W, H), 255)
    frame.paste(code, ((W - code.width) // 2, (H - code.height) // 2))
    chroma = bytes([128]) * ((W // 2) * (H // 2) * 2)
    one = b"FRAME\n" + frame.tobytes() + chroma
    return f"YUV4MPEG2 W{W} H{H} F10:1 Ip A1:1 C420jpeg\n".encode("ascii") + one * 10


def _wait_for_decoder(page):
    page.wait_for_function("typeof window.jsQR === 'function' && !!window.applianceScan")


def test_the_frame_decoder_reads_a_real_hc1(page, hc1):
    sign_in(page)
    page.goto(page.base + "/verify")
    _wait_for_decoder(page)
    assert page.evaluate("'BarcodeDetector' in window") is False
    assert page.locator("#scan").is_visible()                    # the fallback offers the scan button
    assert page.evaluate(DECODE_JS, _data_url(qr.qr_png(hc1))) == hc1
    assert page.evaluate(DECODE_JS, _data_url(qr.qr_png(hc1, scale=2))) == hc1
    blank = "() => window.applianceScan.decodeImageData(new ImageData(64, 64))"
    assert page.evaluate(blank) is None                          # no code in the frame -> nothing
    assert page.errors == []                                     # no CSP violations, no JS errors


def test_scanning_with_the_camera_verifies_the_certificate(page, hc1, camera_file):
    camera_file.write_bytes(_y4m(qr.qr_png(hc1, scale=3, border=4)))
    page.context.grant_permissions(["camera"], origin=page.base)
    sign_in(page)
    page.goto(page.base + "/verify")
    _wait_for_decoder(page)
    page.get_by_role("button", name="Mit Kamera scannen").click()
    page.locator("h2.verdict").wait_for(timeout=20_000)          # the form was submitted
    assert page.locator("h2.verdict").get_attribute("class") == "verdict ok"
    assert page.locator("h2.verdict").text_content() == "Gültig"
    assert page.locator("#hc1").input_value() == hc1
    assert page.locator("#camera").is_hidden()                   # the camera was stopped
    assert page.errors == []


def test_jsqr_is_vendored_served_only_on_the_verify_page_and_csp_stays_strict(page):
    sign_in(page)
    resp = page.goto(page.base + "/verify")
    csp = resp.headers["content-security-policy"]
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
    assert re.search(r"(^|;)\s*script-src 'self'\s*(;|$)", csp), csp
    html = page.content()
    scripts = re.findall(r"<script\b[^>]*>", html)
    assert scripts and all(re.search(r'\ssrc="/static/', s) for s in scripts), scripts   # no inline script
    assert any("/static/vendor/jsQR.js" in s for s in scripts)
    js = page.request.get(page.base + "/static/vendor/jsQR.js")
    assert js.status == 200 and "javascript" in js.headers["content-type"]
    assert js.body() == (STATIC / "vendor" / "jsQR.js").read_bytes()
    assert "'unsafe-inline'" not in js.headers.get("content-security-policy", "")
    for other in ("/", "/issue/v", "/records"):
        page.goto(page.base + other)
        assert "vendor/jsQR.js" not in page.content(), other
    assert page.errors == []


def test_the_verify_page_works_without_javascript(chromium, server, hc1):
    context, page = browser.new_page(chromium, server, java_script_enabled=False)
    try:
        sign_in(page)
        page.goto(page.base + "/verify")
        assert page.locator("#scan").is_hidden()
        page.get_by_label("HC1").fill(hc1)
        page.get_by_role("button", name="Prüfen").click()
        page.locator("h2.verdict").wait_for()
        assert page.locator("h2.verdict").text_content() == "Gültig"
    finally:
        context.close()
