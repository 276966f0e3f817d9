"""The hub's store: devices, their journal entries and a log of accepted batches.

One SQLite file (``<hub state>/hub.sqlite``, WAL, ``synchronous=FULL``). The schema
(:mod:`appliance.hub.schema`) is plain SQL that PostgreSQL accepts as well.
Writers take ``BEGIN IMMEDIATE`` so the serving process and ``appliance hub import``
can share the file.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Iterator

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

from appliance.journal import chain
from appliance.dcc import dsc
from appliance.errors import HubError
from appliance.hub.schema import SCHEMA

log = logging.getLogger(__name__)


ENTRY_COLUMNS = chain.FIELDS  # stored 1:1 (data as JSON text)
_ENTRY_SQL = ", ".join(ENTRY_COLUMNS)


def _iso(t: datetime) -> str:
    return t.isoformat(timespec="seconds")


def _derived(entry: dict) -> tuple:
    """Columns for statistics, taken from the entry's non-personal ``data``."""
    data = entry.get("data") or {}
    day = str(entry.get("time") or "")[:10] or None
    centre = data.get("centre") or None
    product = data.get("mp") or data.get("ma") or data.get("tt") or None
    dose = data.get("dn")
    return day, centre, product, dose if isinstance(dose, int) and not isinstance(dose, bool) else None


def _row_to_entry(row: sqlite3.Row) -> dict:
    entry = {k: row[k] for k in ENTRY_COLUMNS}
    entry["data"] = json.loads(entry["data"])
    return entry


class HubStore:
    """Devices and their entries. Thread-safe (one connection behind a lock)."""

    def __init__(self, conn: sqlite3.Connection):
        self._conn = conn
        self._lock = threading.RLock()
        self._chain_cache: dict[str, tuple[int, str, tuple[int, str] | None]] = {}

    @classmethod
    def open(cls, path: Path) -> "HubStore":
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.executescript(SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise HubError(f"{path}: cannot open the hub store ({exc}); is it a hub database?") from None
        return cls(conn)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT`` (rollback on any error)."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    # --- devices -----------------------------------------------------------------

    def register_device(self, device_id: str, certificate: x509.Certificate, *, now: datetime,
                        replace: bool = False, centre: str | None = None) -> str:
        """Register (or re-key) a device; returns "registered", "unchanged" or "rotated"."""
        kid = dsc.kid_b64(certificate)
        pem = certificate.public_bytes(serialization.Encoding.PEM).decode()
        countries = certificate.subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)
        country = str(countries[0].value) if countries else ""
        with self.transaction() as conn:
            row = conn.execute("SELECT kid FROM devices WHERE device_id = ?", (device_id,)).fetchone()
            if row is None:
                conn.execute("INSERT INTO devices (device_id, dsc_pem, kid, country, registered_at, last_seen,"
                             " acknowledged_seq, last_hash, fork_flag, fork_detail, centre)"
                             " VALUES (?, ?, ?, ?, ?, NULL, 0, ?, 0, NULL, ?)",
                             (device_id, pem, kid, country, _iso(now), chain.GENESIS, centre))
                return "registered"
            if centre is not None:
                conn.execute("UPDATE devices SET centre = ? WHERE device_id = ?", (centre, device_id))
            if row["kid"] == kid:
                return "unchanged"
            if not replace:
                raise HubError(f"device {device_id} is registered with another DSC (kid {row['kid']}); "
                               "to rotate its key, repeat with --yes")
            conn.execute("UPDATE devices SET dsc_pem = ?, kid = ?, country = ? WHERE device_id = ?",
                         (pem, kid, country, device_id))
            return "rotated"

    def device(self, device_id: str) -> dict | None:
        with self._lock:
            row = self._conn.execute("SELECT * FROM devices WHERE device_id = ?", (device_id,)).fetchone()
        return dict(row) if row else None

    def devices(self) -> list[dict]:
        with self._lock:
            rows = self._conn.execute("SELECT * FROM devices ORDER BY device_id").fetchall()
        return [dict(r) for r in rows]

    def certificate(self, device: dict) -> x509.Certificate:
        return dsc.load_certificate(device["dsc_pem"].encode())

    def touch(self, device_id: str, now: datetime) -> None:
        with self.transaction() as conn:
            conn.execute("UPDATE devices SET last_seen = ? WHERE device_id = ?", (_iso(now), device_id))

    def flag_fork(self, device_id: str, detail: str, now: datetime) -> None:
        with self.transaction() as conn:
            conn.execute("UPDATE devices SET fork_flag = 1, fork_detail = ?, last_seen = ? WHERE device_id = ?",
                         (detail, _iso(now), device_id))

    # --- entries -----------------------------------------------------------------

    def entries(self, device_id: str, after_seq: int = 0, limit: int | None = None,
                upto_seq: int | None = None) -> list[dict]:
        sql = f"SELECT {_ENTRY_SQL} FROM entries WHERE device_id = ? AND seq > ?"
        params: list = [device_id, after_seq]
        if upto_seq is not None:
            sql += " AND seq <= ?"
            params.append(upto_seq)
        sql += " ORDER BY seq"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        with self._lock:
            rows = self._conn.execute(sql, params).fetchall()
        return [_row_to_entry(r) for r in rows]

    def count(self, device_id: str) -> int:
        with self._lock:
            return self._conn.execute("SELECT COUNT(*) FROM entries WHERE device_id = ?",
                                      (device_id,)).fetchone()[0]

    def insert_entries(self, conn: sqlite3.Connection, device_id: str, entries: list[dict], *,
                       now: datetime, source: str, first_seq: int, last_seq: int) -> None:
        """Inside :meth:`transaction`: store new entries, move the high-water mark, log the batch."""
        rows = [(device_id,) + tuple(json.dumps(e[k], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
                      if k == "data" else e[k] for k in ENTRY_COLUMNS) + _derived(e) + (_iso(now),)
                for e in entries]
        marks = ", ".join("?" * (len(ENTRY_COLUMNS) + 6))
        conn.executemany(f"INSERT INTO entries (device_id, {_ENTRY_SQL}, day, centre, product, dose, received_at)"
                         f" VALUES ({marks})", rows)
        ack = conn.execute("SELECT acknowledged_seq FROM devices WHERE device_id = ?", (device_id,)).fetchone()[0]
        if entries:
            ack = entries[-1]["seq"]
            conn.execute("UPDATE devices SET acknowledged_seq = ?, last_hash = ?, last_seen = ? WHERE device_id = ?",
                         (ack, entries[-1]["hash"], _iso(now), device_id))
        else:
            conn.execute("UPDATE devices SET last_seen = ? WHERE device_id = ?", (_iso(now), device_id))
        next_id = conn.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM batches").fetchone()[0]
        conn.execute("INSERT INTO batches (id, device_id, received_at, source, first_seq, last_seq, new_entries,"
                     " acknowledged_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                     (next_id, device_id, _iso(now), source, first_seq, last_seq, len(entries), ack))

    def chain_state(self, device_id: str) -> tuple[int, str] | None:
        """Verify the stored chain: ``None`` = intact, else ``(seq, reason)`` of the first bad link.

        Incremental: entries verified once are not read again by this process (the first
        call after a start reads them all, so tampering with the file is found then).
        """
        with self._lock:
            return self._chain_state(device_id)

    def _chain_state(self, device_id: str) -> tuple[int, str] | None:
        device = self.device(device_id)
        if device is None:
            return None
        seq, prev_hash, broken = self._chain_cache.get(device_id, (0, chain.GENESIS, None))
        if broken is None:
            while True:
                run = self.entries(device_id, after_seq=seq, limit=5000)
                if not run:
                    break
                broken = chain.first_broken_link(run, prev_hash=prev_hash, prev_seq=seq)
                if broken is not None:
                    break
                seq, prev_hash = run[-1]["seq"], run[-1]["hash"]
            self._chain_cache[device_id] = (seq, prev_hash, broken)
        if broken is None and seq != device["acknowledged_seq"]:
            return (seq + 1, "entries missing below the high-water mark")
        if broken is None and prev_hash != device["last_hash"]:
            return (seq, "the device's high-water hash does not match its last entry")
        return broken

    def gaps(self, device_id: str) -> int:
        """How many seqs below the high-water mark are missing (0 for a healthy store)."""
        device = self.device(device_id)
        return 0 if device is None else max(device["acknowledged_seq"] - self.count(device_id), 0)

    def revoked(self, country: str | None = None) -> list[dict]:
        """Revoked certificates: the revocation entry joined with the issuing entry (any device)."""
        sql = ("SELECT r.device_id AS device_id, r.uvci AS uvci, r.time AS revoked_at,"
               " COALESCE(i.kid, r.kid) AS kid, COALESCE(i.hash_uci, r.hash_uci) AS hash_uci,"
               " COALESCE(i.hash_countrycodeuci, r.hash_countrycodeuci) AS hash_countrycodeuci,"
               " COALESCE(i.hash_signature, r.hash_signature) AS hash_signature,"
               " i.data AS issued_data, r.data AS revoked_data, d.country AS country"
               " FROM entries r JOIN devices d ON d.device_id = r.device_id"
               " LEFT JOIN entries i ON i.uvci = r.uvci AND i.kind = 'issued'"
               " WHERE r.kind = 'revoked'")
        params: list = []
        if country:
            sql += " AND d.country = ?"
            params.append(country)
        with self._lock:
            rows = self._conn.execute(sql + " ORDER BY r.device_id, r.seq", params).fetchall()
        return [dict(r) for r in rows]

    def daily_counts(self, since: str | None = None, until: str | None = None) -> list[dict]:
        """Issued certificates per day, device, centre, type, product and dose."""
        sql = ("SELECT e.day AS day, e.device_id AS device_id,"
               " COALESCE(e.centre, d.centre, e.device_id) AS centre, e.type AS type, e.product AS product,"
               " e.dose AS dose, COUNT(*) AS count"
               " FROM entries e JOIN devices d ON d.device_id = e.device_id WHERE e.kind = 'issued'")
        params: list = []
        if since:
            sql += " AND e.day >= ?"
            params.append(since)
        if until:
            sql += " AND e.day <= ?"
            params.append(until)
        sql += (" GROUP BY e.day, e.device_id, COALESCE(e.centre, d.centre, e.device_id), e.type, e.product, e.dose"
                " ORDER BY 1, 2, 4, 5, 6")
        with self._lock:
            rows = self._conn.execute(sql, params).fetchall()
        return [dict(r) for r in rows]
