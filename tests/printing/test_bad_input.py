"""Wrong printer settings: a clear message in the status and the log, the job kept, issuing unaffected."""

from __future__ import annotations

import json
import logging

import pytest

from appliance import cli
from appliance.devices.printer import UsbPrinter, build_printer
from appliance.errors import ConfigError, JournalError, PrinterUnavailable
from appliance.journal.journal import Journal
from appliance.printing.service import PrintService
from tests.support.printing import submit


@pytest.fixture
def service_with(make_config):
    made = []

    def make(printer: dict, **kw):
        service = PrintService(make_config({"printer": printer}), **kw)
        made.append(service)
        return service

    yield make
    for service in made:
        service.close()


def test_unknown_profile_keeps_the_job_and_says_why(service_with, certificate, caplog):
    service = service_with({"kind": "file", "profile": "TM-NOPE"})
    job = submit(service, certificate("v"))                 # queuing itself never fails
    with caplog.at_level(logging.WARNING, logger="appliance.printing.service"):
        assert not service.wait(job, 0.3)
    status = service.status()
    assert "TM-NOPE" in status["config_error"] and "TM-NOPE" in status["queue"]["last_error"]
    assert status["queue"]["queued"] == 1 and service.queue.get(job).payload is not None
    assert any("TM-NOPE" in r.getMessage() for r in caplog.records)


def test_wrong_usb_ids_are_unavailable_not_a_crash():
    printer = UsbPrinter("dead", "beef", profile="TM-T20II", timeout_s=1)
    with pytest.raises(PrinterUnavailable, match="dead:beef") as info:
        printer.send(b"\x1b@")
    assert "vendor_id/product_id" in str(info.value)
    status = printer.status()
    assert status.online is False and "dead:beef" in status.detail


@pytest.mark.parametrize("vendor,product,key", [("xyz", "0202", "vendor_id"), ("04b8", "", "product_id"),
                                                ("10000", "0202", "vendor_id")])
def test_malformed_usb_ids_name_the_key(make_config, vendor, product, key):
    config = make_config({"printer": {"kind": "usb", "vendor_id": vendor, "product_id": product}})
    with pytest.raises(ConfigError, match=f"\\[printer\\] {key}"):
        build_printer(config)


def test_malformed_usb_ids_keep_jobs_queued(service_with, certificate):
    service = service_with({"kind": "usb", "vendor_id": "xyz", "product_id": "0202"})
    job = submit(service, certificate("t"))
    assert not service.wait(job, 0.3)
    assert "[printer] vendor_id" in service.status()["detail"]
    assert service.queue.get(job).state == "queued"


def test_native_qr_too_large_keeps_the_job(service_with, certificate):
    service = service_with({"kind": "file", "profile": "Sunmi-V2", "paper_width_mm": 58, "native_qr": True})
    cert = dict(certificate("v"), hc1="HC1:" + "6BF" * 600)
    job = submit(service, cert)
    assert not service.wait(job, 0.3)
    assert "native_qr = false" in service.queue.get(job).last_error
    assert service.preview_path(job) is None


def test_network_without_host_is_a_config_message(service_with, certificate):
    service = service_with({"kind": "network", "host": ""})
    job = submit(service, certificate("v"))
    assert not service.wait(job, 0.2)
    assert "[printer] host" in service.queue.get(job).last_error


def test_reprint_is_a_new_job_and_a_journal_entry(make_config, state_dir, certificate, now):
    cert = certificate("v", "URN:UVCI:01:DE:DEMO1/REPRINT#F")
    journal = Journal.open(state_dir / "journal.sqlite")
    try:
        journal.append("issued", now=now, operator="staff1", type="v", uvci=cert["uvci"],
                       personal={"hc1": cert["hc1"], "family_name": "Smith-Jones"})
        service = PrintService(make_config(), journal=journal, clock=lambda: now)
        first = submit(service, cert)
        assert service.wait(first, 20)
        again = service.reprint(cert["uvci"], operator="admin1")
        assert again != first and service.wait(again, 20)
        last = journal.entries()[-1]
        assert last["kind"] == "reprinted" and last["uvci"] == cert["uvci"]
        # the synced entry names a pseudonym; the real name stays in a device-only column
        assert last["data"] == {"job": again} and last["operator"] == journal.operator_pseudonym("admin1")
        assert last["operator"] != "admin1"
        assert service.queue.get(again).kind == "reprint"
        assert service.reprint_last(operator="admin1") not in (first, again)
        assert journal.verify() is None
        service.close()
    finally:
        journal.close()


def test_cli_printer_status_json(monkeypatch, capsys, state_dir, fake_printer):
    monkeypatch.delenv("APPLIANCE_CONFIG", raising=False)
    monkeypatch.setenv("APPLIANCE_STATE_DIR", str(state_dir))
    for key, value in {"KIND": "network", "HOST": "127.0.0.1", "PORT": str(fake_printer.port),
                       "TIMEOUT_S": "1"}.items():
        monkeypatch.setenv(f"APPLIANCE_PRINTER__{key}", value)
    monkeypatch.setattr("appliance.config.DEFAULT_CONFIG", str(state_dir / "absent.toml"))
    assert cli.main(["printer", "status", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["online"] is True and status["paper"] == "ok" and status["kind"] == "network"
    assert status["queue"]["queued"] == 0

    fake_printer.paper = "out"
    assert cli.main(["printer", "status"]) == 1
    assert "paper out" in capsys.readouterr().out

    fake_printer.go_offline()
    assert cli.main(["printer", "status", "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["online"] is False


def test_cli_printer_test_page(monkeypatch, capsys, state_dir):
    monkeypatch.delenv("APPLIANCE_CONFIG", raising=False)
    monkeypatch.setattr("appliance.config.DEFAULT_CONFIG", str(state_dir / "absent.toml"))
    monkeypatch.setenv("APPLIANCE_STATE_DIR", str(state_dir))
    monkeypatch.setenv("APPLIANCE_PRINTER__KIND", "file")
    assert cli.main(["printer", "test"]) == 0
    assert (state_dir / "receipts" / "test-page.bin").stat().st_size > 1000
    monkeypatch.setenv("APPLIANCE_PRINTER__PROFILE", "TM-NOPE")
    assert cli.main(["printer", "test"]) == 1
    assert "TM-NOPE" in capsys.readouterr().err


def test_reprint_that_cannot_be_journaled_never_prints(make_config, state_dir, certificate, now):
    cert = certificate("v", "URN:UVCI:01:DE:DEMO1/NOJOURNAL#G")
    journal = Journal.open(state_dir / "journal.sqlite")
    journal.close()                               # a journal that fails on append
    service = PrintService(make_config(), journal=journal, clock=lambda: now)
    try:
        # the append reads the pseudonym secret first, so a closed journal fails on that read
        with pytest.raises(JournalError, match="cannot (read|write) the journal"):
            submit(service, cert, reprint=True)
        job = service.queue.last_job()         # refused on the revocation check's read, or cancelled after
        assert job is None or (job.kind == "reprint" and job.state == "failed" and job.payload is None)
        assert service.work_once() is False
        assert not (state_dir / "receipts").exists()
    finally:
        service.close()
