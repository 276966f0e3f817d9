"""The store's entry queries: reading entries (keyset by seq), storing a checked batch with
everything derived from it (counters, daily counts, revocations, heads), and the audit
that re-reads a device's stored chain.

A mixin of :class:`appliance.hub.store.base.HubStore`, one SQL text for both engines.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime

from appliance.hub.store import derive
from appliance.journal import chain

log = logging.getLogger(__name__)

ENTRY_COLUMNS = chain.FIELDS  # stored 1:1 (data as canonical JSON text)
ENTRY_SQL = ", ".join(ENTRY_COLUMNS)
REVOCATION_LOCK = 7_240_002    #: revocation export ids are handed out in commit order under this lock
HASHES = ("hash_uci", "hash_countrycodeuci", "hash_signature")


def row_to_entry(row: dict) -> dict:
    entry = {k: row[k] for k in ENTRY_COLUMNS}
    entry["data"] = json.loads(entry["data"])
    return entry


def _segments(run: list[dict], purged: int) -> list[list[dict]]:
    """The run split where seqs jump (only where retention dropped entries; else one run, whose gap
    :func:`appliance.journal.chain.first_broken_link` reports)."""
    if not purged:
        return [run]
    out = [[run[0]]]
    for entry in run[1:]:
        if entry["seq"] != out[-1][-1]["seq"] + 1:
            out.append([])
        out[-1].append(entry)
    return out


class EntryQueries:
    #: the next id of the batch log (SQLite's 0001 table has no rowid alias; writers are serial there)
    BATCH_ID = "(SELECT COALESCE(MAX(id), 0) + 1 FROM batches)"

    def entries(self, device_id: str, after_seq: int = 0, limit: int | None = None,
                upto_seq: int | None = None, tx=None) -> list[dict]:
        sql = f"SELECT {ENTRY_SQL} FROM entries WHERE device_id = ? AND seq > ?"
        params: list = [device_id, after_seq]
        if upto_seq is not None:
            sql += " AND seq <= ?"
            params.append(upto_seq)
        sql += " ORDER BY seq"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        if tx is not None:
            return [row_to_entry(r) for r in tx.all(sql, params)]
        with self.reading() as read:
            return [row_to_entry(r) for r in read.all(sql, params)]

    def count(self, device_id: str) -> int:
        """Entries really stored for the device (a COUNT; the listing reads ``entry_count``)."""
        with self.reading() as tx:
            return tx.one("SELECT COUNT(*) AS n FROM entries WHERE device_id = ?", (device_id,))["n"]

    def entry_rows(self, device_id: str, entries: list[dict], now: datetime) -> list[tuple]:
        return [(device_id,) + tuple(derive.canonical_data(e["data"]) if k == "data" else e[k] for k in ENTRY_COLUMNS)
                + derive.stats_columns(e) + (derive.iso(now),) for e in entries]

    def write_entries(self, tx, device_id: str, entries: list[dict], now: datetime) -> None:
        """The entry rows themselves (PostgreSQL adds the month and ``entry_keys``)."""
        marks = ", ".join("?" * (len(ENTRY_COLUMNS) + 6))
        tx.many(f"INSERT INTO entries (device_id, {ENTRY_SQL}, day, centre, product, dose, received_at)"
                f" VALUES ({marks})", self.entry_rows(device_id, entries, now))

    def insert_entries(self, tx, device_id: str, entries: list[dict], *, now: datetime, source: str,
                       first_seq: int, last_seq: int) -> None:
        """Inside :meth:`transaction` (the device row locked): store checked new entries with all that
        derives from them, move the high-water mark, log the batch.

        The revocations themselves go in last (:meth:`insert_revocations`): their export cursor
        takes a database-wide lock until the commit, so it is held for that one insert only."""
        self.write_entries(tx, device_id, entries, now)
        counts: dict[tuple, int] = {}
        for entry in entries:
            key = derive.count_key(device_id, entry)
            if key is not None:
                counts[key] = counts.get(key, 0) + 1
        tx.many("INSERT INTO daily_counts (day, device_id, centre, type, product, dose, count)"
                " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (day, device_id, centre, type, product, dose)"
                " DO UPDATE SET count = daily_counts.count + excluded.count",
                [k + (n,) for k, n in sorted(counts.items())])
        self.add_centre_counts(tx, device_id, counts)
        self.insert_clock_intervals(tx, device_id, entries, now)   # (appliance.hub.store.clock_intervals)
        last = entries[-1]
        tx.execute("UPDATE devices SET acknowledged_seq = ?, last_hash = ?, last_seen = ?,"
                   " entry_count = entry_count + ? WHERE device_id = ?",
                   (last["seq"], last["hash"], derive.iso(now), len(entries), device_id))
        tx.execute("INSERT INTO batches (id, device_id, received_at, source, first_seq, last_seq, new_entries,"
                   f" acknowledged_seq) VALUES ({self.BATCH_ID}, ?, ?, ?, ?, ?, ?, ?)",
                   (device_id, derive.iso(now), source, first_seq, last_seq, len(entries), last["seq"]))

    def insert_revocations(self, tx, device_id: str, entries: list[dict], issued: dict) -> None:
        """The revocations of these stored entries (``issued`` maps their UVCIs to the issuing entries,
        as :meth:`issued_entries` returns them), as the LAST statement of the batch's transaction:
        export ids are handed out in commit order under :data:`REVOCATION_LOCK`, which is held from
        here to the commit (taken earlier, it serialised whole batches of every device)."""
        revoked = [e for e in entries if e["kind"] == "revoked"]
        if not revoked:
            return
        self.lock_global(tx, REVOCATION_LOCK)
        country = tx.one("SELECT country FROM devices WHERE device_id = ?", (device_id,))["country"]
        rows = []
        for entry in revoked:
            origin = issued.get(entry["uvci"]) or {}
            origin_data = origin.get("data")
            rows.append((device_id, entry["seq"], entry["uvci"], origin.get("kid") or entry["kid"], country,
                         *(origin.get(h) or entry[h] for h in HASHES),
                         derive.revocation_expiry(origin_data, entry["data"], entry["time"]), entry["time"]))
        tx.many("INSERT INTO revocations (device_id, seq, uvci, kid, country, hash_uci, hash_countrycodeuci,"
                " hash_signature, expires, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)

    def issued_entries(self, tx, device_id: str, uvcis: set[str]) -> dict[str, dict]:
        """The stored issuing entries of these UVCIs on this device only (a device revokes only its own),
        or their issuing facts that retention kept (:mod:`.retention`)."""
        found: dict[str, dict] = {}
        for uvci in sorted(uvcis):
            row = tx.one("SELECT uvci, kid, hash_uci, hash_countrycodeuci, hash_signature, data FROM entries"
                         " WHERE device_id = ? AND uvci = ? AND kind = 'issued' ORDER BY seq LIMIT 1",
                         (device_id, uvci))
            if row is not None:
                row["data"] = json.loads(row["data"])
                found[uvci] = row
        missing = uvcis - set(found)
        if missing and tx.one("SELECT purged_entries AS n FROM devices WHERE device_id = ?", (device_id,))["n"]:
            found.update(self.retained_issued(tx, device_id, missing))
        return found

    def store_head(self, tx, device_id: str, head: dict, now: datetime) -> None:
        tx.execute("INSERT INTO heads (device_id, seq, hash, time, kid, sig, received_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
                   " ON CONFLICT (device_id, seq) DO NOTHING",
                   (device_id, head["seq"], head["hash"], head["time"], head["kid"], head["sig"], derive.iso(now)))
        tx.execute("UPDATE devices SET head_seq = ?, head_hash = ?, head_time = ? WHERE device_id = ?"
                   " AND (head_seq IS NULL OR head_seq <= ?)",
                   (head["seq"], head["hash"], head["time"], device_id, head["seq"]))

    def revocations(self, *, since: int = 0, country: str | None = None, limit: int | None = None) -> list[dict]:
        """Revocations after export cursor ``since``, in the order they were committed."""
        sql = "SELECT * FROM revocations WHERE id > ?"
        params: list = [since]
        if country:
            sql += " AND country = ?"
            params.append(country)
        sql += " ORDER BY id"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        with self.reading() as tx:
            return tx.all(sql, params)

    def audit(self, device_id: str) -> tuple[int, str] | None:
        """Re-read the device's stored chain: ``None`` = intact, else ``(seq, reason)``; the result
        is recorded in ``devices.chain_error`` (what the listing shows)."""
        device = self.device(device_id)
        if device is None:
            return None
        purged = device.get("purged_entries") or 0
        ack = device["acknowledged_seq"]
        seq, prev_hash, broken, skipped = 0, chain.GENESIS, None, 0
        while broken is None:
            run = self.entries(device_id, after_seq=seq, limit=5000)
            if not run:
                break
            for segment in _segments(run, purged):
                if purged and segment[0]["seq"] != seq + 1:       # retention dropped the entries before it
                    skipped += segment[0]["seq"] - seq - 1
                    seq, prev_hash = segment[0]["seq"] - 1, segment[0]["prev_hash"]
                broken = chain.first_broken_link(segment, prev_hash=prev_hash, prev_seq=seq)
                if broken is not None:
                    break
                seq, prev_hash = segment[-1]["seq"], segment[-1]["hash"]
        tail_dropped = broken is None and purged and seq < ack
        if tail_dropped:
            skipped += ack - seq
        if broken is None and purged and skipped != purged:
            broken = (seq + 1, f"{skipped} entries are missing where retention dropped {purged}")
        elif broken is None and not tail_dropped and seq != ack:
            broken = (seq + 1, "entries missing below the high-water mark")
        elif broken is None and not tail_dropped and prev_hash != device["last_hash"]:
            broken = (seq, "the device's high-water hash does not match its last entry")
        count = self.count(device_id) + purged
        with self.transaction() as tx:
            tx.execute("UPDATE devices SET chain_error = ?, entry_count = ? WHERE device_id = ?",
                       (None if broken is None else f"seq {broken[0]}: {broken[1]}", count, device_id))
        return broken

    chain_state = audit
