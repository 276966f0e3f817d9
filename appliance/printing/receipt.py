"""The paper receipt: ESC/POS bytes (and a PNG preview) for one issued certificate.

Pure: everything comes in as arguments (the certificate's DCC, the UVCI, the HC1 text,
the issue time, the centre name, the printer profile and paper width) and the same
inputs give the same bytes. Nothing here opens a printer.

The QR is printed as a raster image (``GS v 0``) by default, because many cheap
printers have no native QR. It is drawn from :func:`appliance.dcc.qr.qr_matrix` with a
whole number of printer dots per module, a 4-module quiet zone, and a symbol between
35 and 60 mm wide where the paper allows. Native QR (``GS ( k``) is used only when
asked for and the profile supports it.

Error correction: the screen uses ``[issue] qr_ecc``; on paper the level follows the
paper width (Q on 80 mm, M on 58 mm) so that modules stay at least 3 dots (0.375 mm at
203 dpi) wide. When the symbol does not fit at that level, the next lower level is tried.
"""

from __future__ import annotations

import logging
import textwrap
from dataclasses import dataclass
from datetime import datetime, timezone

from escpos.capabilities import NotSupported, get_profile
from escpos.constants import QR_ECLEVEL_L, QR_ECLEVEL_M, QR_ECLEVEL_Q, QR_ECLEVEL_H
from escpos.printer import Dummy
from PIL import Image

from appliance.dcc import model, qr, valuesets
from appliance.errors import ConfigError, PrinterError
from appliance.util import timefmt

log = logging.getLogger(__name__)

QUIET_ZONE = 4                  #: modules of white around the QR
MIN_DOTS_PER_MODULE = 3         #: smaller modules do not scan reliably from thermal paper
QR_MIN_MM, QR_MAX_MM = 35.0, 60.0
NATIVE_QR_MAX_BYTES = 7089 - 3    #: GS ( k function 80 limit (Epson: k <= 7089 with 3 header bytes)
PRINTABLE_MM = {80: 72.0, 58: 48.0}   #: paper width -> printable width of the head
_ESC_LEVEL = {"L": QR_ECLEVEL_L, "M": QR_ECLEVEL_M, "Q": QR_ECLEVEL_Q, "H": QR_ECLEVEL_H}
_LOWER = {"H": "Q", "Q": "M", "M": "L"}

TYPE_TITLES = {
    "v": ("Impfzertifikat", "Vaccination certificate"),
    "t": ("Testzertifikat", "Test certificate"),
    "r": ("Genesenenzertifikat", "Recovery certificate"),
}
#: on receipts of certificates signed with a LAB/TEST (or DEMO) DSC (:func:`appliance.dcc.dsc.is_test_dsc`)
TEST_BANNER = ("*** LAB/TEST ***", "Testzertifikat: in keiner App gültig", "Test certificate: valid in no app")
APP_HINT = ("QR-Code mit der CovPass-App oder der Corona-Warn-App scannen. / "
            "Scan the QR code with the CovPass app or the Corona-Warn-App.")


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


def _fmt_time(value: datetime | str, tz: str | None = None) -> str:
    """UTC (``2026-11-28 10:00 UTC``), or with ``tz`` the centre's local time with its offset
    (``28.11.2026 11:00 (UTC+01:00)``, :func:`appliance.util.timefmt.fmt_local`)."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    if tz:
        return timefmt.fmt_local(value, tz)
    return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _display(name: str, code: str) -> str:
    sets = valuesets.load()
    de, en = sets.display(name, code, "de"), sets.display(name, code, "en")
    return en if de == en else f"{de} / {en}"


def fact_lines(dcc: dict, tz: str | None = None) -> tuple[str, list[tuple[str, str]]]:
    """The certificate type letter and its key facts as (label, value) pairs, German / English."""
    p = model.person_values(dcc)
    name = ", ".join(x for x in (p["family_name"], p["given_name"]) if x)
    if not _printable(name):
        name = ""                  # e.g. CJK script: no printer code page has it; the ICAO form follows
    std = "<<".join(x for x in (p["family_name_standardised"], p["given_name_standardised"]) if x)
    facts = [("Name", name or std), ("", std if name else ""), ("Geburtsdatum / Date of birth", p["date_of_birth"])]
    kind, e = model.type_of(dcc), model.event_values(dcc)
    if kind == "v":
        facts += [("Impfstoff / Vaccine", _display("vaccine-medicinal-product", e["product"])),
                  ("Dosis / Dose", f"{e['dose_number']}/{e['total_doses']}"),
                  ("Impfdatum / Date of vaccination", e["date"])]
    elif kind == "t":
        facts += [("Testart / Test type", _display("test-type", e["test_type"])),
                  ("Ergebnis / Result", _display("test-result", e["result"])),
                  ("Probenahme / Sample time", _fmt_time(e["sample_time"], tz))]
        if e["test_device"]:
            facts.append(("Test", _display("test-manf", e["test_device"])))
        elif e["test_name"]:
            facts.append(("Test", e["test_name"]))
    elif kind == "r":
        facts += [("Erster positiver Test / First positive test", e["first_positive"]),
                  ("Gültig ab / Valid from", e["valid_from"]),
                  ("Gültig bis / Valid until", e["valid_until"])]
    else:
        raise PrinterError("the certificate has no vaccination, test or recovery entry; nothing to print")
    facts.append(("Land / Country", _display("country-2-codes", e["country"])))
    return kind, [(label, str(value)) for label, value in facts if value]


#: code pages ESC/POS printers commonly have (python-escpos switches between them per character)
CODE_PAGES = ("cp437", "cp850", "cp852", "cp857", "cp858", "cp866", "cp737", "cp775", "cp1258")


def _printable(text: str) -> bool:
    """Every character is in one of the printers' code pages (else escpos would print garbage)."""
    def known(ch: str) -> bool:
        for page in CODE_PAGES:
            try:
                ch.encode(page)
                return True
            except UnicodeEncodeError:
                continue
        return False
    return all(known(ch) for ch in text)


def test_banner(test_dsc: bool, columns: int) -> list[str]:
    """The LAB/TEST lines of a receipt (none for a production DSC)."""
    return [ln for part in TEST_BANNER for ln in textwrap.wrap(part, columns)] if test_dsc else []


def receipt_lines(*, dcc: dict, uvci: str, issued_at: datetime, centre: str, columns: int,
                  test_dsc: bool = False, tz: str | None = None) -> tuple[list[str], list[str]]:
    """The receipt's text as lines (for the preview): those above the QR and those below it."""
    kind, facts = fact_lines(dcc, tz)
    head = [centre, *TYPE_TITLES[kind], *test_banner(test_dsc, columns), "EU Digital COVID Certificate", ""]
    body = [ln for label, value in facts for ln in _text_block(label, value, columns)]
    tail = (textwrap.wrap(uvci, columns, break_on_hyphens=False)
            + _text_block("Ausgestellt / Issued", _fmt_time(issued_at, tz), columns) + [""]
            + textwrap.wrap(APP_HINT, columns))
    return head + body, tail


def _text_block(label: str, value: str, columns: int) -> list[str]:
    lines = textwrap.wrap(label, columns) if label else []
    return lines + textwrap.wrap(value, columns, initial_indent="  ", subsequent_indent="  ")


def build_receipt(*, dcc: dict, uvci: str, hc1: str, issued_at: datetime, centre: str, profile: str,
                  paper_width_mm: int, native_qr: bool = False, ecc: str | None = None,
                  test_dsc: bool = False, tz: str | None = None) -> bytes:
    """The ESC/POS bytes of one receipt (rendered with python-escpos's ``Dummy``); ``test_dsc``:
    the certificate was signed with a LAB/TEST DSC, and the receipt says so under the title;
    ``tz``: times in the centre's time zone with the offset (``[device] timezone``), else UTC.

    :raises ConfigError: unknown profile or paper width.
    :raises PrinterError: the QR does not fit, or native QR was asked for on a profile without it.
    """
    layout = layout_for(profile, paper_width_mm)
    level = ecc or default_ecc(paper_width_mm)
    kind, facts = fact_lines(dcc, tz)
    matrix, level, scale = (None, level, 0) if native_qr else qr_fit(hc1, layout, level)
    p = Dummy(profile=profile)
    try:
        p.hw("INIT")
        p.set(align="center", bold=True, double_height=True)
        for line in textwrap.wrap(centre, layout.columns) or [""]:
            p.textln(line)
        p.set(align="center", bold=True, normal_textsize=True)
        for title in TYPE_TITLES[kind]:
            p.textln(title)
        for line in test_banner(test_dsc, layout.columns):
            p.textln(line)
        p.set(align="left", bold=False, normal_textsize=True)
        p.textln("EU Digital COVID Certificate")
        p.textln("-" * layout.columns)
        for label, value in facts:
            for line in _text_block(label, value, layout.columns):
                p.textln(line)
        p.ln()
        if native_qr:
            _native_qr(p, hc1, layout, ecc or default_ecc(paper_width_mm))
        else:
            p.image(qr_raster(matrix, scale, layout.dots))
        p.set(align="center", normal_textsize=True)
        for line in textwrap.wrap(uvci, layout.columns, break_on_hyphens=False) or [""]:
            p.textln(line)
        p.set(align="left")
        for line in _text_block("Ausgestellt / Issued", _fmt_time(issued_at, tz), layout.columns):
            p.textln(line)
        p.ln()
        for line in textwrap.wrap(APP_HINT, layout.columns):
            p.textln(line)
        p.cut()
        return p.output
    except NotSupported as exc:
        raise PrinterError(f"printer profile {profile!r} cannot print this receipt: {exc}") from None
    finally:
        p.close()


def build_test_page(*, centre: str, profile: str, paper_width_mm: int, native_qr: bool = False,
                    ecc: str | None = None) -> bytes:
    """A test print for technicians: the layout, the width ruler and a QR as large as a typical HC1.

    The QR holds no certificate (``TEST PRINT`` and filler), so nothing valid is ever printed by a test.
    """
    layout = layout_for(profile, paper_width_mm)
    level = ecc or default_ecc(paper_width_mm)
    text = ("TEST PRINT " + "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ" * 17)[:600]
    p = Dummy(profile=profile)
    try:
        p.hw("INIT")
        p.set(align="center", bold=True, double_height=True)
        p.textln("Testdruck / Test print")
        p.set(align="center", bold=False, normal_textsize=True)
        for line in textwrap.wrap(centre, layout.columns) or [""]:
            p.textln(line)
        p.textln(f"{profile}, {paper_width_mm} mm, {layout.dots} dots, {layout.columns} columns")
        p.set(align="left")
        p.textln("".join(str(i % 10) for i in range(1, layout.columns + 1)))
        if native_qr:
            _native_qr(p, text, layout, level)
        else:
            matrix, level, scale = qr_fit(text, layout, level)
            p.image(qr_raster(matrix, scale, layout.dots))
            p.textln(f"QR {len(matrix)}x{len(matrix)} level {level}, {scale} dots/module, "
                     f"{len(matrix) * scale / layout.dpi * 25.4:.0f} mm")
        p.cut()
        return p.output
    except NotSupported as exc:
        raise PrinterError(f"printer profile {profile!r} cannot print the test page: {exc}") from None
    finally:
        p.close()


def _native_qr(p: Dummy, hc1: str, layout: Layout, level: str) -> None:
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
