"""Certificates issued under a wrong clock (issue 11, finding 1), as the hub keeps them.

A device that ran with a wrong, later clock journals ``clock_corrected`` once its clock is right
again (``appliance journal correct-clock``); the entry names the bad interval of its journal
(``bad_from_seq`` .. ``bad_until_seq``). When such an entry arrives, the batch's transaction
records the interval (``clock_intervals``) with the number of certificates (``issued`` entries)
inside it, and adds that number to ``devices.wrong_clock_certificates``: the central office sees
which devices' certificates must be revoked and re-issued, and lists them
(:meth:`ClockIntervalQueries.wrong_clock_certificates`).

A mixin of :class:`appliance.hub.store.base.HubStore`, one SQL text for both engines.
"""

from __future__ import annotations

import logging
from datetime import datetime

from appliance.hub.store import derive

log = logging.getLogger(__name__)


class ClockIntervalQueries:
    def insert_clock_intervals(self, tx, device_id: str, entries: list[dict], now: datetime) -> None:
        """Inside the batch's transaction, after its entries are written (the interval's entries
        come before the correction, so they are stored by now)."""
        for entry in entries:
            if entry["kind"] != "clock_corrected":
                continue
            first, last, bad_from, bad_until, corrected_to = derive.clock_interval(entry)
            count = tx.one("SELECT COUNT(*) AS n FROM entries WHERE device_id = ? AND kind = 'issued'"
                           " AND seq >= ? AND seq <= ?", (device_id, first, last))["n"]
            tx.execute("INSERT INTO clock_intervals (device_id, seq, bad_from_seq, bad_until_seq, bad_from, bad_until,"
                       " corrected_to, certificates, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       (device_id, entry["seq"], first, last, bad_from, bad_until, corrected_to, count,
                        derive.iso(now)))
            tx.execute("UPDATE devices SET wrong_clock_certificates = wrong_clock_certificates + ?"
                       " WHERE device_id = ?", (count, device_id))
            log.warning("device %s: %d certificate(s) of seq %d..%d were issued under a wrong clock "
                        "(clock_corrected at seq %d): revoke and re-issue them", device_id, count, first, last,
                        entry["seq"])

    def clock_intervals(self, device_id: str) -> list[dict]:
        with self.reading() as tx:
            return tx.all("SELECT seq, bad_from_seq, bad_until_seq, bad_from, bad_until, corrected_to, certificates,"
                          " received_at FROM clock_intervals WHERE device_id = ? ORDER BY seq", (device_id,))

    def wrong_clock_certificates(self, device_id: str, *, after_seq: int = 0, limit: int = 1000) -> list[dict]:
        """The device's certificates issued inside a corrected interval, by seq (a keyset page)."""
        with self.reading() as tx:
            return tx.all("SELECT e.seq AS seq, e.uvci AS uvci, e.type AS type, e.time AS time, e.kid AS kid,"
                          " k.seq AS corrected_by FROM entries e JOIN clock_intervals k ON k.device_id = e.device_id"
                          " AND e.seq >= k.bad_from_seq AND e.seq <= k.bad_until_seq"
                          " WHERE e.device_id = ? AND e.kind = 'issued' AND e.seq > ? ORDER BY e.seq LIMIT ?",
                          (device_id, after_seq, limit))
