"""QR rendering of ``HC1:`` text: SVG for the screen, PNG for print, a matrix for the printer.

The hcert spec (section 4.2.2) requires the alphanumeric mode and recommends error
correction level Q. The whole text is one alphanumeric segment, the level is
exactly the one asked for (never boosted), and the quiet zone is ``border``
modules wide (4 by default, as ISO/IEC 18004 asks).

The symbol itself comes from zxing-cpp's writer (libzint, C). Figures measured on
the 2-core build machine for a 600-character ``HC1:`` text (version 19, level Q),
median ms per call:

==========================  =====  =====  ======
library                     SVG    PNG    matrix
==========================  =====  =====  ======
zxing-cpp 3.1 (raw writer)  6.3    -      1.8
this module (zxing-cpp)     3.1    4.2    2.2
segno 1.6                   26.1   28.4   23.9
qrcode 8.2                  45.1   37.6   30.3
==========================  =====  =====  ======

segno and qrcode are pure Python and spend most of the time choosing the mask;
only zxing-cpp meets the 20 ms goal. SVG and PNG are drawn here from the module
matrix, so the quiet zone and scale are ours: zint's own SVG is one ``rect`` per
module (slower, larger) and its quiet zone is fixed; its PNG path needs numpy.
``tests/codec/test_qr.py`` checks against segno that the symbol is exactly the
one-segment alphanumeric encoding at the requested level.
"""

from __future__ import annotations

import io
import logging

import zxingcpp
from PIL import Image

from appliance.errors import InvalidInput

log = logging.getLogger(__name__)

#: The QR alphanumeric character set (ISO/IEC 18004 table 5); Base45 uses exactly these.
ALPHANUMERIC = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")
ECC_LEVELS = ("L", "M", "Q", "H")


def _check(text: str, ecc: str, scale: int = 1, border: int = 0) -> None:
    if ecc not in ECC_LEVELS:
        raise InvalidInput({"ecc": f"QR error correction must be one of {', '.join(ECC_LEVELS)}, not {ecc!r}"})
    if not text:
        raise InvalidInput({"text": "nothing to put into the QR code"})
    bad = set(text) - ALPHANUMERIC
    if bad:
        raise InvalidInput({"text": "the QR text must use only the QR alphanumeric characters "
                                    "(0-9, A-Z, space, $%*+-./:), as HC1 text does"})
    if scale < 1 or border < 0:
        raise InvalidInput({"scale": "scale must be >= 1 and border >= 0"})


def qr_matrix(text: str, *, ecc: str = "Q") -> list[list[bool]]:
    """The QR modules, row by row, ``True`` = dark, without quiet zone.

    :raises InvalidInput: for a level outside L/M/Q/H or text outside the alphanumeric set.
    """
    _check(text, ecc)
    try:
        symbol = zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.QRCode, ec_level=ecc)
    except ValueError as exc:  # zint: data too long for version 40
        raise InvalidInput({"text": f"too long for a QR code at level {ecc} ({len(text)} characters)"}) from exc
    image = memoryview(symbol.to_image(scale=1, add_quiet_zones=False))
    size = image.shape[0]
    raw = image.tobytes()
    return [[raw[y * size + x] == 0 for x in range(size)] for y in range(size)]


def qr_svg(text: str, *, ecc: str = "Q", scale: int = 4, border: int = 4) -> str:
    """An SVG document; one module is ``scale`` px, with a ``border``-module quiet zone."""
    _check(text, ecc, scale, border)
    matrix = qr_matrix(text, ecc=ecc)
    full = len(matrix) + 2 * border
    parts = []
    for y, row in enumerate(matrix):
        x = 0
        while x < len(row):
            if row[x]:
                start = x
                while x < len(row) and row[x]:
                    x += 1
                parts.append(f"M{start + border} {y + border}h{x - start}v1h-{x - start}z")
            else:
                x += 1
    px = full * scale
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{px}" height="{px}" '
            f'viewBox="0 0 {full} {full}" shape-rendering="crispEdges" role="img" aria-label="QR code">'
            f'<rect width="{full}" height="{full}" fill="#fff"/>'
            f'<path fill="#000" d="{"".join(parts)}"/></svg>')


def qr_image(text: str, *, ecc: str = "Q", scale: int = 4, border: int = 4) -> Image.Image:
    """A 1-bit PIL image of the symbol (for the receipt renderer)."""
    _check(text, ecc, scale, border)
    matrix = qr_matrix(text, ecc=ecc)
    size = len(matrix)
    full = size + 2 * border
    pixels = bytearray(b"\xff" * (full * full))
    for y, row in enumerate(matrix):
        base = (y + border) * full + border
        for x, dark in enumerate(row):
            if dark:
                pixels[base + x] = 0
    image = Image.frombytes("L", (full, full), bytes(pixels))
    if scale > 1:
        image = image.resize((full * scale, full * scale), Image.Resampling.NEAREST)
    return image.convert("1")


def qr_png(text: str, *, ecc: str = "Q", scale: int = 4, border: int = 4) -> bytes:
    """PNG bytes (1 bit per pixel) of the symbol with its quiet zone."""
    buf = io.BytesIO()
    qr_image(text, ecc=ecc, scale=scale, border=border).save(buf, format="PNG")
    return buf.getvalue()
