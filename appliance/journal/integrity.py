"""Is this journal the one the device signed? The newest signed head, the hub's cursor, the TPM counter.

:func:`check` is what start-up (the issuer's first readiness check) and ``appliance journal
verify`` run. It reports *problems* (issuing must stop) and *notes* (what the device cannot
tell on its own):

- the newest signed head (:mod:`appliance.journal.heads`) must carry a valid signature of this
  device's journal key and match the entry at its ``seq``: entries cut off behind it
  (truncation) or rewritten with recomputed hashes are found;
- signed heads that existed once must still exist;
- the hub's acknowledged ``seq`` must not lie beyond the journal's end (a synced entry was deleted);
- with a TPM NV counter (:class:`Counter`), the newest *checkpoint* (a signed binding of the
  counter's value to a head) must carry the counter's current value: a restored older copy of
  the journal (an old SD-card image) has an older checkpoint. Checkpoints are written by
  :func:`checkpoint` (row first, then the increment, so a crash in between leaves the row one
  ahead, which :func:`check` accepts and the next :func:`checkpoint` completes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

import cbor2

from appliance.errors import Msg
from appliance.journal import heads
from appliance.util.locks import exclusive_lock
from appliance.util.timefmt import fmt_utc

COUNTER_DOMAIN = "appliance-journal-counter/1"
COUNTER_LOCK = "journal-counter.lock"
NO_COUNTER = ("no TPM counter configured: a restored older copy of the whole journal is found only by "
              "the hub, from the signed heads it stored, at the next sync")


class Counter(Protocol):
    """A monotonic counter outside the SD card (the TPM's NV counter)."""

    def read(self) -> int: ...

    def increment(self) -> None: ...


@dataclass
class Report:
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    head: dict | None = None


def counter_message(device_id: str, counter: int, seq: int, hash_: str, time: str) -> bytes:
    return cbor2.dumps([COUNTER_DOMAIN, device_id, int(counter), int(seq), hash_, time])


def check(journal, signer: heads.HeadSigner | None, device_id: str, *, counter: Counter | None = None) -> Report:
    """Every integrity problem of ``journal`` that the signed heads and the counter reveal."""
    report = Report()
    last, acked, head = journal.head_snapshot()
    if acked > last:
        report.problems.append(Msg("integrity.acked_beyond", acked=acked, last=last, todo=_todo()))
    if signer is None:
        report.notes.append("no journal key on this device: the journal heads are not signed; run "
                            "'appliance provision keygen' to add it")
        return report
    _check_head(journal, signer, device_id, last, head, report)
    if counter is None:
        report.notes.append(NO_COUNTER)
    else:
        _check_counter(journal, signer, device_id, counter, last, report)
    return report


def _check_head(journal, signer, device_id: str, last: int, head: dict | None, report: Report) -> None:
    report.head = head
    if head is None:
        if journal.heads_since() is not None:
            report.problems.append(Msg("integrity.heads_deleted", todo=_todo()))
        elif last:
            report.notes.append(f"no signed head yet: entries up to seq {last} predate signed heads")
        return
    if not heads.verify_head(signer.public_key_der, device_id, head):
        report.problems.append(Msg("integrity.head_forged", seq=head["seq"], todo=_todo()))
    elif head["seq"] > last:
        report.problems.append(Msg("integrity.cut_off", last=last, seq=head["seq"], first=last + 1, todo=_todo()))
    elif journal.entry_hash(head["seq"]) != head["hash"]:
        report.problems.append(Msg("integrity.rewritten", seq=head["seq"], todo=_todo()))


def _check_counter(journal, signer, device_id: str, counter: Counter, last: int, report: Report) -> None:
    with exclusive_lock(journal.path.with_name(COUNTER_LOCK)):  # not between another process's row and increment
        value = counter.read()
        cp = journal.newest_checkpoint()
    if cp is None:
        if journal.meta_value("counter_since") is not None:
            report.problems.append(Msg("integrity.checkpoints_deleted", todo=_todo()))
        return
    message = counter_message(device_id, cp["counter"], cp["seq"], cp["hash"], cp["time"])
    if not heads.verify_raw(signer.public_key_der, message, cp["sig"]):
        report.problems.append(Msg("integrity.checkpoint_forged", counter=cp["counter"], todo=_todo()))
    elif cp["counter"] < value:
        report.problems.append(Msg("integrity.older_copy", value=value, counter=cp["counter"], seq=cp["seq"],
                                   todo=_todo()))
    elif cp["counter"] > value + 1:
        report.problems.append(Msg("integrity.counter_ahead", counter=cp["counter"], value=value, todo=_todo()))
    elif cp["seq"] > last or journal.entry_hash(cp["seq"]) != cp["hash"]:
        report.problems.append(Msg("integrity.checkpoint_mismatch", seq=cp["seq"], todo=_todo()))


def _todo() -> Msg:
    """What to do about any integrity problem (the end of each problem's text)."""
    return Msg("integrity.what_to_do")


def checkpoint(journal, signer: heads.HeadSigner, device_id: str, counter: Counter, *, now: datetime) -> dict | None:
    """Bind the current head to the counter's next value (at start-up, every N entries, every sync)."""
    with exclusive_lock(journal.path.with_name(COUNTER_LOCK)):
        head = journal.sign_head_now(now=now)
        if head is None:
            return None
        value = counter.read()
        cp = journal.newest_checkpoint()
        if cp is not None and cp["counter"] == value + 1:   # a crash left the increment undone
            counter.increment()
            value += 1
            if cp["seq"] == head["seq"]:
                return cp
        row = {"counter": value + 1, "seq": head["seq"], "hash": head["hash"], "time": fmt_utc(now)}
        row["sig"] = signer.sign(counter_message(device_id, row["counter"], row["seq"], row["hash"], row["time"]))
        journal.store_checkpoint(row)
        counter.increment()
        return row
