"""The hub's side of the signed journal heads (the format: :mod:`appliance.journal.heads`).

A batch may carry the device's newest signed head and its journal key (both signed over by
the device key with the rest of the batch). The hub

- pins the first journal key it sees for a device (trust on first use, authenticated by the
  DSC signature over the batch) and refuses a batch with another key (403);
- refuses a head whose signature does not verify with the pinned key (403);
- flags a **rollback** when a head has a lower seq than the newest it accepted and was signed
  later (a head signed earlier is a request the network delayed: ignored, not stored), or a
  lower seq than the entries the hub already holds;
- flags a **fork** when a head's ``(seq, hash)`` contradicts a stored entry or a stored head;
- once entries reach a head's seq, checks that the entry there has the head's hash.

These are pure checks of values read inside the batch's transaction; intake acts on them.
"""

from __future__ import annotations

from dataclasses import dataclass

from appliance.journal import heads as journal_heads


class HeadRefused(Exception):
    """The batch is refused (403) for its head or journal key; nothing is stored or flagged."""


@dataclass(frozen=True)
class Verdict:
    """What to do with a verified head: store it, ignore it (stale), or flag the device."""

    store: bool
    flag_kind: str | None = None
    detail: str = ""


def journal_key_to_use(pinned: bytes | None, offered: bytes | None, device_id: str) -> bytes | None:
    """The key heads are checked with; raises :class:`HeadRefused` for a key other than the pinned one."""
    if offered is not None:
        try:
            journal_heads.load_public_key(offered)
        except ValueError:
            raise HeadRefused(f"the batch's journal_key is not a P-256 public key (SubjectPublicKeyInfo DER); "
                              f"device {device_id!r} must send its journal key") from None
        if pinned is not None and bytes(pinned) != bytes(offered):
            raise HeadRefused(f"device {device_id!r} sent another journal key than the one the hub pinned at its "
                              "first head; a device keeps its journal key (re-provisioning needs the central "
                              "office to re-register the device)")
    return bytes(pinned) if pinned is not None else offered


def verify(key: bytes | None, device_id: str, head: dict) -> None:
    """:raises HeadRefused: malformed head, no key to check it with, or a signature that does not verify."""
    problem = journal_heads.head_problem(head)
    if problem is not None:
        raise HeadRefused(f"the batch's signed head is malformed: {problem}")
    if key is None:
        raise HeadRefused("the batch has a signed head but the hub has no journal key for the device: "
                          "send journal_key with the head")
    if not journal_heads.verify_head(key, device_id, head):
        raise HeadRefused("the batch's signed head does not verify with the device's journal key")


def judge(head: dict, *, newest: dict | None, ack: int, stored_hash: str | None,
          same_seq_hash: str | None) -> Verdict:
    """Judge a verified head against what the hub holds.

    ``newest``: the newest head accepted (``seq``, ``hash``, ``time``) or None; ``ack``: the hub's
    high-water mark; ``stored_hash``: the stored entry's hash at ``head["seq"]`` (None if not stored);
    ``same_seq_hash``: the hash of a stored head with the same seq (None if there is none).
    """
    seq = head["seq"]
    if stored_hash is not None and stored_hash != head["hash"]:
        return Verdict(False, "fork", f"fork at seq {seq}: the device's signed head has another hash than the "
                                      "entry the hub stores there (its journal was rewritten)")
    if same_seq_hash is not None and same_seq_hash != head["hash"]:
        return Verdict(False, "fork", f"fork at seq {seq}: the device signed two different heads for one seq")
    if newest is not None and seq < newest["seq"]:
        if head["time"] <= newest["time"]:
            return Verdict(False)             # an older request that the network delayed
        return Verdict(False, "rollback", f"rollback: the device's newest signed head is seq {seq}, after the hub "
                                          f"accepted seq {newest['seq']}; entries were removed from its journal")
    if seq < ack:
        return Verdict(False, "rollback", f"rollback: the device's newest signed head is seq {seq} but the hub "
                                          f"holds its entries up to seq {ack}; entries were removed from its journal")
    return Verdict(same_seq_hash is None)


def contradicted(heads_in_range: list[dict], hashes: dict[int, str]) -> str | None:
    """A fork detail when a stored head disagrees with a newly stored entry at its seq, else None."""
    for head in heads_in_range:
        got = hashes.get(head["seq"])
        if got is not None and got != head["hash"]:
            return (f"fork at seq {head['seq']}: the entry the device sent there does not have the hash of the "
                    "head it signed before (its journal was rewritten)")
    return None
