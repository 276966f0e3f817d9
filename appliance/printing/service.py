"""The print service: queue a receipt, print it in the background, retry until it is out.

``submit`` stores the receipt's inputs in the queue (committed) and wakes the worker;
the worker renders the receipt with the *current* ``[printer]`` settings (so a fixed
profile or paper width also fixes jobs already queued), sends it, and marks the job
done only after the printer took every byte. Errors (offline, out of paper, unplugged,
unknown profile, QR too large for native mode) leave the job queued with the message
recorded for the status page, and the worker retries with exponential backoff
(1 s, 2 s, 4 s ... at most 60 s). Issuing never waits for the printer.

Several processes may use one queue (``appliance serve`` owns the printer;
``appliance issue --print`` submits, tries for a while and leaves the rest to serve).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

from appliance.dcc import verify
from appliance.devices.ports import ReceiptPrinter
from appliance.devices.printer import UnusablePrinter, build_printer
from appliance.errors import ApplianceError, PrinterError
from appliance.printing import eligibility
from appliance.printing.queue import FILENAME, PrintQueue
from appliance.printing.preview import receipt_preview_png
from appliance.printing.receipt import build_receipt, layout_for

log = logging.getLogger(__name__)
MAINTENANCE_INTERVAL_S = 600.0
STUCK_AFTER_S = 60.0          #: a receipt waiting longer than this turns the light amber
audit = logging.getLogger("appliance.audit")


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def backoff_s(attempts: int, *, base: float = 1.0, cap: float = 60.0) -> float:
    """Delay before the next try after ``attempts`` failed ones: base * 2^(n-1), at most ``cap``."""
    return min(cap, base * 2 ** max(0, attempts - 1))


class PrintService:
    """Receipts for issued certificates, via the persistent queue and one worker thread.

    :param config: the appliance :class:`~appliance.config.Config` (``[printer]``, ``[device]``, state_dir).
    :param journal: optional; receives a ``reprinted`` entry per reprint.
    :param printer: a :class:`ReceiptPrinter`; default built from ``[printer]``.
    :param clock: returns aware UTC time; default the system clock.
    :param signer: optional; its DSC tells whether a receipt says "LAB/TEST" (:func:`dsc.is_test_dsc`).

    With a journal, a revoked certificate is never printed: :meth:`submit` refuses it and the
    worker drops a job whose certificate was revoked while it waited.
    """

    def __init__(self, config, *, journal=None, printer: ReceiptPrinter | None = None,
                 clock: Callable[[], datetime] | None = None, queue: PrintQueue | None = None,
                 backoff_base_s: float = 1.0, backoff_cap_s: float = 60.0, lease_s: float | None = None,
                 signer=None):
        self.config = config
        self.journal = journal
        self.signer = signer
        self.printer = printer if printer is not None else _printer_or_reason(config)
        self.clock = clock or _utcnow
        self.queue = queue or PrintQueue.open(Path(config.state_dir) / FILENAME)
        self.backoff = (backoff_base_s, backoff_cap_s)
        self.lease_s = lease_s if lease_s is not None else 4 * config.printer.timeout_s + 30
        self._device_lock = threading.Lock()     # one conversation with the printer at a time
        self._wake = threading.Event()
        self._done = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- submitting ------------------------------------------------------------------------
    def submit(self, *, uvci: str, hc1: str, dcc: dict, issued_at: datetime, operator: str,
               reprint: bool = False, test_dsc: bool | None = None) -> int:
        """Queue a receipt; returns the job id.

        A second non-reprint submit of a UVCI returns the first job while that one waits or prints
        (a double tap); once it has printed, it becomes a reprint (a second receipt, journaled).
        ``test_dsc``: the receipt says LAB/TEST (None: decided from ``signer``'s DSC).

        :raises CertificateRevoked: the journal has the certificate revoked (nothing is queued).
        """
        eligibility.refuse_if_revoked(self.journal, uvci)
        if not reprint:
            first = self.queue.print_job(uvci)
            reprint = first is not None and first.state in ("done", "failed")
        document = {"uvci": uvci, "hc1": hc1, "dcc": dcc, "issued_at": issued_at.isoformat(),
                    "centre": getattr(self.config, "centre_name", "") or self.config.device.issuer,  # live settings
                    "test_dsc": eligibility.signed_by_test_dsc(self.signer, hc1) if test_dsc is None else bool(test_dsc)}
        payload = json.dumps(document, ensure_ascii=False, sort_keys=True).encode()
        now = self.clock()
        journaled = reprint and self.journal is not None
        job_id, created = self.queue.add(uvci=uvci, kind="reprint" if reprint else "print", payload=payload,
                                         now=now, hold=journaled)
        if journaled:   # the job is held until its journal entry is committed: no unjournaled reprint
            try:
                self.journal.append("reprinted", now=now, operator=operator, uvci=uvci, data={"job": job_id})
            except BaseException:
                self.queue.cancel(job_id, reason="the reprint could not be journaled")
                raise
            self.queue.release(job_id, now=now)
        if created:
            audit.info("print job %d (%s) queued by %s", job_id, "reprint" if reprint else "print", operator)
            self.queue.retry_now()   # someone is printing: older waiting jobs get their next try first (in order)
        self._wake.set()
        return job_id

    def reprint(self, uvci: str, *, operator: str) -> int:
        """A new job for a certificate in the journal (needs its personal data, kept until purged)."""
        if self.journal is None:
            raise PrinterError("reprint needs the journal; none is configured here")
        record = self.journal.certificate(uvci)
        if record is None:
            raise PrinterError("no certificate with that UVCI in the journal; check the UVCI")
        if not record.personal or not record.personal.get("hc1"):
            raise PrinterError("this certificate's personal data was purged after the retention period; "
                               "it can no longer be reprinted")
        hc1 = record.personal["hc1"]
        dcc = record.personal.get("dcc") or _dcc_of(hc1)
        return self.submit(uvci=uvci, hc1=hc1, dcc=dcc, issued_at=record.issued_at,
                           operator=operator, reprint=True)

    def reprint_last(self, *, operator: str) -> int | None:
        """Reprint the most recent receipt (the panel button); None when there is nothing to reprint."""
        last = self.queue.last_job()
        if last is None:
            return None
        return self.reprint(last.uvci, operator=operator)

    # -- the worker ------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="print-worker", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread:
            self._thread.join(timeout_s)
            self._thread = None

    def retry_now(self) -> None:
        """Try every waiting job at once (e.g. after loading paper)."""
        self.queue.retry_now()
        self._wake.set()

    def maintain(self) -> None:
        """Drop jobs (and file-printer receipts) older than ``[journal] retention_days``: personal data."""
        now = self.clock()
        cutoff = now - timedelta(days=self.config.journal.retention_days)
        expired = self.queue.expire(before=cutoff)
        if expired:
            log.warning("%d print job(s) not printed within %d days were dropped", expired,
                        self.config.journal.retention_days)
        prune = getattr(self.printer, "prune", None)
        if prune:
            prune(before=cutoff.timestamp())

    def _run(self) -> None:
        next_maintenance = 0.0
        while not self._stop.is_set():
            if time.monotonic() >= next_maintenance:
                next_maintenance = time.monotonic() + MAINTENANCE_INTERVAL_S
                try:
                    self.maintain()
                except Exception:
                    log.exception("print queue maintenance failed")
            try:
                worked = self.work_once()
            except Exception:  # the worker must survive anything; the job stays queued
                log.exception("print worker: unexpected error")
                worked = False
            if not worked:
                self._wake.wait(0.5)
                self._wake.clear()

    def work_once(self, job_id: int | None = None) -> bool:
        """Send the oldest due job (``job_id`` only if that is it); True when a job was attempted."""
        job = self.queue.claim(now=self.clock(), lease_s=self.lease_s, job_id=job_id)
        if job is None:
            return False
        if eligibility.is_revoked(self.journal, job.uvci):
            log.warning("print job %d: the certificate was revoked while the job waited; not printed", job.id)
            self.queue.cancel(job.id, reason="the certificate was revoked; not printed")
            return self._finished()
        sending = False          # a failure before sending is this job's; while sending, the printer's
        try:
            document = json.loads(job.payload)
            data = self._render(document)
            preview = self._preview(document) if getattr(self.printer, "wants_preview", False) else None
            sending = True
            with self._device_lock:
                self.printer.send(data, name=f"job-{job.id:06d}", preview=preview)
        except Exception as exc:
            known = isinstance(exc, ApplianceError)
            delay = backoff_s(job.attempts, base=self.backoff[0], cap=self.backoff[1])
            log.log(logging.WARNING if known else logging.ERROR, "print job %d: attempt %d failed: %s; next try "
                    "in %.0f s", job.id, job.attempts, exc if known else type(exc).__name__, delay, exc_info=not known)
            self.queue.mark_retry(job.id, now=self.clock(), delay_s=delay, younger_too=sending,
                                  error=str(exc) if known else f"internal error ({type(exc).__name__}); see the log")
            return True
        self.queue.mark_done(job.id, now=self.clock())
        log.info("print job %d printed (attempt %d)", job.id, job.attempts)
        return self._finished()

    def _finished(self) -> bool:
        with self._done:
            self._done.notify_all()
        return True

    def _receipt_args(self, document: dict) -> dict:
        section = self.config.printer
        return {"dcc": document["dcc"], "uvci": document["uvci"], "hc1": document["hc1"],
                "issued_at": datetime.fromisoformat(document["issued_at"]), "centre": document["centre"],
                "profile": section.profile, "paper_width_mm": section.paper_width_mm,
                "ecc": getattr(section, "qr_ecc", "") or None, "test_dsc": bool(document.get("test_dsc")),
                "tz": self.config.device.timezone}   # local times with the offset

    def _render(self, document: dict) -> bytes:
        return build_receipt(**self._receipt_args(document), native_qr=self.config.printer.native_qr)

    def _preview(self, document: dict) -> bytes:
        return receipt_preview_png(**self._receipt_args(document))

    # -- waiting and status ------------------------------------------------------------------
    def wait(self, job_id: int, timeout_s: float) -> bool:
        """True once the printer took every byte of the job; False after ``timeout_s``.

        Without a running worker (``start()``), the caller's thread sends the job itself.
        """
        deadline = time.monotonic() + timeout_s
        while True:
            job = self.queue.get(job_id)
            if job is None:
                raise PrinterError(f"print job {job_id} does not exist")
            if job.state == "done":
                return True
            if job.state == "failed" or time.monotonic() >= deadline:
                return False
            if self._thread is None and self.work_once():   # older jobs first: they print before this one
                continue
            with self._done:
                self._done.wait(0.05)

    def status(self, *, probe: bool = True) -> dict:
        """Printer and queue state for the status page and ``appliance printer status --json``."""
        section = self.config.printer
        result = {"kind": section.kind, "profile": section.profile, "paper_width_mm": section.paper_width_mm,
                  "online": None, "paper": "unknown", "detail": "not checked", "queue": self.queue.summary()}
        try:
            layout_for(section.profile, section.paper_width_mm)
        except ApplianceError as exc:
            result["config_error"] = str(exc)
        oldest = result["queue"]["oldest_waiting_at"]
        result["queue_stuck"] = bool(oldest) and (
            self.clock() - datetime.fromisoformat(oldest)).total_seconds() > STUCK_AFTER_S
        if probe:
            if self._device_lock.acquire(timeout=0.2):
                try:
                    result.update(self.printer.status().to_json())
                finally:
                    self._device_lock.release()
            else:  # a receipt is being sent right now: the printer is busy, not broken
                result.update(online=True, paper="unknown", detail="printing a receipt")
        return result

    def preview_path(self, job_id: int) -> Path | None:
        """The PNG preview of a job (file printer only), None otherwise or when not printed yet."""
        finder = getattr(self.printer, "preview_path", None)
        return finder(f"job-{job_id:06d}") if finder else None

    def close(self) -> None:
        self.stop()
        self.queue.close()


def _printer_or_reason(config) -> ReceiptPrinter:
    """The configured printer; a wrong ``[printer]`` becomes a printer that reports why (jobs stay queued)."""
    try:
        return build_printer(config)
    except ApplianceError as exc:
        log.error("receipt printer not usable: %s", exc)
        return UnusablePrinter(str(exc))


def _dcc_of(hc1: str) -> dict:
    """The DCC inside an HC1 string (no signature check: it is our own, from the journal)."""
    cose = verify.parse_cose(verify.decompress(verify.b45(verify.unprefix(hc1))))
    return verify.parse_claims(cose.payload).dcc
