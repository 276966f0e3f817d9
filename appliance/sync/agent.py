"""The sync agent: sends the journal's entries to the hub, in signed batches, until it has them all.

It asks the hub for its high-water mark, in a request signed by the device key
(:mod:`appliance.sync.status_request`: the hub shows a device's progress to nobody else; the
hub is the authority: after weeks offline, or when the hub restored a backup, the agent
resumes exactly where the hub stopped),
sends the entries after it in batches of ``[sync] batch_size`` signed by the device key
(:mod:`appliance.sync.batches`), and records the outcome in the journal's sync status
(``last_attempt``, ``last_success``, ``last_error``, ``backlog``, ``acknowledged_seq``)
for the health page.

:meth:`SyncAgent.run_forever` retries failures with exponential backoff and full jitter
(``uniform(0, min(cap, 2**n))`` seconds, cap ``[sync] backoff_cap_s``) and otherwise
sleeps until a datagram arrives on ``<state>/sync-wakeup.sock`` (the journal sends one
after each commit) or ``idle_s`` passes. Wake-ups during a backoff are not acted on:
the hub is unreachable, and hammering it helps no one.
"""

from __future__ import annotations

import logging
import random
import threading
from datetime import datetime, timezone
from typing import Callable

from appliance.devices.tpm_counter import TpmCounter
from appliance.journal import integrity
from appliance.reference import fetch
from appliance.sync.batches import sign_batch
from appliance.sync.status_request import sign_status_request
from appliance.errors import ApplianceError, HubError, HubUnreachable
from appliance.util.wakeup import WAKEUP_SOCKET, Wakeup

log = logging.getLogger(__name__)

class _UtcClock:
    def now(self) -> datetime:
        return datetime.now(timezone.utc)


def backoff_delay(failures: int, cap_s: float, rng: random.Random) -> float:
    """Full jitter: a uniform delay in ``[0, min(cap, 2**(failures-1))]`` seconds."""
    return rng.uniform(0.0, min(cap_s, 2.0 ** min(failures - 1, 30)))


class SyncAgent:
    """Moves journal entries to the hub. ``journal`` is an :class:`appliance.journal.journal.Journal`."""

    def __init__(self, config, journal, signer, client, *, clock=None,
                 sleep: Callable[[float], None] | None = None, rng: random.Random | None = None,
                 idle_s: float = 60.0, counter: integrity.Counter | None = None):
        self.config = config
        self.journal = journal
        self.signer = signer
        self.client = client
        self.clock = clock or _UtcClock()
        self.rng = rng or random.Random()
        self.idle_s = idle_s
        self._sleep = sleep
        self.failures = 0
        self.last_exception: ApplianceError | None = None
        if counter is None and config.journal.tpm_counter:
            counter = TpmCounter(config.journal.tpm_counter, tcti=config.journal.tpm_tcti)
        self.counter = counter   #: the TPM NV counter (``[journal] tpm_counter``), bound at every sync
        self.reference = fetch.HubReference.from_config(config)  #: newer reference-data bundles (or None)

    @property
    def device_id(self) -> str:
        return self.config.device.id

    def _status(self, **fields) -> None:
        self.journal.set_sync_status(**fields)

    def _now_iso(self) -> str:
        return self.clock.now().astimezone(timezone.utc).isoformat(timespec="seconds")

    def run_once(self) -> bool:
        """One pass: send everything the hub lacks. True when the hub has every entry."""
        try:
            self._status(last_attempt=self._now_iso())
            ack = self._send_all()
        except ApplianceError as exc:  # hub refused/unreachable, signer or journal trouble
            self.last_exception = exc
            log.warning("sync to the hub failed: %s", exc)
            try:
                self._status(last_error=str(exc), last_error_at=self._now_iso(),
                             backlog=max(self.journal.last_seq() - self.journal.get_acknowledged(), 0))
            except ApplianceError as status_exc:
                log.error("cannot record the sync status: %s", status_exc)
            return False
        self.last_exception = None
        self._status(last_success=self._now_iso(), last_error=None, backlog=0, acknowledged_seq=ack)
        fetch.update_quietly(self.reference, now=self.clock.now())  # a failure here never fails the sync
        return True

    def _send_all(self) -> int:
        ack = self.client.acknowledged(self.device_id, self.status_credential)
        last = self.journal.last_seq()
        if ack > last:
            raise HubError(f"the hub has entries up to seq {ack} but this journal ends at {last}: "
                           "the journal was replaced or belongs to another device; check [device] id")
        if ack < self.journal.get_acknowledged():
            log.warning("the hub acknowledges only seq %d, less than the %d it acknowledged before "
                        "(a hub restored from backup, or this device's clock far from the hub's, so that the hub "
                        "did not accept the signed status request?); sending again from there", ack, self.journal.get_acknowledged())
        if ack != self.journal.get_acknowledged():
            self.journal.set_acknowledged(ack)
        head, journal_key = self._head()
        while True:
            entries = self.journal.entries(after_seq=ack, limit=self.config.sync.batch_size)
            if not entries:
                return ack
            data = sign_batch(entries, device_id=self.device_id, signer=self.signer, now=self.clock.now(),
                              head=head, journal_key=journal_key)
            new_ack = self.client.push(self.device_id, data)
            if new_ack < entries[-1]["seq"]:
                raise HubError(f"the hub acknowledged only up to seq {new_ack} after a batch ending at "
                               f"{entries[-1]['seq']}; will retry")
            ack = new_ack
            self.journal.set_acknowledged(ack)
            self._status(backlog=max(self.journal.last_seq() - ack, 0), acknowledged_seq=ack)
            log.info("hub acknowledged seq %d", ack)

    def status_credential(self, at: int | None = None) -> str:
        """The signed status request, at this device's time or at the hub's (Unix ``at``)."""
        when = self.clock.now() if at is None else datetime.fromtimestamp(at, timezone.utc)
        return sign_status_request(self.device_id, self.signer, now=when)

    def _head(self) -> tuple[dict | None, bytes | None]:
        """Sign the journal's current head for this sync (the journal key), with the TPM checkpoint."""
        journal_signer = getattr(self.signer, "journal_signer", None)
        if journal_signer is None:
            return None, None
        self.journal.bind_heads(journal_signer, self.device_id)
        if self.counter is not None:
            integrity.checkpoint(self.journal, journal_signer, self.device_id, self.counter, now=self.clock.now())
        return self.journal.sign_head_now(now=self.clock.now()), journal_signer.public_key_der

    def step(self) -> float:
        """Run once; return how long to back off (0 after success)."""
        if self.run_once():
            self.failures = 0
            return 0.0
        self.failures += 1
        return backoff_delay(self.failures, self.config.sync.backoff_cap_s, self.rng)

    def sync_until_done(self, *, deadline_s: float, monotonic: Callable[[], float]) -> bool:
        """Retry with backoff until the hub has everything (True), a refusal, or the deadline."""
        end = monotonic() + deadline_s
        while True:
            delay = self.step()
            if delay == 0.0:
                return True
            if not isinstance(self.last_exception, HubUnreachable) or monotonic() + delay > end:
                return False
            self._backoff(delay, None)

    def _backoff(self, delay: float, stop: threading.Event | None) -> None:
        if self._sleep is not None:
            self._sleep(delay)
        elif stop is not None:
            stop.wait(delay)
        else:
            threading.Event().wait(delay)

    def run_forever(self, stop: threading.Event, *, wakeup: Wakeup | None = None) -> None:
        """Sync, then wait for a wake-up or ``idle_s``; back off after failures. Ends on ``stop``."""
        if wakeup is None:
            try:
                wakeup = Wakeup(self.config.state_dir / WAKEUP_SOCKET)
            except OSError as exc:
                log.warning("no wake-up socket (%s); polling every %.0f s instead", exc, self.idle_s)
        try:
            while not stop.is_set():
                delay = self.step()
                if stop.is_set():
                    break
                if delay:
                    log.info("retrying in %.1f s (failure %d)", delay, self.failures)
                    self._backoff(delay, stop)
                    if wakeup:
                        wakeup.drain()
                elif wakeup:
                    wakeup.wait(self.idle_s, stop)
                else:
                    stop.wait(self.idle_s)
        finally:
            if wakeup:
                wakeup.close()
