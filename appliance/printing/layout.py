"""The paper and the QR on it: the head's width in dots, text columns, and the QR that fits.

Pure: a python-escpos profile name and a paper width in, a :class:`Layout` out
(:func:`layout_for`); the same HC1 text and layout give the same matrix and raster.

The QR is printed as a raster image (``GS v 0``) by default, because many cheap
printers have no native QR. It is drawn from :func:`appliance.dcc.qr.qr_matrix` with a
whole number of printer dots per module, a 4-module quiet zone, and a symbol between
35 and 60 mm wide where the paper allows (:func:`qr_fit`, :func:`qr_raster`). Native QR
(``GS ( k``, :func:`print_native_qr`) is used only when asked for and the profile supports it.

Error correction: the screen uses ``[issue] qr_ecc``; on paper the level follows the
paper width (Q on 80 mm, M on 58 mm: :func:`default_ecc`) so that modules stay at least
3 dots (0.375 mm at 203 dpi) wide. When the symbol does not fit at that level, the next
lower level is tried.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from escpos.capabilities import get_profile
from escpos.constants import QR_ECLEVEL_L, QR_ECLEVEL_M, QR_ECLEVEL_Q, QR_ECLEVEL_H
from escpos.printer import Dummy
from PIL import Image

from appliance.dcc import qr
from appliance.errors import ConfigError, PrinterError

log = logging.getLogger(__name__)

QUIET_ZONE = 4                  #: modules of white around the QR
MIN_DOTS_PER_MODULE = 3         #: smaller modules do not scan reliably from thermal paper
QR_MIN_MM, QR_MAX_MM = 35.0, 60.0
NATIVE_QR_MAX_BYTES = 7089 - 3    #: GS ( k function 80 limit (Epson: k <= 7089 with 3 header bytes)
PRINTABLE_MM = {80: 72.0, 58: 48.0}   #: paper width -> printable width of the head
_ESC_LEVEL = {"L": QR_ECLEVEL_L, "M": QR_ECLEVEL_M, "Q": QR_ECLEVEL_Q, "H": QR_ECLEVEL_H}
_LOWER = {"H": "Q", "Q": "M", "M": "L"}


@dataclass(frozen=True)
class Layout:
    """Where the receipt goes: the head's width in dots, its resolution and text columns."""

    profile: str
    dots: int
    dpi: int
    columns: int
    native_qr_supported: bool


def default_ecc(paper_width_mm: int) -> str:
    """The printed QR's error correction: Q on 80 mm paper, M on narrower paper."""
    return "Q" if paper_width_mm >= 80 else "M"


def layout_for(profile: str, paper_width_mm: int) -> Layout:
    """The layout for a python-escpos profile name and a paper width (58 or 80 mm).

    :raises ConfigError: unknown profile, a profile without a known head width, or another paper width.
    """
    if paper_width_mm not in PRINTABLE_MM:
        raise ConfigError(f"[printer] paper_width_mm={paper_width_mm} is not supported; use 80 or 58")
    try:
        data = get_profile(profile).profile_data
    except KeyError:
        raise ConfigError(f"[printer] profile={profile!r} is not a python-escpos printer profile; "
                          "use e.g. TM-T20II, TM-T88V or POS-5890 (58 mm)") from None
    media = data.get("media", {})
    pixels = media.get("width", {}).get("pixels")
    if not isinstance(pixels, int):
        raise ConfigError(f"[printer] profile={profile!r} has no known print width; "
                          "pick a profile with a width, e.g. TM-T20II or POS-5890")
    dpi = media.get("dpi") if isinstance(media.get("dpi"), int) else 203
    paper_dots = round(PRINTABLE_MM[paper_width_mm] / 25.4 * dpi / 8) * 8
    dots = min(pixels, paper_dots)
    font_columns = data.get("fonts", {}).get("0", {}).get("columns", 42)
    columns = max(16, min(font_columns, dots // 12))          # Font A is 12 dots wide
    return Layout(profile, dots, dpi, columns, bool(data.get("features", {}).get("qrCode")))


def qr_fit(hc1: str, layout: Layout, ecc: str) -> tuple[list[list[bool]], str, int]:
    """The QR matrix, its level and the dots per module that fit ``layout``.

    Picks the largest whole number of dots per module with the symbol at most 60 mm and
    symbol plus quiet zone inside the head; lowers the level when even the minimum does
    not fit. :raises PrinterError: the text does not fit on this paper at any level.
    """
    max_symbol = int(QR_MAX_MM / 25.4 * layout.dpi)
    level = ecc
    while True:
        matrix = qr.qr_matrix(hc1, ecc=level)
        n = len(matrix)
        scale = min(max_symbol // n, layout.dots // (n + 2 * QUIET_ZONE))
        if scale >= MIN_DOTS_PER_MODULE:
            if n * scale < QR_MIN_MM / 25.4 * layout.dpi:
                log.info("receipt QR is %.0f mm wide (under %d mm)", n * scale / layout.dpi * 25.4, QR_MIN_MM)
            if level != ecc:
                log.warning("receipt QR printed at level %s instead of %s to fit %d dots", level, ecc, layout.dots)
            return matrix, level, scale
        if level not in _LOWER:
            raise PrinterError(f"the certificate is too large for a readable QR code on this paper "
                               f"({n} modules, {layout.dots} dots); use 80 mm paper")
        level = _LOWER[level]


def qr_raster(matrix: list[list[bool]], scale: int, width: int | None = None) -> Image.Image:
    """A 1-bit image of the matrix with the quiet zone, ``scale`` dots per module.

    With ``width`` the symbol is centred on a white strip that wide (the printable width of
    the paper, which may be narrower than the profile's head: python-escpos would centre on the head).
    """
    n = len(matrix) + 2 * QUIET_ZONE
    pixels = bytearray(b"\xff" * (n * n))
    for y, row in enumerate(matrix):
        base = (y + QUIET_ZONE) * n + QUIET_ZONE
        for x, dark in enumerate(row):
            if dark:
                pixels[base + x] = 0
    image = Image.frombytes("L", (n, n), bytes(pixels)).resize((n * scale, n * scale), Image.Resampling.NEAREST)
    if width is not None and width > image.width:
        strip = Image.new("L", (width, image.height), 255)
        strip.paste(image, ((width - image.width) // 2, 0))
        image = strip
    return image.convert("1")


def print_native_qr(p: Dummy, hc1: str, layout: Layout, level: str) -> None:
    """``GS ( k``: the printer draws the QR itself at exactly ``level`` (no fallback)."""
    if not layout.native_qr_supported:
        raise PrinterError(f"printer profile {layout.profile!r} has no native QR; "
                           "set [printer] native_qr = false to print the QR as an image")
    n = len(qr.qr_matrix(hc1, ecc=level))
    scale = min(16, int(QR_MAX_MM / 25.4 * layout.dpi) // n, layout.dots // (n + 2 * QUIET_ZONE))
    if len(hc1) > NATIVE_QR_MAX_BYTES or scale < MIN_DOTS_PER_MODULE:
        raise PrinterError(f"the certificate is too large for the printer's native QR on "
                           f"{layout.dots}-dot paper ({len(hc1)} characters, {n} modules at level {level}); "
                           "set [printer] native_qr = false to print the QR as an image")
    p.set(align="center")
    p.qr(hc1, ec=_ESC_LEVEL[level], size=scale, native=True)
    p.ln()
