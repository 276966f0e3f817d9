"""The print queue against a fake network printer on 127.0.0.1: retries, exactly-once, crash safety."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from appliance.devices.printer import FilePrinter, NetworkPrinter, parse_online, parse_paper
from appliance.printing.queue import FILENAME, PrintQueue
from appliance.printing.service import PrintService, backoff_s
from tests.support import escpos_parse
from tests.support.cli import clean_env
from tests.support.printing import submit
from tests.support.waiting import wait_until


@pytest.fixture
def network_config(make_config, fake_printer):
    def make(**printer):
        section = {"kind": "network", "host": "127.0.0.1", "port": fake_printer.port, "timeout_s": 1.0,
                   "profile": "TM-T20II", "paper_width_mm": 80, **printer}
        return make_config({"printer": section, "device": {"issuer": "Impfzentrum Musterstadt"}})
    return make


@pytest.fixture
def service_factory(network_config):
    services = []

    def make(config=None, **kw):
        kw.setdefault("backoff_base_s", 0.05)
        kw.setdefault("backoff_cap_s", 0.2)
        service = PrintService(config or network_config(), **kw)
        services.append(service)
        return service

    yield make
    for service in services:
        service.close()


def test_parse_status_bytes():
    assert parse_online(0x16) is True and parse_online(0x1E) is False and parse_online(None) is None
    assert [parse_paper(b) for b in (0x12, 0x1E, 0x72, 0x7E, None)] == ["ok", "near_end", "out", "out", "unknown"]


def test_backoff_grows_and_is_capped():
    assert [backoff_s(n, base=1, cap=10) for n in (1, 2, 3, 4, 5, 9)] == [1, 2, 4, 8, 10, 10]


def test_printed_receipt_decodes_from_the_wire(service_factory, fake_printer, certificate):
    cert = certificate("v", "URN:UVCI:01:DE:DEMO1/AAA1#K")
    service = service_factory()
    job = submit(service, cert)
    assert service.wait(job, 20)
    [receipt] = fake_printer.receipts
    [image] = escpos_parse.rasters(receipt)
    import zxingcpp
    assert zxingcpp.read_barcodes(image)[0].text == cert["hc1"]
    assert service.status()["queue"]["done"] == 1
    assert service.queue.get(job).payload is None, "a printed job keeps no personal data"


def test_same_uvci_twice_is_one_job(service_factory, certificate):
    cert = certificate("v")
    service = service_factory()
    assert submit(service, cert) == submit(service, cert)
    assert submit(service, cert, reprint=True) != submit(service, cert)


def test_offline_then_recovery_prints_each_job_exactly_once(service_factory, fake_printer, certificate):
    fake_printer.go_offline()
    service = service_factory()
    service.start()
    certs = [certificate("v", f"URN:UVCI:01:DE:DEMO1/OFF{i}#A") for i in range(3)]
    jobs = [submit(service, c) for c in certs]
    assert not service.wait(jobs[0], 0.5)
    status = service.status()
    assert status["online"] is False and "not reachable" in status["detail"]
    assert status["queue"]["queued"] + status["queue"]["sending"] == 3
    assert "network printer 127.0.0.1" in status["queue"]["last_error"]

    fake_printer.go_online()
    assert all(service.wait(job, 30) for job in jobs)
    for cert in certs:
        assert fake_printer.count(cert["uvci"]) == 1
    done = service.queue.summary()["done"]
    for _ in range(5):                      # nothing due: a retry never prints a finished job again
        assert service.work_once() is False
    assert len(fake_printer.receipts) == 3 and service.queue.summary()["done"] == done


def test_out_of_paper_sends_nothing_until_loaded(service_factory, fake_printer, certificate):
    fake_printer.paper = "out"
    service = service_factory()
    cert = certificate("t", "URN:UVCI:01:DE:DEMO1/PAPER#B")
    job = submit(service, cert)
    assert service.work_once(job) is True
    assert fake_printer.receipts == [] and fake_printer.queries == [b"\x04"], "only the paper query was sent"
    assert "out of paper" in service.queue.get(job).last_error
    assert service.status()["paper"] == "out"

    fake_printer.paper = "near_end"
    assert service.status()["paper"] == "near_end"
    service.start()
    assert service.wait(job, 20)
    assert fake_printer.count(cert["uvci"]) == 1


def test_connection_dropped_mid_job_is_retried_once_complete(service_factory, fake_printer, certificate):
    fake_printer.drop_after = 3000                     # the receipt is ~37 kB: the cable goes mid-raster
    service = service_factory()
    cert = certificate("r", "URN:UVCI:01:DE:DEMO1/DROP#C")
    job = submit(service, cert)
    service.work_once(job)
    first = service.queue.get(job)
    assert first.state == "queued" and "again" in first.last_error
    service.start()
    assert service.wait(job, 20)
    assert fake_printer.connections >= 2
    assert fake_printer.count(cert["uvci"]) == 1
    assert service.queue.get(job).attempts >= 2


def test_unanswered_status_is_not_taken_as_printed(service_factory, fake_printer, certificate):
    fake_printer.stall = True
    service = service_factory()
    job = submit(service, certificate("v"))
    service.work_once(job)
    job_row = service.queue.get(job)
    assert job_row.state == "queued" and "did not confirm" in job_row.last_error
    assert service.status()["online"] is None


CRASH_SCRIPT = """
import sys, json
from datetime import datetime
from appliance.config import load_config
from appliance.printing.service import PrintService
cfg = load_config(env={}, state_dir=sys.argv[1], overrides=json.loads(sys.argv[2]))
doc = json.loads(sys.stdin.read())
service = PrintService(cfg)
job = service.submit(uvci=doc["uvci"], hc1=doc["hc1"], dcc=doc["dcc"],
                     issued_at=datetime.fromisoformat(doc["issued_at"]), operator="staff1")
print(job, flush=True)
service.work_once(job)
"""


def test_worker_killed_mid_job_loses_nothing(tmp_path, state_dir, fake_printer, certificate, network_config):
    import json
    fake_printer.stall = True                    # takes the bytes, never confirms: the worker hangs in 'sending'
    cert = certificate("v", "URN:UVCI:01:DE:DEMO1/CRASH#D")
    overrides = {"printer": {"kind": "network", "host": "127.0.0.1", "port": fake_printer.port,
                             "timeout_s": 60.0}}
    proc = subprocess.Popen([sys.executable, "-c", CRASH_SCRIPT, str(state_dir), json.dumps(overrides)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=clean_env(), cwd=tmp_path, text=True)
    doc = dict(cert, issued_at=cert["issued_at"].isoformat())
    proc.stdin.write(json.dumps(doc))
    proc.stdin.close()
    job = int(proc.stdout.readline())
    assert wait_until(lambda: len(fake_printer.receipts) == 1), "the worker sent the receipt"
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)

    queue = PrintQueue.open(state_dir / FILENAME)
    assert queue.get(job).state == "sending"          # the crash window: sent, not yet marked done
    queue.close()
    fake_printer.stall = False
    service = PrintService(network_config(timeout_s=1.0))
    try:
        assert service.wait(job, 20), "the dead worker's job is taken over"
        assert service.queue.get(job).state == "done"
    finally:
        service.close()
    # never lost; at most one duplicate (the printer had the bytes when the worker died)
    assert 1 <= fake_printer.count(cert["uvci"]) <= 2


def test_concurrent_workers_print_once(tmp_path, network_config, fake_printer, certificate):
    config = network_config()
    services = [PrintService(config, backoff_base_s=0.05, backoff_cap_s=0.2) for _ in range(2)]
    certs = [certificate("v", f"URN:UVCI:01:DE:DEMO1/CC{i}#E") for i in range(4)]
    try:
        jobs = [submit(services[i % 2], c) for i, c in enumerate(certs)]
        for s in services:
            s.start()
        assert all(services[0].wait(j, 30) for j in jobs)
    finally:
        for s in services:
            s.close()
    assert [fake_printer.count(c["uvci"]) for c in certs] == [1, 1, 1, 1]


def test_file_printer_writes_receipt_and_preview(make_config, state_dir, certificate):
    import zxingcpp
    from PIL import Image

    service = PrintService(make_config({"printer": {"kind": "file", "paper_width_mm": 58, "profile": "POS-5890"}}))
    try:
        assert isinstance(service.printer, FilePrinter)
        cert = certificate("t")
        job = submit(service, cert)
        assert service.wait(job, 20)
        preview = service.preview_path(job)
        assert preview is not None and preview.parent == state_dir / "receipts"
        assert zxingcpp.read_barcodes(Image.open(preview))[0].text == cert["hc1"]
        raw = preview.with_suffix(".bin").read_bytes()
        assert escpos_parse.rasters(raw) and cert["uvci"] in escpos_parse.text(raw).replace("\n", "")
    finally:
        service.close()


def test_file_printer_unwritable_folder_keeps_the_job(make_config, tmp_path, certificate):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    service = PrintService(make_config({"printer": {"kind": "file", "path": str(blocker / "receipts")}}))
    try:
        job = submit(service, certificate("v"))
        assert not service.wait(job, 0.3)
        assert "cannot write" in service.queue.get(job).last_error
        assert service.status()["online"] is False
    finally:
        service.close()


def test_network_printer_status_probe_short_timeout(fake_printer):
    printer = NetworkPrinter("127.0.0.1", fake_printer.port, profile="TM-T20II", timeout_s=60)
    assert printer.status().online is True
    fake_printer.go_offline()
    status = printer.status()
    assert status.online is False and "check the printer's power" in status.detail


def test_waiting_jobs_turn_stuck_then_expire_without_personal_data(make_config, certificate, now):
    from datetime import timedelta
    clock = [now]
    service = PrintService(make_config({"printer": {"kind": "file", "profile": "TM-NOPE"}}),
                           clock=lambda: clock[0])
    try:
        job = submit(service, certificate("v"))
        service.work_once(job)
        assert service.status(probe=False)["queue_stuck"] is False
        clock[0] = now + timedelta(minutes=2)
        assert service.status(probe=False)["queue_stuck"] is True
        clock[0] = now + timedelta(days=13)
        service.maintain()
        assert service.queue.get(job).state == "queued"
        clock[0] = now + timedelta(days=15)             # [journal] retention_days = 14
        service.maintain()
        dropped = service.queue.get(job)
        assert dropped.state == "failed" and dropped.payload is None
        assert "retention" in dropped.last_error
        assert service.work_once() is False, "a dropped job is never printed"
    finally:
        service.close()


def test_file_printer_receipts_are_pruned_after_retention(make_config, state_dir, certificate, now):
    from datetime import timedelta
    clock = [now]
    service = PrintService(make_config({"printer": {"kind": "file"}}), clock=lambda: clock[0])
    try:
        job = submit(service, certificate("v"))
        assert service.wait(job, 20)
        files = sorted((state_dir / "receipts").iterdir())
        assert [f.suffix for f in files] == [".bin", ".png"]
        old = (now - timedelta(days=1)).timestamp()
        for f in files:
            os.utime(f, (old, old))
        clock[0] = now + timedelta(days=15)
        service.maintain()
        assert list((state_dir / "receipts").iterdir()) == []
    finally:
        service.close()


def test_damaged_queue_file_is_a_clear_error(state_dir):
    from appliance.errors import PrinterError
    (state_dir / FILENAME).write_bytes(b"this is not a database" * 100)
    with pytest.raises(PrinterError, match="move the file away"):
        PrintQueue.open(state_dir / FILENAME)
