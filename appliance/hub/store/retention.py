"""Retention of the hub's entries (``appliance hub purge``): whole months older than a cutoff go,
never what the revocation export still needs.

Decided (issue 13): the entries of a month before the cutoff are dropped whole (PostgreSQL: its
partition, ``DROP TABLE``; SQLite: a ``DELETE`` of the same rows). What stays:

- every revocation until the revoked certificate's expiry (``revocations.expires``): the export
  goes on listing it; an expired one older than the cutoff goes;
- the issuing facts (UVCI, kid, the three hashes, expiry) of every certificate in a dropped month
  that has not expired yet (``retained_issued``), so that a revocation arriving later is still
  matched with the certificate its device issued and exported with the right hashes;
- the daily counts (statistics), the signed heads, the batch log and, on PostgreSQL, the narrow
  ``entry_keys`` (a seq is never stored twice);
- per device the number of entries dropped (``devices.purged_entries``), so the listing shows no
  gaps and the chain audit checks the links between the entries that are left.

One transaction: either the whole plan is carried out and recorded in ``retention_runs``, or
nothing changes. A mixin of :class:`appliance.hub.store.base.HubStore`.
"""

from __future__ import annotations

import logging
from datetime import datetime

from appliance.hub.store import derive

log = logging.getLogger(__name__)

HASHES = "hash_uci, hash_countrycodeuci, hash_signature"


def cutoff_month(now: datetime, months: int) -> str:
    """``YYYY-MM-01`` of the first month kept when the ``months`` months before ``now``'s are kept."""
    index = now.year * 12 + now.month - 1 - months
    return f"{index // 12:04d}-{index % 12 + 1:02d}-01"


class RetentionQueries:
    #: engine hooks: the rows of months before a cutoff, their month, a certificate's expiry
    BEFORE_SQL = "e.time < ?"
    MONTH_SQL = "substr(e.time, 1, 7)"
    EXPIRES_SQL = "json_extract(e.data, '$.expires_at')"

    def _drop_entries(self, tx, before: str) -> list[str]:
        """Remove the entries of the months before ``before``; returns what was dropped (names)."""
        tx.execute("DELETE FROM entries WHERE time < ?", (before,))
        return []

    def retention_plan(self, before: str, now: datetime, tx=None) -> dict:
        """What :meth:`purge_before` would do: entries per month, the issuing facts it keeps,
        the expired revocations it deletes."""
        if tx is None:
            with self.reading() as read:
                return self.retention_plan(before, now, read)
        zulu = derive.zulu(now)
        months = tx.all(f"SELECT {self.MONTH_SQL} AS month, COUNT(*) AS entries FROM entries e"
                        f" WHERE {self.BEFORE_SQL} GROUP BY {self.MONTH_SQL} ORDER BY 1", (before,))
        keep = tx.one(f"SELECT COUNT(*) AS n FROM entries e WHERE {self.BEFORE_SQL} AND e.kind = 'issued'"
                      f" AND e.uvci IS NOT NULL AND COALESCE({self.EXPIRES_SQL}, '9999') >= ?", (before, zulu))["n"]
        revocations = tx.one("SELECT COUNT(*) AS n FROM revocations WHERE expires < ? AND revoked_at < ?",
                             (zulu, before))["n"]
        return {"before": before, "months": [dict(m, entries=int(m["entries"])) for m in months],
                "entries": sum(int(m["entries"]) for m in months), "kept_issued": int(keep),
                "revocations": int(revocations)}

    def purge_before(self, before: str, *, now: datetime, operator: str) -> dict:
        """Drop the entries of the months before ``before`` (``YYYY-MM-01``) as decided above;
        returns the plan carried out (with ``dropped``: the partitions, on PostgreSQL)."""
        zulu = derive.zulu(now)
        with self.transaction() as tx:
            plan = self.retention_plan(before, now, tx)
            per_device = tx.all(f"SELECT e.device_id AS device_id, COUNT(*) AS n FROM entries e"
                                f" WHERE {self.BEFORE_SQL} GROUP BY e.device_id", (before,))
            tx.execute(f"INSERT INTO retained_issued (device_id, uvci, seq, kid, {HASHES}, expires)"
                       f" SELECT e.device_id, e.uvci, e.seq, e.kid, e.hash_uci, e.hash_countrycodeuci, e.hash_signature,"
                       f" COALESCE({self.EXPIRES_SQL}, '9999-12-31T00:00:00Z') FROM entries e"
                       f" WHERE {self.BEFORE_SQL} AND e.kind = 'issued' AND e.uvci IS NOT NULL"
                       f" AND COALESCE({self.EXPIRES_SQL}, '9999') >= ? ON CONFLICT DO NOTHING", (before, zulu))
            tx.many("UPDATE devices SET purged_entries = purged_entries + ? WHERE device_id = ?",
                    [(int(r["n"]), r["device_id"]) for r in per_device])
            plan["dropped"] = self._drop_entries(tx, before)
            tx.execute("DELETE FROM revocations WHERE expires < ? AND revoked_at < ?", (zulu, before))
            tx.execute("DELETE FROM retained_issued WHERE expires < ?", (zulu,))
            tx.execute("INSERT INTO retention_runs (run_at, operator, before_month, entries, kept_issued, revocations,"
                       " detail) VALUES (?, ?, ?, ?, ?, ?, ?)",
                       (derive.iso(now), operator, before, plan["entries"], plan["kept_issued"], plan["revocations"],
                        ", ".join(m["month"] for m in plan["months"]) or None))
        log.warning("retention by %s: dropped %d entries of the months before %s (%s), kept the issuing facts of "
                    "%d unexpired certificates, deleted %d expired revocations", operator, plan["entries"], before,
                    ", ".join(m["month"] for m in plan["months"]) or "none", plan["kept_issued"], plan["revocations"])
        return plan

    def retained_issued(self, tx, device_id: str, uvcis: set[str]) -> dict[str, dict]:
        """The kept issuing facts of these UVCIs (certificates whose entries retention dropped)."""
        found: dict[str, dict] = {}
        for uvci in sorted(uvcis):
            row = tx.one(f"SELECT uvci, kid, {HASHES}, expires FROM retained_issued WHERE device_id = ? AND uvci = ?"
                         " ORDER BY seq LIMIT 1", (device_id, uvci))
            if row is not None:
                found[uvci] = dict(row, data={"expires_at": row.pop("expires")})
        return found
