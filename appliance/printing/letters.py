"""Letters by post: one A4 page per person, the certificate in its printed form, as PDF.

Pure: :func:`render_pdf` turns :class:`Letter` values into PDF bytes, the same bytes for the
same letters (reportlab's invariant mode: no creation time, a fixed document id), so a batch
run again reproduces its print files exactly. Nothing here reads the clock or the journal.

Layout (DIN 5008 form B, for a DL or C5/6 window envelope): the address in the window
field 20 mm from the left and 45 mm from the top (85 x 45 mm: a return line in the 17.7 mm
remark zone, then up to six lines from 62.7 mm); fold marks at 105 and 210 mm, the punch
mark at 148.5 mm. The certificate sits in the middle third, between the folds, so no
fold runs through the QR: the QR at error correction Q, 60 mm wide (the issue asks for at
least 50), drawn as ONE vector path of whole-module rectangles; beside it the name, the
birth date and the certificate's facts in German and English; below it the UVCI, the
issuer and the centre, then the hint on the CovPass app and the Corona-Warn-App.

Fonts: DejaVu Sans (Debian's fonts-dejavu-core, Bitstream Vera licence) embedded as subsets.
Names in a script DejaVu lacks (e.g. CJK) are printed in their ICAO 9303 form.

PDF library: reportlab, chosen on figures measured with zxing-cpp's QR matrix on the 2-core
build machine (one letter with a 600-character HC1, 500 letters per file, ms per letter /
KiB per letter): reportlab public path API 6.9 / 12.4; reportlab with the QR as one literal
path (``Canvas.addLiteral``, public) 4.2 / 6.6; fpdf2 public ``rect`` 15.0 / 9.3; fpdf2 with
its private ``_out`` 4.2 / 6.6. ``appliance bench --only batch`` measures the comparison again.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path

from appliance.dcc import model, qr, valuesets
from appliance.errors import PrinterError

log = logging.getLogger(__name__)

MM = 72 / 25.4
PAGE_W, PAGE_H = 210 * MM, 297 * MM
QR_MM = 60.0                   #: the symbol's width without quiet zone
QR_ECC = "Q"
FONT_DIRS = ("/usr/share/fonts/truetype/dejavu",)
FONTS = {"DejaVu": "DejaVuSans.ttf", "DejaVu-Bold": "DejaVuSans-Bold.ttf", "DejaVu-Mono": "DejaVuSansMono.ttf"}
TITLES = {"v": ("Impfzertifikat", "Vaccination certificate"), "t": ("Testzertifikat", "Test certificate"),
          "r": ("Genesenenzertifikat", "Certificate of recovery")}
HINT_DE = ("Scannen Sie den QR-Code mit der CovPass-App oder der Corona-Warn-App, um das Zertifikat auf Ihrem "
           "Smartphone zu speichern. Bewahren Sie diesen Brief auf: Er ist Ihr Nachweis auf Papier.")
HINT_EN = ("Scan the QR code with the CovPass app or the Corona-Warn-App to store the certificate on your "
           "smartphone. Keep this letter: it is your proof on paper.")


@dataclass(frozen=True)
class Letter:
    """One person's letter: the committed certificate, the centre, and where it goes."""

    uvci: str
    hc1: str
    dcc: dict
    centre: str                                   #: the issuing centre, printed as sender
    issued_at: str = ""                           #: ISO 8601
    address: tuple[str, ...] = ()                 #: the window lines below the name; empty: no address
    return_line: str = ""
    extra: dict = field(default_factory=dict)


def font_paths() -> dict[str, Path]:
    """The DejaVu files; :class:`PrinterError` names the Debian package when they are missing."""
    found = {}
    for name, filename in FONTS.items():
        path = next((Path(d) / filename for d in FONT_DIRS if (Path(d) / filename).is_file()), None)
        if path is None:
            raise PrinterError(f"font {filename} not found in {', '.join(FONT_DIRS)}; "
                               "install Debian's fonts-dejavu-core")
        found[name] = path
    return found


def _register_fonts() -> None:
    # lazy: reportlab takes ~120 ms to import; only letter rendering needs it
    from reportlab.pdfbase import pdfmetrics
    # lazy: reportlab takes ~120 ms to import; only letter rendering needs it
    from reportlab.pdfbase.ttfonts import TTFont

    registered = set(pdfmetrics.getRegisteredFontNames())
    for name, path in font_paths().items():
        if name not in registered:
            pdfmetrics.registerFont(TTFont(name, str(path)))


def dark_runs(matrix: list[list[bool]]):
    """``(x, y, width)`` of every horizontal run of dark modules, row by row."""
    for y, row in enumerate(matrix):
        x, n = 0, len(row)
        while x < n:
            if row[x]:
                start = x
                while x < n and row[x]:
                    x += 1
                yield start, y, x - start
            else:
                x += 1


def qr_path_ops(matrix: list[list[bool]]) -> str:
    """The dark modules as PDF path operators in module units (``x y w 1 re`` per run), then fill."""
    return " ".join(f"{x} {y} {w} 1 re" for x, y, w in dark_runs(matrix)) + " f"


def _day(value: str) -> str:
    try:
        return date.fromisoformat(value[:10]).strftime("%d.%m.%Y") + value[10:]
    except (ValueError, TypeError):
        return value or ""


def _time(value: str) -> str:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        return value or ""
    return moment.astimezone(timezone.utc).strftime("%d.%m.%Y %H:%M UTC")


def _display(name: str, code: str) -> str:
    vs = valuesets.load()
    de, en = vs.display(name, code, "de"), vs.display(name, code, "en")
    return en if de == en else f"{de} / {en}"


def facts(dcc: dict) -> list[tuple[str, str]]:
    """The certificate's facts as (German / English label, value)."""
    kind, e = model.type_of(dcc), model.event_values(dcc)
    if kind == "v":
        out = [("Impfstoff / Vaccine", _display("vaccine-medicinal-product", e["product"])),
               ("Dosis / Dose", f"{e['dose_number']}/{e['total_doses']}"),
               ("Impfdatum / Date of vaccination", _day(e["date"]))]
    elif kind == "t":
        out = [("Testart / Test type", _display("test-type", e["test_type"])),
               ("Ergebnis / Result", _display("test-result", e["result"])),
               ("Probenahme / Sample collected", _time(e["sample_time"]))]
        if e["test_device"]:
            out.append(("Test / Test", _display("test-manf", e["test_device"])))
        if e["centre"]:
            out.append(("Testzentrum / Testing centre", e["centre"]))
    elif kind == "r":
        out = [("Erster positiver Test / First positive test", _day(e["first_positive"])),
               ("Gültig ab / Valid from", _day(e["valid_from"])),
               ("Gültig bis / Valid until", _day(e["valid_until"]))]
    else:
        raise PrinterError("the certificate has no vaccination, test or recovery entry; no letter")
    out.append(("Krankheit / Disease", "COVID-19"))
    out.append(("Land / Country", _display("country-2-codes", e["country"])))
    out.append(("Aussteller / Issuer", e["issuer"]))
    return out


def _covered(text: str, face) -> bool:
    widths = face.charWidths if hasattr(face, "charWidths") else {}
    return all(ord(ch) in widths or ch == " " for ch in text) if widths else True


def _lines(c, text: str, font: str, size: float, width: float) -> list[str]:
    # lazy: reportlab takes ~120 ms to import; only letter rendering needs it
    from reportlab.pdfbase.pdfmetrics import stringWidth

    words, lines, line = text.split(), [], ""
    for word in words:
        candidate = f"{line} {word}".strip()
        if stringWidth(candidate, font, size) <= width or not line:
            line = candidate
        else:
            lines.append(line)
            line = word
    return lines + ([line] if line else [])


def _page(c, letter: Letter, face) -> None:
    person = model.person_values(letter.dcc)
    name = " ".join(x for x in (person["given_name"], person["family_name"]) if x)
    std = "<<".join(x for x in (person["family_name_standardised"], person["given_name_standardised"]) if x)
    if not _covered(name, face):
        name = std.replace("<<", ", ").replace("<", " ")
    top = lambda mm: PAGE_H - mm * MM  # noqa: E731  (y from the top edge, in mm)
    c.setLineWidth(0.3)
    for mark, length in ((105, 5), (148.5, 8), (210, 5)):
        c.line(3 * MM, top(mark), (3 + length) * MM, top(mark))
    c.setFont("DejaVu-Bold", 13)
    c.drawString(25 * MM, top(20), letter.centre)
    c.setFont("DejaVu", 9)
    c.drawString(25 * MM, top(26), "EU-Digitales COVID-Zertifikat / EU Digital COVID Certificate")
    if letter.address:
        c.setFont("DejaVu", 7)
        c.drawString(25 * MM, top(58), letter.return_line or letter.centre)
        c.setFont("DejaVu", 10)
        for i, line in enumerate((name, *letter.address)[:6]):
            c.drawString(25 * MM, top(67.5 + i * 4.5), line)
    c.setFont("DejaVu", 9)
    if letter.issued_at:
        c.drawString(125 * MM, top(55), f"Datum / Date: {_day(letter.issued_at[:10])}")
    kind = model.type_of(letter.dcc) or "v"
    c.setFont("DejaVu-Bold", 12)
    c.drawString(20 * MM, top(112), f"{TITLES[kind][0]} / {TITLES[kind][1]}")
    matrix = qr.qr_matrix(letter.hc1, ecc=QR_ECC)
    module = QR_MM * MM / len(matrix)
    c.saveState()
    c.transform(module, 0, 0, -module, 20 * MM, top(118))
    c.addLiteral(qr_path_ops(matrix))
    c.restoreState()
    x, y = 88 * MM, 120
    c.setFont("DejaVu", 7.5)
    c.drawString(x, top(y), "Name / Name")
    c.setFont("DejaVu-Bold", 11)
    c.drawString(x, top(y + 4.5), name)
    c.setFont("DejaVu", 8)
    c.drawString(x, top(y + 8.5), std)
    y += 14
    for label, value in [("Geburtsdatum / Date of birth", _day(person["date_of_birth"])), *facts(letter.dcc)]:
        c.setFont("DejaVu", 7.5)
        c.drawString(x, top(y), label)
        c.setFont("DejaVu", 10)
        for line in _lines(c, value, "DejaVu", 10, 102 * MM)[:2]:
            y += 3.7
            c.drawString(x, top(y), line)
        y += 3.9
    c.setFont("DejaVu", 7.5)
    c.drawString(20 * MM, top(216), "Eindeutige Zertifikatkennung / Unique certificate identifier (UVCI)")
    c.setFont("DejaVu-Mono", 10)
    c.drawString(20 * MM, top(221), letter.uvci)
    c.setFont("DejaVu", 8)
    c.drawString(20 * MM, top(227), f"Ausgestellt von / Issued by: {letter.centre}")
    y = 238
    for text, size in ((HINT_DE, 9.5), (HINT_EN, 9.5)):
        c.setFont("DejaVu", size)
        for line in _lines(c, text, "DejaVu", size, 170 * MM):
            c.drawString(20 * MM, top(y), line)
            y += 4.6
        y += 3
    c.setFont("DejaVu", 7)
    c.drawString(20 * MM, top(285), "Dieses Schreiben wurde maschinell erstellt. / This letter was produced automatically.")


def render_pdf(letters: list[Letter], *, title: str = "Zertifikate / Certificates") -> bytes:
    """One A4 page per letter, in the given order (page n = ``letters[n - 1]``)."""
    from reportlab import rl_config  # lazy: reportlab takes ~120 ms to import; only letters need it
    # lazy: reportlab takes ~120 ms to import; only letter rendering needs it
    from reportlab.pdfbase import pdfmetrics
    # lazy: reportlab takes ~120 ms to import; only letter rendering needs it
    from reportlab.pdfgen import canvas

    if not letters:
        raise PrinterError("no letters to render")
    _register_fonts()
    a85, rl_config.useA85 = rl_config.useA85, 0      # binary streams: smaller and faster than ASCII85
    try:
        buf = io.BytesIO()
        c = canvas.Canvas(buf, pagesize=(PAGE_W, PAGE_H), invariant=1, pageCompression=1, initialFontName="DejaVu")
        c.setTitle(title)
        c.setAuthor(letters[0].centre)
        face = pdfmetrics.getFont("DejaVu").face
        for letter in letters:
            _page(c, letter, face)
            c.showPage()
        c.save()
        return buf.getvalue()
    finally:
        rl_config.useA85 = a85
