"""Accepting a signed batch at the hub: the checks shared by the HTTP endpoint and USB import.

Order of checks (the first failure decides, and nothing is stored):

1. size (``413``), then the device is registered (``403``);
2. the envelope is read from its headers and its signature checked with the device's DSC
   (``400`` not a COSE_Sign1, ``403`` another key or a bad signature) *before* any entry is
   decoded (:mod:`appliance.hub.envelope`);
3. the body decodes, is for this device (``400``) and holds only what the hub can store
   (``400`` naming the entry and field, :mod:`appliance.hub.validate`);
4. inside one transaction that holds the device's row lock (:mod:`appliance.hub.store`): the
   journal key and signed head (``403``; rollback and fork are flagged, ``409``,
   :mod:`appliance.hub.head_checks`); entries already stored must be identical, else it is a
   fork: flagged (``409``); new entries continue the chain without a gap (``400``) and every link
   verifies (``400``); a flagged device is refused (``409``); a revocation names a certificate
   this device issued (``403``).

A batch whose entries are all stored already is a no-op that answers the high-water mark.
Database failures raise :class:`~appliance.hub.store.StoreUnavailable` (``503``): the
transaction is rolled back whole, never a partial batch.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from appliance.errors import DecodeError, HubError, InvalidInput
from appliance.hub import envelope, head_checks, validate
from appliance.hub.store import HubStore
from appliance.hub.store.derive import iso, month_of, version_key
from appliance.journal import chain
from appliance.journal import heads as journal_heads
from appliance.sync import batches

log = logging.getLogger(__name__)


class BatchRejected(HubError):
    """The hub refused a batch; ``status`` is the HTTP status that says why."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


class _Flag(Exception):
    """Raised inside the transaction to roll it back and flag the device after."""

    def __init__(self, kind: str, detail: str):
        super().__init__(detail)
        self.kind, self.detail = kind, detail


@dataclass(frozen=True)
class Accepted:
    device_id: str
    acknowledged_seq: int
    stored: int          #: new entries stored by this batch (0 = a resent batch, a no-op)


def _open(store: HubStore, data: bytes, url_device_id: str | None, max_entries: int, max_bytes: int):
    if len(data) > max_bytes:
        raise BatchRejected(413, f"batch is {len(data)} bytes; the limit is {max_bytes}: "
                                 "send fewer entries per batch ([sync] batch_size)")
    device_id = url_device_id
    if device_id is None:                         # a USB bundle part: no URL names the device
        try:
            device_id = batches.peek_device_id(data, max_bytes=max_bytes)
        except DecodeError as exc:
            raise BatchRejected(400, f"malformed batch: {exc}") from None
    device = store.device(device_id)
    if device is None:
        raise BatchRejected(403, f"device {device_id!r} is not registered at this hub: "
                                 "run 'appliance hub register-device' first")
    certificate = store.certificate(device)
    try:
        envelope.authenticate(data, certificate)
        opened = batches.open_batch_full(data, certificate=certificate, max_bytes=max_bytes)
    except DecodeError as exc:
        raise BatchRejected(400, f"malformed batch: {exc}") from None
    except HubError as exc:
        raise BatchRejected(403, str(exc)) from None
    if opened.device_id != device_id:
        raise BatchRejected(400, f"batch is for device {opened.device_id!r} but was sent for {device_id!r}")
    if len(opened.entries) > max_entries:
        raise BatchRejected(413, f"batch has {len(opened.entries)} entries; the limit is {max_entries}")
    try:
        validate.check_entries(opened.entries)
    except InvalidInput as exc:
        raise BatchRejected(400, str(exc)) from None
    return device, opened


def _check_known(store: HubStore, tx, device_id: str, known: list[dict], purged: int = 0) -> None:
    stored = {e["seq"]: e for e in store.entries(device_id, after_seq=known[0]["seq"] - 1,
                                                 upto_seq=known[-1]["seq"], tx=tx)}
    for entry in known:
        if purged and entry["seq"] not in stored:
            continue                  # dropped by retention (appliance hub purge): nothing left to compare
        if stored.get(entry["seq"]) != entry:
            raise _Flag("fork", f"fork at seq {entry['seq']}: the device sent a different entry than the one "
                                "stored; investigate the device before accepting more of its entries")


def _check_head(store: HubStore, tx, row: dict, opened, device_id: str, ack: int) -> tuple[dict | None, bytes | None]:
    """The head to store (or None) and the journal key to pin (or None)."""
    head, offered = getattr(opened, "head", None), getattr(opened, "journal_key", None)
    if head is None and offered is None:
        return None, None
    try:
        key = head_checks.journal_key_to_use(row["journal_key"], offered, device_id)
        if head is not None:
            head_checks.verify(key, device_id, head)
    except head_checks.HeadRefused as exc:
        raise BatchRejected(403, str(exc)) from None
    pin = key if row["journal_key"] is None else None
    if head is None:
        return None, pin
    stored = tx.one("SELECT hash FROM entries WHERE device_id = ? AND seq = ?", (device_id, head["seq"]))
    same = tx.one("SELECT hash FROM heads WHERE device_id = ? AND seq = ?", (device_id, head["seq"]))
    newest = None if row["head_seq"] is None else {"seq": row["head_seq"], "hash": row["head_hash"],
                                                   "time": row["head_time"]}
    verdict = head_checks.judge(head, newest=newest, ack=ack, stored_hash=stored and stored["hash"],
                                same_seq_hash=same and same["hash"])
    if verdict.flag_kind:
        raise _Flag(verdict.flag_kind, verdict.detail)
    if not verdict.store and same is None:
        log.warning("device %s: ignored a signed head for seq %d older than the newest (%s): a delayed request",
                    device_id, head["seq"], row["head_seq"])
    return (head if verdict.store else None), pin


def _revoked_origins(store: HubStore, tx, device_id: str, new: list[dict]) -> dict:
    """The issuing entries of the certificates this batch revokes; 403 for one the device did not issue."""
    wanted = {e["uvci"] for e in new if e["kind"] == "revoked"}
    if not wanted:
        return {}
    here = {e["uvci"]: e for e in new if e["kind"] == "issued" and e["uvci"] in wanted}
    origins = dict(here, **store.issued_entries(tx, device_id, wanted - set(here)))
    for entry in new:
        if entry["kind"] == "revoked" and entry["uvci"] not in origins:
            log.warning("device %s: refused a revocation at seq %d of a certificate it did not issue",
                        device_id, entry["seq"])
            raise BatchRejected(403, f"seq {entry['seq']} revokes a certificate that device {device_id!r} did not "
                                     "issue; a device may revoke only its own certificates (nothing was stored)")
    return origins


def _store_batch(store: HubStore, opened, device_id: str, *, now: datetime, source: str,
                 versions: tuple[str | None, str | None]) -> tuple[int, int]:
    """The transaction: returns (acknowledged_seq, new entries stored)."""
    with store.transaction() as tx:
        row = tx.one(f"SELECT acknowledged_seq, last_hash, fork_flag, journal_key, head_seq, head_hash, head_time,"
                     f" purged_entries FROM devices WHERE device_id = ?{store.FOR_UPDATE}", (device_id,))
        ack, last_hash = row["acknowledged_seq"], row["last_hash"]
        known = [e for e in opened.entries if e["seq"] <= ack]
        if known:
            _check_known(store, tx, device_id, known, purged=row["purged_entries"])
        head, pin = _check_head(store, tx, row, opened, device_id, ack)
        new = [e for e in opened.entries if e["seq"] > ack]
        if new:
            if new[0]["seq"] != ack + 1:
                raise BatchRejected(400, f"out-of-order batch: the hub has entries up to seq {ack}, "
                                         f"this batch starts at {new[0]['seq']}; send from seq {ack + 1}")
            if ack > 0 and new[0]["prev_hash"] != last_hash:
                raise _Flag("fork", f"fork at seq {ack}: the device's entry there is not the one the hub stores "
                                    f"(seq {ack + 1} links to another hash): its journal was rewritten")
            broken = chain.first_broken_link(new, prev_hash=last_hash, prev_seq=ack)
            if broken is not None:
                raise BatchRejected(400, f"hash chain broken at seq {broken[0]}: {broken[1]}")
            if row["fork_flag"]:
                raise BatchRejected(409, f"device {device_id!r} is flagged ({store.device(device_id)['fork_detail']}); "
                                         "no further entries are accepted until the central office clears it "
                                         "('appliance hub clear-fork')")
            origins = _revoked_origins(store, tx, device_id, new)
            seen = tx.all("SELECT seq, hash FROM heads WHERE device_id = ? AND seq > ? AND seq <= ?",
                          (device_id, ack, new[-1]["seq"]))
            fork = head_checks.contradicted(seen, {e["seq"]: e["hash"] for e in new})
            if fork:
                raise _Flag("fork", fork)
            store.insert_entries(tx, device_id, new, now=now, source=source, first_seq=opened.first_seq,
                                 last_seq=opened.last_seq)
            ack = new[-1]["seq"]
        if pin is not None:
            tx.execute("UPDATE devices SET journal_key = ?, journal_kid = ? WHERE device_id = ?",
                       (pin, journal_heads.journal_kid(pin), device_id))
            log.info("device %s: journal key pinned", device_id)
        if head is not None:
            store.store_head(tx, device_id, head, now)
        tx.execute("UPDATE devices SET last_seen = ?, software_version = COALESCE(?, software_version),"
                   " refdata_version = COALESCE(?, refdata_version), software_key = COALESCE(?, software_key)"
                   " WHERE device_id = ?", (iso(now), *versions, version_key(versions[0]), device_id))
        if new:
            store.insert_revocations(tx, device_id, new, origins)   # last: it holds the export lock to the commit
    return ack, len(new)


def accept(store: HubStore, data: bytes, *, now: datetime, url_device_id: str | None = None,
           max_entries: int = 5000, max_bytes: int = batches.MAX_BATCH_BYTES, source: str = "http",
           software: str | None = None, refdata: str | None = None) -> Accepted:
    """Check and store one signed batch. Raises :class:`BatchRejected` or ``StoreUnavailable``.

    ``max_entries``/``max_bytes`` bound what the network may send; a USB import lifts them.
    ``software``/``refdata``: versions the device reported (shown on the status page).
    """
    device, opened = _open(store, data, url_device_id, max_entries, max_bytes)
    device_id = opened.device_id
    store.before_entries({month_of(e["time"]) for e in opened.entries if e["seq"] > device["acknowledged_seq"]},
                         now=now)
    try:
        ack, stored = _store_batch(store, opened, device_id, now=now, source=source, versions=(software, refdata))
    except _Flag as flag:
        store.flag(device_id, flag.kind, flag.detail, now)
        log.error("device %s flagged (%s): %s", device_id, flag.kind, flag.detail)
        raise BatchRejected(409, flag.detail) from None
    log.info("device %s: batch %d-%d, %d new, acknowledged %d (%s)", device_id, opened.first_seq,
             opened.last_seq, stored, ack, source)
    return Accepted(device_id=device_id, acknowledged_seq=ack, stored=stored)
