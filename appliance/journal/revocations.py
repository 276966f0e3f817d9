"""Revocation entries: the reason codes, the ``revoked`` entry of a certificate issued here, and
:class:`Revoking`, the issuer's ``revoke`` and ``revoke_group``.

:meth:`appliance.issue.Issuer.correct` writes a correction's new ``issued`` entry and the old
certificate's ``revoked`` entry (:func:`revoked_spec`, reason :data:`CORRECTED`) in one commit.
A ``revoked`` entry carries the issued entry's revocation hashes and kid; its ``data`` is
``{"reason": <code>, "fraud": bool}`` and is synced, so it never holds free text; a ``note``
stays on the device.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import threading
from typing import TYPE_CHECKING

from appliance.errors import InvalidInput
from appliance.journal.journal import Journal
from appliance.messages import Msg

if TYPE_CHECKING:
    from appliance.devices.ports import Clock

log = logging.getLogger(__name__)
audit = logging.getLogger("appliance.audit")

#: Revocation reason codes (synced); the free-text note stays on the device.
REVOCATION_REASONS = ("wrong_data", "wrong_person", "duplicate", "corrected", "fraud", "withdrawn", "other")
#: The reason of the revocation a correction writes for the certificate it replaces.
CORRECTED = "corrected"
#: The hash columns a ``revoked`` entry copies from the ``issued`` one.
HASHES = ("hash_uci", "hash_countrycodeuci", "hash_signature")


def revoked_spec(journal: Journal, uvci: str, *, reason: str, fraud: bool = False, note: str | None = None,
                 idempotency_key: str | None = None) -> dict:
    """The ``revoked`` entry (:meth:`Journal.append` keywords with ``kind``) for certificate ``uvci``.

    :raises InvalidInput: (field ``uvci``) no certificate with this UVCI was issued here, or it
        is already revoked; nothing is written.
    """
    record = journal.certificate(uvci)
    if record is None:
        raise InvalidInput({"uvci": Msg("revoke.unknown")})
    if record.revoked:
        raise InvalidInput({"uvci": Msg("revoke.already")})
    issued = journal.issued_entry(uvci)
    return dict(kind="revoked", type=record.type, uvci=uvci,
                kid=base64.b64decode(issued["kid"]) if issued["kid"] else None,
                hashes={k: issued[k] for k in HASHES}, data={"reason": reason, "fraud": bool(fraud)},
                note=note, idempotency_key=idempotency_key)


def replaced_note(new_uvci: str) -> str:
    """The device-only note of a correction's revocation: which certificate replaced this one."""
    return f"replaced by {new_uvci}"


def uvci_hash(value: str) -> str:
    """What the audit log shows instead of a UVCI."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:16]


class Revoking:
    """The issuer's revocations (a mixin of :class:`appliance.issue.Issuer`): one, or a group in
    one transaction. Uses the issuer's journal, clock and lock (revocations and issuing run one
    at a time)."""

    _journal: Journal
    _clock: "Clock"
    _lock: threading.Lock

    def revoke_group(self, items, *, operator: str, reason: str, fraud: bool = False) -> list:
        """Revoke a group of certificates (bulk revocation) in ONE journal transaction.

        ``items`` is a sequence of ``(idempotency_key, uvci)``. A key already journaled returns its
        earlier ``revoked`` entry (marked ``"replayed": True``). Returns, in input order, the entry
        dict or the :class:`InvalidInput` that refused that UVCI (unknown, already revoked).
        The reason is synced to the hub: it must not contain names or other personal data.
        """
        reason = (reason or "").strip()
        if not reason or len(reason) > 200:
            raise InvalidInput({"reason": Msg("revoke.reason")})
        items = list(items)
        out: dict[str, object] = {}
        with self._lock:
            done = self._journal.keyed_entries(k for k, _ in items)
            out.update((k, {**e, "replayed": True}) for k, e in done.items())
            specs, keys, seen = [], [], set()
            for key, uvci in items:
                if key in out:
                    continue
                if uvci in seen:
                    out[key] = InvalidInput({"uvci": Msg("revoke.already")})
                    continue
                try:
                    specs.append(revoked_spec(self._journal, uvci, reason=reason, fraud=fraud, idempotency_key=key))
                except InvalidInput as exc:
                    out[key] = exc
                    continue
                seen.add(uvci)
                keys.append(key)
            if specs:
                for key, entry in zip(keys, self._journal.append_group(specs, now=self._clock.now(), operator=operator)):
                    audit.info("revoked seq=%d uvci=%s fraud=%s operator=%s (batch)", entry["seq"],
                               uvci_hash(entry["uvci"]), fraud, operator)
                    out[key] = entry
        return [out[k] for k, _ in items]

    def revoke(self, uvci: str, *, operator: str, reason: str, fraud: bool = False, note: str | None = None) -> dict:
        """Journal a revocation of a certificate issued on this device; returns the entry.

        ``reason`` is one of :data:`REVOCATION_REASONS`; only the code is synced. Free text (a
        ``note``, or a ``reason`` that is no code, which then counts as ``other``) stays on the device.
        """
        reason = " ".join((reason or "").split())
        note = " ".join((note or "").split()) or None
        if reason and reason not in REVOCATION_REASONS:
            reason, note = "other", " ".join(filter(None, (reason, note)))
        if not reason:
            raise InvalidInput({"reason": Msg("revoke.reason")})
        if note is not None and len(note) > 200:
            raise InvalidInput({"note": Msg("revoke.note_too_long")})
        with self._lock:
            spec = revoked_spec(self._journal, uvci, reason=reason, fraud=fraud or reason == "fraud", note=note)
            entry = self._journal.append(now=self._clock.now(), operator=operator, **spec)
        audit.info("revoked seq=%d uvci=%s fraud=%s operator=%s", entry["seq"], uvci_hash(uvci), fraud, operator)
        return entry
