"""Receipts rendered to ESC/POS bytes, parsed back, the QR decoded and verified."""

from __future__ import annotations

import io

import pytest
import zxingcpp
from PIL import Image
from pyzbar import pyzbar

from appliance.dcc.verify import verify
from appliance.errors import ConfigError, PrinterError
from appliance.printing.preview import receipt_preview_png
from appliance.printing.receipt import build_receipt, build_test_page
from tests.support import escpos_parse

PRINTERS = [  # (profile, paper mm, head dots, dpi)
    ("TM-T20II", 80, 576, 203),
    ("TM-T88V", 80, 512, 180),
    ("POS-5890", 58, 384, 203),
]


def render(cert, profile="TM-T20II", width=80, **kw) -> bytes:
    return build_receipt(dcc=cert["dcc"], uvci=cert["uvci"], hc1=cert["hc1"], issued_at=cert["issued_at"],
                         centre="Impfzentrum Musterstadt", profile=profile, paper_width_mm=width, **kw)


def decode_both(image: Image.Image) -> tuple[str, str, str]:
    z = zxingcpp.read_barcodes(image)
    b = pyzbar.decode(image)
    assert len(z) == 1 and len(b) == 1, "exactly one QR on the receipt"
    return z[0].text, b[0].data.decode("ascii"), z[0].ec_level


def module_dots(image: Image.Image) -> tuple[int, tuple[int, int, int, int]]:
    """The width of a module in dots (from the 7-module finder pattern) and the dark bounding box."""
    gray = image.convert("L")
    box = Image.eval(gray, lambda v: 255 - v).getbbox()
    left, top, right, _ = box
    run = 0
    while gray.getpixel((left + run, top)) < 128:
        run += 1
    assert run % 7 == 0, "the finder pattern is a whole number of dots per module"
    return run // 7, box


@pytest.mark.parametrize("profile,width,dots,dpi", PRINTERS)
@pytest.mark.parametrize("kind", ["v", "t", "r"])
def test_raster_qr_decodes_and_verifies(certificate, software_signer, now, kind, profile, width, dots, dpi):
    cert = certificate(kind)
    data = render(cert, profile, width)
    images = escpos_parse.rasters(data)
    assert len(images) == 1 and not escpos_parse.native_qr(data)
    image = images[0]
    assert image.width <= dots
    z_text, b_text, level = decode_both(image)
    assert z_text == b_text == cert["hc1"]
    assert level == ("Q" if width == 80 else "M")
    result = verify(z_text, dscs=[software_signer.certificate], at=now)
    assert result.valid, result.errors
    assert result.payload["nam"] == cert["dcc"]["nam"]

    k, (left, top, right, bottom) = module_dots(image)
    assert k >= 3
    symbol_mm = (right - left) / dpi * 25.4
    assert 35 <= symbol_mm <= 60
    assert (right - left) % k == 0
    assert left >= 4 * k and top >= 4 * k, "a quiet zone of 4 modules"
    assert image.width - right >= 4 * k and image.height - bottom >= 4 * k


@pytest.mark.parametrize("kind,expected", [
    ("v", ["Impfzertifikat", "Vaccination certificate", "Dose", "3/3", "2021-06-11", "Spikevax"]),
    ("t", ["Testzertifikat", "Test certificate", "Rapid", "Not detected", "2021-06-11 17:30 UTC"]),
    ("r", ["Recovery certificate", "Valid from", "2021-06-12", "Valid until", "2021-11-28"]),
])
@pytest.mark.parametrize("profile,width", [("TM-T20II", 80), ("POS-5890", 58)])
def test_receipt_text(certificate, kind, expected, profile, width):
    cert = certificate(kind)
    data = render(cert, profile, width)
    text = escpos_parse.text(data)
    words = " ".join(text.split())
    for needle in ["Impfzentrum Musterstadt", "Smith-Jones, Charles Edward", "SMITH<JONES<<CHARLES<EDWARD",
                   "1964-01-01", "Issued", "2026-11-28 10:00 UTC", "CovPass", "Corona-Warn-", *expected]:
        assert needle in words, needle
    assert cert["uvci"] in text.replace("\n", "")
    columns = 48 if width == 80 else 32
    assert max(len(line) for line in text.splitlines()) <= columns


def test_same_inputs_same_bytes(certificate, now):
    cert = certificate("v")
    assert render(cert) == render(cert)
    later = dict(cert, issued_at=now.replace(hour=11))
    assert render(later) != render(cert)


def test_native_qr_carries_the_hc1(certificate):
    cert = certificate("v")
    data = render(cert, native_qr=True)
    assert escpos_parse.native_qr(data) == [cert["hc1"]]
    assert not escpos_parse.rasters(data)
    params = {e.fn: e.data for e in escpos_parse.parse(data) if e.kind == "qr_param"}
    assert params[69] == b"2"                     # level Q (48 + 2)
    size = params[67][0]
    assert 3 <= size <= 16


def test_native_qr_refused_where_the_profile_has_none(certificate):
    with pytest.raises(PrinterError, match="native_qr = false"):
        render(certificate("v"), "POS-5890", 58, native_qr=True)


def test_native_qr_too_large_is_a_clear_error(certificate):
    cert = certificate("v")
    big = dict(cert, hc1="HC1:" + "6BF" * 600)    # 1804 characters: no readable native QR on 58 mm
    with pytest.raises(PrinterError, match="too large for the printer's native QR"):
        render(big, "Sunmi-V2", 58, native_qr=True)


def test_qr_too_large_for_paper(certificate):
    cert = dict(certificate("v"), hc1="HC1:" + "6BF" * 1000)
    with pytest.raises(PrinterError, match="too large"):
        render(cert, "POS-5890", 58)


@pytest.mark.parametrize("profile,match", [("NO-SUCH-PRINTER", "not a python-escpos printer profile"),
                                           ("default", "no known print width")])
def test_bad_profile(certificate, profile, match):
    with pytest.raises(ConfigError, match=match):
        render(certificate("v"), profile)


def test_bad_paper_width(certificate):
    with pytest.raises(ConfigError, match="paper_width_mm"):
        render(certificate("v"), width=76)


@pytest.mark.parametrize("profile,width,dots", [("TM-T20II", 80, 576), ("POS-5890", 58, 384)])
def test_preview_png(certificate, profile, width, dots):
    cert = certificate("t")
    png = receipt_preview_png(dcc=cert["dcc"], uvci=cert["uvci"], hc1=cert["hc1"], issued_at=cert["issued_at"],
                              centre="Testzentrum", profile=profile, paper_width_mm=width)
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.width == dots
    assert decode_both(image)[0] == cert["hc1"]


def test_test_page_has_no_certificate():
    data = build_test_page(centre="Impfzentrum", profile="TM-T20II", paper_width_mm=80)
    [image] = escpos_parse.rasters(data)
    decoded = decode_both(image)[0]
    assert decoded.startswith("TEST PRINT") and not decoded.startswith("HC1:")
    assert "Test print" in escpos_parse.text(data)


@pytest.mark.parametrize("fn,gn,original_printed", [("Müller", "Łucja", True), ("Иванова", "Анна", True),
                                                    ("王", "小明", False)])
def test_names_outside_printer_code_pages_print_in_icao_form(certificate, fn, gn, original_printed):
    cert = certificate("v")
    cert["dcc"]["nam"].update(fn=fn, gn=gn, fnt="WANG", gnt="XIAOMING")
    data = render(cert)
    text = escpos_parse.text(data)
    assert "WANG<<XIAOMING" in text
    events = escpos_parse.parse(data)
    name_bytes = b"".join(e.data for e in events if e.kind == "text")
    assert (", " in text.split("Name\n", 1)[1].splitlines()[0]) is original_printed
    if not original_printed:
        assert "王".encode("gb18030") not in name_bytes


def test_58mm_paper_in_an_80mm_printer_stays_inside_the_paper(certificate):
    cert = certificate("v")
    data = render(cert, "TM-T20II", 58)
    [image] = escpos_parse.rasters(data)
    assert image.width <= 384
    assert decode_both(image)[0] == cert["hc1"]
    assert max(len(line) for line in escpos_parse.text(data).splitlines()) <= 32
