"""Accepting a signed batch at the hub: the checks shared by the HTTP endpoint and USB import.

Order of checks (the first failure decides, and nothing is stored):

1. size and structure (``413`` oversized, ``400`` malformed/unsigned);
2. the device is registered (``403``) and the batch is for the device it is sent for (``400``);
3. the signature verifies with the device's registered DSC (``403``);
4. entries already stored must be identical, else it is a fork: the device is flagged (``409``);
5. the new entries continue the stored chain without a gap (``400``) and every link and
   hash verifies (``400``, with the seq and reason).

A batch whose entries are all stored already is a no-op that answers the high-water mark.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from appliance.sync import batches
from appliance.journal import chain
from appliance.errors import DecodeError, HubError
from appliance.hub.store import HubStore

log = logging.getLogger(__name__)


class BatchRejected(HubError):
    """The hub refused a batch; ``status`` is the HTTP status that says why."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Accepted:
    device_id: str
    acknowledged_seq: int
    stored: int          #: new entries stored by this batch (0 = a resent batch, a no-op)


def _open(store: HubStore, data: bytes, url_device_id: str | None, max_entries: int, max_bytes: int):
    if len(data) > max_bytes:
        raise BatchRejected(413, f"batch is {len(data)} bytes; the limit is {max_bytes}: "
                                 "send fewer entries per batch ([sync] batch_size)")
    try:
        device_id = batches.peek_device_id(data, max_bytes=max_bytes)
    except DecodeError as exc:
        raise BatchRejected(400, f"malformed batch: {exc}") from None
    if url_device_id is not None and device_id != url_device_id:
        raise BatchRejected(400, f"batch is for device {device_id!r} but was sent for {url_device_id!r}")
    device = store.device(device_id)
    if device is None:
        raise BatchRejected(403, f"device {device_id!r} is not registered at this hub: "
                                 "run 'appliance hub register-device' first")
    try:
        opened = batches.open_batch_full(data, certificate=store.certificate(device), max_bytes=max_bytes)
    except DecodeError as exc:
        raise BatchRejected(400, f"malformed batch: {exc}") from None
    except HubError as exc:
        raise BatchRejected(403, str(exc)) from None
    if len(opened.entries) > max_entries:
        raise BatchRejected(413, f"batch has {len(opened.entries)} entries; the limit is {max_entries}")
    return device, opened


def accept(store: HubStore, data: bytes, *, now: datetime, url_device_id: str | None = None,
           max_entries: int = 5000, max_bytes: int = batches.MAX_BATCH_BYTES, source: str = "http") -> Accepted:
    """Check and store one signed batch. Raises :class:`BatchRejected`.

    ``max_entries``/``max_bytes`` bound what the network may send; a USB import lifts them.
    """
    device, opened = _open(store, data, url_device_id, max_entries, max_bytes)
    device_id = opened.device_id
    fork: str | None = None
    with store.transaction() as conn:
        row = conn.execute("SELECT acknowledged_seq, last_hash FROM devices WHERE device_id = ?",
                           (device_id,)).fetchone()
        ack, last_hash = row["acknowledged_seq"], row["last_hash"]
        known = [e for e in opened.entries if e["seq"] <= ack]
        if known:
            stored = {e["seq"]: e for e in store.entries(device_id, after_seq=known[0]["seq"] - 1,
                                                         upto_seq=known[-1]["seq"])}
            for entry in known:
                if stored.get(entry["seq"]) != entry:
                    fork = (f"fork at seq {entry['seq']}: the device sent a different entry than the one "
                            "stored; investigate the device before accepting more of its entries")
                    break
        new = [e for e in opened.entries if e["seq"] > ack]
        if fork is None and new:
            if new[0]["seq"] != ack + 1:
                raise BatchRejected(400, f"out-of-order batch: the hub has entries up to seq {ack}, "
                                         f"this batch starts at {new[0]['seq']}; send from seq {ack + 1}")
            broken = chain.first_broken_link(new, prev_hash=last_hash, prev_seq=ack)
            if broken is not None:
                raise BatchRejected(400, f"hash chain broken at seq {broken[0]}: {broken[1]}")
            if device["fork_flag"]:
                raise BatchRejected(409, f"device {device_id!r} is flagged for a fork; "
                                         "no further entries are accepted until it is resolved")
            store.insert_entries(conn, device_id, new, now=now, source=source,
                                 first_seq=opened.first_seq, last_seq=opened.last_seq)
            ack = new[-1]["seq"]
    if fork is not None:
        store.flag_fork(device_id, fork, now)
        log.error("device %s: %s", device_id, fork)
        raise BatchRejected(409, fork)
    if not new:
        store.touch(device_id, now)
    log.info("device %s: batch %d-%d, %d new, acknowledged %d (%s)", device_id, opened.first_seq,
             opened.last_seq, len(new), ack, source)
    return Accepted(device_id=device_id, acknowledged_seq=ack, stored=len(new))
