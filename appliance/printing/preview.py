"""The receipt's PNG preview (the file printer of demos and tests keeps one beside each receipt).

Pure, like :mod:`appliance.printing.receipt`: the same lines as the paper, the raster QR, head-wide.
The text is drawn with DejaVu Sans Mono from Debian's ``fonts-dejavu-core`` (``make test`` and the
install script install it), which has every letter of the printer's code pages (ä, ß, Ł, Я ...).
Without it the preview falls back to Pillow's built-in font, which lacks them, and logs so once.
"""

from __future__ import annotations

import functools
import io
import logging
from datetime import datetime
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from appliance.printing.receipt import default_ecc, layout_for, qr_fit, qr_raster, receipt_lines

log = logging.getLogger(__name__)

#: Debian's fonts-dejavu-core (the first that exists is used)
FONT_FILES = (Path("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"),
              Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"))
MARGIN = 8


@functools.lru_cache(maxsize=8)
def preview_font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """DejaVu at ``size`` pixels; Pillow's default font (no umlauts) when DejaVu is not installed."""
    for path in FONT_FILES:
        if path.is_file():
            return ImageFont.truetype(str(path), size=size)
    log.warning("receipt preview: DejaVu is not installed (apt-get install fonts-dejavu-core); "
                "previews draw umlauts as boxes")
    return ImageFont.load_default(size=size)


def font_size(dots: int, columns: int) -> int:
    """A size whose monospaced columns fill the head: DejaVu Sans Mono is 0.6 em wide."""
    return max(12, int((dots - 2 * MARGIN) / columns / 0.6))


def line_step(font) -> int:
    return font.getbbox("Hgjü")[3] + 6


def preview_lines(*, dcc: dict, uvci: str, hc1: str, issued_at: datetime, centre: str, profile: str,
                  paper_width_mm: int, ecc: str | None = None, test_dsc: bool = False,
                  tz: str | None = None) -> list[str]:
    """Every text line of the preview, in order (the QR sits between the two parts)."""
    layout = layout_for(profile, paper_width_mm)
    above, below = receipt_lines(dcc=dcc, uvci=uvci, issued_at=issued_at, centre=centre,
                                 columns=layout.columns, test_dsc=test_dsc, tz=tz)
    return above + below


def receipt_preview_png(*, dcc: dict, uvci: str, hc1: str, issued_at: datetime, centre: str,
                        profile: str, paper_width_mm: int, ecc: str | None = None, test_dsc: bool = False,
                        tz: str | None = None) -> bytes:
    """A PNG of roughly what the receipt looks like: text lines and the raster QR, head-wide."""
    layout = layout_for(profile, paper_width_mm)
    above, below = receipt_lines(dcc=dcc, uvci=uvci, issued_at=issued_at, centre=centre,
                                 columns=layout.columns, test_dsc=test_dsc, tz=tz)
    matrix, _level, scale = qr_fit(hc1, layout, ecc or default_ecc(paper_width_mm))
    font = preview_font(font_size(layout.dots, layout.columns))
    step = line_step(font)
    code = qr_raster(matrix, scale)
    page = Image.new("L", (layout.dots, step * (len(above) + len(below) + 2) + code.height + 20), 255)
    draw = ImageDraw.Draw(page)
    y = 10
    for line in above:
        draw.text((MARGIN, y), line, fill=0, font=font)
        y += step
    y += step
    page.paste(code.convert("L"), ((layout.dots - code.width) // 2, y))
    y += code.height
    for line in below:
        draw.text((MARGIN, y), line, fill=0, font=font)
        y += step
    buf = io.BytesIO()
    page.save(buf, format="PNG")
    return buf.getvalue()
