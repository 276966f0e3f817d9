"""Finding 9 of issue 10, the printing side: a second print gives a second receipt (journaled as a reprint),
receipts print in the order they were queued, the preview draws umlauts, LAB/TEST certificates say so on paper."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from PIL import Image, ImageChops

from appliance.printing import preview
from appliance.printing.receipt import build_receipt, layout_for
from appliance.printing.service import PrintService
from tests.support import escpos_parse
from tests.support.dcc import production_like_signer, sign_to_hc1
from tests.support.printing import schema_example_dcc, submit


@pytest.fixture
def network(make_config, fake_printer):
    services = []

    def make(**kw):
        cfg = make_config({"printer": {"kind": "network", "host": "127.0.0.1", "port": fake_printer.port,
                                       "timeout_s": 1.0, "profile": "TM-T20II", "paper_width_mm": 80},
                           "device": {"issuer": "Impfzentrum Musterstadt"}})
        service = PrintService(cfg, **kw)
        services.append(service)
        return service

    yield make
    for service in services:
        service.close()


def printed_uvcis(fake_printer, uvcis) -> list[str]:
    out = []
    for receipt in fake_printer.receipts:
        text = escpos_parse.text(receipt).replace("\n", "")
        out += [u for u in uvcis if u in text]
    return out


# -- a second print --------------------------------------------------------------------------------------
def test_a_second_print_after_the_first_came_out_is_a_journaled_reprint(network, fake_printer, certificate,
                                                                         journal):
    cert = certificate("v", "URN:UVCI:01:DE:DEMO1/TAP1#K")
    journal.append("issued", now=cert["issued_at"], operator="staff", type="v", uvci=cert["uvci"])
    service = network(journal=journal)
    first = submit(service, cert)
    assert service.wait(first, 20)
    second = submit(service, cert)                           # the second tap on "Print receipt"
    assert second != first and service.queue.get(second).kind == "reprint"
    assert service.wait(second, 20)
    assert len(fake_printer.receipts) == 2
    assert [e["kind"] for e in journal.entries()] == ["issued", "reprinted"]


def test_a_double_tap_while_the_first_waits_prints_once(network, fake_printer, certificate):
    cert = certificate("v", "URN:UVCI:01:DE:DEMO1/TAP2#K")
    service = network()
    first = submit(service, cert)
    assert submit(service, cert) == first                    # still waiting: the same job
    assert service.wait(first, 20)
    assert len(fake_printer.receipts) == 1


# -- order --------------------------------------------------------------------------------------------
def test_queued_receipts_print_in_the_order_they_were_queued(network, fake_printer, certificate, now):
    t = [now]
    service = network(clock=lambda: t[0], backoff_base_s=1.0, backoff_cap_s=60.0)
    a, b = certificate("v", "URN:UVCI:01:DE:DEMO1/ORDA#K"), certificate("v", "URN:UVCI:01:DE:DEMO1/ORDB#K")
    fake_printer.go_offline()
    submit(service, a)
    assert service.work_once()                               # A fails: next try after 1 s
    t[0] = now + timedelta(seconds=1.5)
    assert service.work_once()                               # A fails again: next try after 2 s more
    t[0] = now + timedelta(seconds=2)
    submit(service, b)
    while service.work_once():                               # whatever is due now fails
        pass
    fake_printer.go_online()
    for second in (3, 5, 9, 20, 60, 200):                    # the printer is back; time goes on
        t[0] = now + timedelta(seconds=second)
        while service.work_once():
            pass
    assert printed_uvcis(fake_printer, [a["uvci"], b["uvci"]]) == [a["uvci"], b["uvci"]]


def test_a_job_that_cannot_be_rendered_does_not_hold_up_the_others(network, fake_printer, certificate, now):
    t = [now]
    service = network(clock=lambda: t[0])
    bad, good = certificate("v", "URN:UVCI:01:DE:DEMO1/BAD1#K"), certificate("v", "URN:UVCI:01:DE:DEMO1/GOOD#K")
    bad["dcc"] = {"ver": "1.3.0", "nam": {"fnt": "X"}, "dob": "1990"}   # no event: it can never print
    submit(service, bad)
    submit(service, good)
    for _ in range(3):
        service.work_once()
    assert printed_uvcis(fake_printer, [good["uvci"]]) == [good["uvci"]]


# -- the preview's font -----------------------------------------------------------------------------------
def _preview(cert, **kw):
    args = dict(dcc=cert["dcc"], uvci=cert["uvci"], hc1=cert["hc1"], issued_at=cert["issued_at"],
                centre="Impfzentrum Müller", profile="TM-T20II", paper_width_mm=80)
    return Image.open(io.BytesIO(preview.receipt_preview_png(**{**args, **kw}))).convert("L")


def test_the_preview_draws_umlauts_not_the_missing_glyph_box(certificate):
    cert = certificate("v")
    umlaut = _preview(cert)
    tofu = _preview(cert, centre="Impfzentrum M\U000F0000ller")       # a private-use character: no font has it
    plain = _preview(cert, centre="Impfzentrum Muller")
    assert umlaut.size == tofu.size == plain.size
    assert ImageChops.difference(umlaut, tofu).getbbox() is not None, "ü is drawn as the missing-glyph box"
    # the ü is a u with two dots above it: inside the u's box the images agree, above it they differ
    diff = ImageChops.difference(umlaut, plain).getbbox()
    assert diff is not None and diff[3] - diff[1] < 30


def test_the_preview_font_is_dejavu_from_debian():
    font = preview.preview_font(16)
    assert "DejaVu" in font.getname()[0]


# -- LAB/TEST on paper ------------------------------------------------------------------------------------
def test_a_receipt_of_a_test_dsc_says_lab_test_in_escpos_and_preview(certificate):
    cert = certificate("v")
    args = dict(dcc=cert["dcc"], uvci=cert["uvci"], hc1=cert["hc1"], issued_at=cert["issued_at"],
                centre="Impfzentrum", profile="TM-T20II", paper_width_mm=80)
    marked, plain = build_receipt(**args, test_dsc=True), build_receipt(**args)
    assert "LAB/TEST" in escpos_parse.text(marked) and "LAB/TEST" not in escpos_parse.text(plain)
    assert any("LAB/TEST" in line for line in preview.preview_lines(**args, test_dsc=True))
    assert not any("LAB/TEST" in line for line in preview.preview_lines(**args))
    lines = len(preview.preview_lines(**args, test_dsc=True)) - len(preview.preview_lines(**args))
    layout = layout_for("TM-T20II", 80)
    step = preview.line_step(preview.preview_font(preview.font_size(layout.dots, layout.columns)))
    tall = Image.open(io.BytesIO(preview.receipt_preview_png(**args, test_dsc=True)))
    short = Image.open(io.BytesIO(preview.receipt_preview_png(**args)))
    assert lines > 0 and tall.height - short.height == lines * step


def test_the_service_marks_receipts_of_its_own_test_dsc(network, fake_printer, software_signer, now):
    for signer, marked in ((software_signer, True), (production_like_signer(now), False)):
        dcc = schema_example_dcc("v")
        dcc["v"][0]["ci"] = f"URN:UVCI:01:DE:DEMO1/LAB{int(marked)}#K"
        hc1, _ = sign_to_hc1(dcc, signer, iat=now, days=30)
        service = network(signer=signer)
        job = service.submit(uvci=dcc["v"][0]["ci"], hc1=hc1, dcc=dcc, issued_at=now, operator="staff")
        assert service.wait(job, 20)
        assert ("LAB/TEST" in escpos_parse.text(fake_printer.receipts[-1])) is marked


# -- local time on the preview ----------------------------------------------------------------------------
def test_the_preview_shows_the_issue_time_local_with_its_offset(certificate):
    cert = certificate("v")
    args = dict(dcc=cert["dcc"], uvci=cert["uvci"], hc1=cert["hc1"], issued_at=cert["issued_at"],
                centre="Impfzentrum", profile="TM-T20II", paper_width_mm=80)
    local = " ".join(preview.preview_lines(**args, tz="Europe/Berlin"))
    assert "(UTC+01:00)" in local or "(UTC+02:00)" in local
    assert "UTC+" not in " ".join(preview.preview_lines(**args))      # without a zone: UTC, as before
