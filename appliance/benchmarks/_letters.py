"""The PDF library comparison for letters: reportlab (used) against fpdf2, on the same letter.

Both draw the same page: the QR from zxing-cpp's matrix as vector rectangles (one per run of
dark modules), DejaVu Sans embedded, and the same lines of text. Each library is measured
with its public drawing API and with the QR as one literal path (reportlab's public
``Canvas.addLiteral``; fpdf2 has no public call for that and is measured with its private
``_out``). Figures: ms per letter and KiB per letter for a file of ``n`` letters.
"""

from __future__ import annotations

import io
import time
from datetime import datetime, timedelta, timezone

from appliance.dcc import encode, qr, sign
from appliance.devices.signer import SoftwareSigner
from appliance.printing import letters
from reportlab.pdfgen import canvas

NOW = datetime(2026, 11, 28, 10, 0, tzinfo=timezone.utc)
DCC = {"ver": "1.3.0", "nam": {"fn": "Müller-Lüdenscheidt", "fnt": "MUELLER<LUEDENSCHEIDT", "gn": "Jürgen",
                               "gnt": "JUERGEN"}, "dob": "1980-05-17",
       "v": [{"tg": "840539006", "vp": "1119349007", "mp": "EU/1/20/1528", "ma": "ORG-100030215", "dn": 2, "sd": 2,
              "dt": "2021-06-20", "co": "DE", "is": "Robert Koch-Institut", "ci": "URN:UVCI:01:DE:BOT1/0001ABCDEF#K"}]}
TEXT = ["Impfzentrum Bottrop", "Jürgen Müller-Lüdenscheidt", "Hauptstraße 12a", "46236 Bottrop",
        "Impfzertifikat / Vaccination certificate", "Geburtsdatum / Date of birth", "17.05.1980",
        "Impfstoff / Vaccine", "Comirnaty", "Dosis / Dose", "2/2", "Impfdatum / Date of vaccination", "20.06.2021",
        "URN:UVCI:01:DE:BOT1/0001ABCDEF#K", letters.HINT_DE, letters.HINT_EN]


def _reportlab_public(hc1: str, n: int) -> bytes:
    letters._register_fonts()
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(letters.PAGE_W, letters.PAGE_H), invariant=1, pageCompression=1,
                      initialFontName="DejaVu")
    mm = letters.MM
    for _ in range(n):
        matrix = qr.qr_matrix(hc1, ecc="Q")
        module = 60 * mm / len(matrix)
        top = letters.PAGE_H - 118 * mm
        path = c.beginPath()
        for x, y, w in letters.dark_runs(matrix):
            path.rect(20 * mm + x * module, top - (y + 1) * module, w * module, module)
        c.drawPath(path, stroke=0, fill=1)
        for i, line in enumerate(TEXT):
            c.setFont("DejaVu", 9)
            c.drawString(20 * mm, letters.PAGE_H - (20 + 5 * i) * mm, line[:90])
        c.showPage()
    c.save()
    return buf.getvalue()


def _fpdf(hc1: str, n: int, literal: bool) -> bytes:
    from fpdf import FPDF  # lazy: fpdf2 is a test extra; only this comparison needs it

    pdf = FPDF(unit="mm", format="A4")
    pdf.set_creation_date(NOW)
    fonts = letters.font_paths()
    pdf.add_font("DejaVu", "", str(fonts["DejaVu"]))
    for _ in range(n):
        pdf.add_page()
        matrix = qr.qr_matrix(hc1, ecc="Q")
        module = 60 / len(matrix)
        if literal:
            k = pdf.k
            pdf._out(f"q {module * k:.4f} 0 0 {-module * k:.4f} {20 * k:.4f} {(297 - 118) * k:.4f} cm "
                     + letters.qr_path_ops(matrix) + " Q")
        else:
            pdf.set_fill_color(0)
            for x, y, w in letters.dark_runs(matrix):
                pdf.rect(20 + x * module, 118 + y * module, w * module, module, style="F")
        pdf.set_font("DejaVu", "", 9)
        for i, line in enumerate(TEXT):
            pdf.text(20, 20 + 5 * i, line[:90])
    return bytes(pdf.output())


def compare(n: int) -> list[tuple[str, str, str]]:
    signer = SoftwareSigner.generate(now=NOW)
    hc1 = encode.to_hc1(sign.sign_dcc(DCC, signer, issuer_country="DE", iat=NOW, exp=NOW + timedelta(days=365)).cose)
    letter = letters.Letter(uvci=DCC["v"][0]["ci"], hc1=hc1, dcc=DCC, centre="Impfzentrum Bottrop",
                            issued_at=NOW.isoformat(), address=("Hauptstraße 12a", "46236 Bottrop"))
    candidates = [
        ("reportlab, QR as one literal path (used)", lambda k: letters.render_pdf([letter] * k)),
        ("reportlab, public path API", lambda k: _reportlab_public(hc1, k)),
        ("fpdf2, public rect API", lambda k: _fpdf(hc1, k, literal=False)),
        ("fpdf2, private _out literal path", lambda k: _fpdf(hc1, k, literal=True)),
    ]
    rows = []
    for name, render in candidates:
        render(2)                                      # warm up: fonts parsed, modules loaded
        t0 = time.perf_counter()
        data = render(n)
        ms = (time.perf_counter() - t0) * 1000 / n
        rows.append((f"PDF {name}: ms / KiB per letter ({n} letters, 1 process)",
                     f"{ms:.2f} / {len(data) / n / 1024:.1f}", ""))
    return rows
