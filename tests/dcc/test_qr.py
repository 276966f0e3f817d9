"""QR rendering: decodes back, one alphanumeric segment at exactly the requested level, quiet zone."""

from __future__ import annotations

import io
import random
import xml.etree.ElementTree as ET

import pytest
import segno
import zxingcpp
from PIL import Image

from appliance.dcc import qr
from appliance.dcc.base45 import ALPHABET
from appliance.errors import InvalidInput


def hc1_text(n: int, seed: int = 7) -> str:
    rnd = random.Random(seed)
    return "HC1:" + "".join(rnd.choice(ALPHABET) for _ in range(n))


def matrix_image(matrix, border=4, scale=3) -> Image.Image:
    size = len(matrix) + 2 * border
    img = Image.new("L", (size, size), 255)
    for y, row in enumerate(matrix):
        for x, dark in enumerate(row):
            if dark:
                img.putpixel((x + border, y + border), 0)
    return img.resize((size * scale, size * scale), Image.Resampling.NEAREST)


@pytest.mark.parametrize("ecc", ["L", "M", "Q", "H"])
def test_matrix_is_the_alphanumeric_single_segment_symbol(ecc):
    text = hc1_text(600)
    matrix = qr.qr_matrix(text, ecc=ecc)
    read = zxingcpp.read_barcode(matrix_image(matrix))
    assert read.text == text and read.ec_level == ecc
    # segno builds the same symbol independently, forced to one alphanumeric segment, no boost,
    # with the mask zxing read: identical modules prove the mode, level and version.
    ref = segno.make_qr(text, error=ecc.lower(), mode="alphanumeric", boost_error=False,
                        mask=int(read.extra["DataMask"]))
    assert [[bool(m) for m in row] for row in ref.matrix] == matrix
    assert ref.designator == f"{read.extra['Version']}-{ecc}"


def test_png_decodes_back_with_quiet_zone():
    text = hc1_text(550)
    png = qr.qr_png(text, scale=3, border=4)
    img = Image.open(io.BytesIO(png))
    n = len(qr.qr_matrix(text))
    assert img.size == ((n + 8) * 3, (n + 8) * 3)
    assert all(img.getpixel((x, 5)) for x in range(img.size[0]))  # quiet zone rows are white
    assert zxingcpp.read_barcode(img).text == text


def test_svg_geometry_and_content():
    text = hc1_text(300)
    svg = qr.qr_svg(text, scale=5, border=2)
    root = ET.fromstring(svg)
    n = len(qr.qr_matrix(text))
    assert root.get("width") == str((n + 4) * 5) and root.get("viewBox") == f"0 0 {n + 4} {n + 4}"
    # rasterise the path runs and compare with the matrix
    matrix = [[False] * n for _ in range(n)]
    path = root.find("{http://www.w3.org/2000/svg}path").get("d")
    for part in path.split("z")[:-1]:
        xy, rest = part[1:].split("h", 1)
        x, y = map(int, xy.split())
        length = int(rest.split("v")[0])
        for i in range(length):
            matrix[y - 2][x - 2 + i] = True
    assert matrix == qr.qr_matrix(text)


@pytest.mark.parametrize(("kwargs", "field"), [({"ecc": "X"}, "ecc"), ({"scale": 0}, "scale")])
def test_bad_options_are_rejected(kwargs, field):
    with pytest.raises(InvalidInput) as err:
        qr.qr_svg("HC1:ABC", **kwargs)
    assert field in err.value.field_errors


def test_non_alphanumeric_text_is_rejected():
    with pytest.raises(InvalidInput):
        qr.qr_matrix("hc1:lower case")


def test_too_long_for_any_version_is_a_clear_error():
    with pytest.raises(InvalidInput) as err:
        qr.qr_matrix("A" * 5000, ecc="Q")
    assert "too long" in err.value.field_errors["text"]
