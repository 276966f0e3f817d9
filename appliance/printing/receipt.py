"""The paper receipt: ESC/POS bytes (and a PNG preview) for one issued certificate.

Pure: everything comes in as arguments (the certificate's DCC, the UVCI, the HC1 text,
the issue time, the centre name, the printer profile and paper width) and the same
inputs give the same bytes. Nothing here opens a printer.

Here: the receipt's texts (titles, facts in German / English, the LAB/TEST banner) and the
ESC/POS streams of a receipt and of the technician's test page. The paper layout and the QR
(raster by default, native ``GS ( k`` when asked for; error correction by paper width) are
:mod:`appliance.printing.layout`'s, re-exported here for the modules that import them from here.
"""

from __future__ import annotations

import logging
import textwrap
from datetime import datetime, timezone

from escpos.capabilities import NotSupported
from escpos.printer import Dummy

from appliance.dcc import model, valuesets
from appliance.errors import PrinterError
from appliance.printing.layout import Layout, default_ecc, layout_for, print_native_qr, qr_fit, qr_raster
from appliance.util import timefmt

log = logging.getLogger(__name__)

#: what other modules import from here (the layout and QR names are :mod:`appliance.printing.layout`'s)
__all__ = ["APP_HINT", "CODE_PAGES", "TEST_BANNER", "TYPE_TITLES", "Layout", "build_receipt", "build_test_page",
           "default_ecc", "fact_lines", "layout_for", "qr_fit", "qr_raster", "receipt_lines", "test_banner"]

TYPE_TITLES = {
    "v": ("Impfzertifikat", "Vaccination certificate"),
    "t": ("Testzertifikat", "Test certificate"),
    "r": ("Genesenenzertifikat", "Recovery certificate"),
}
#: on receipts of certificates signed with a LAB/TEST (or DEMO) DSC (:func:`appliance.dcc.dsc.is_test_dsc`)
TEST_BANNER = ("*** LAB/TEST ***", "Testzertifikat: in keiner App gültig", "Test certificate: valid in no app")
APP_HINT = ("QR-Code mit der CovPass-App oder der Corona-Warn-App scannen. / "
            "Scan the QR code with the CovPass app or the Corona-Warn-App.")


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
            print_native_qr(p, hc1, layout, ecc or default_ecc(paper_width_mm))
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
            print_native_qr(p, text, layout, level)
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
