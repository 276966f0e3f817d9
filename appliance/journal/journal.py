"""The issuance journal: durable, append-only, hash-chained (SQLite, WAL, synchronous=FULL).

Step 5 of the pipeline; the port is the SQLite file ``<state_dir>/journal.sqlite``.

- ``entries``: one row per event (issued, revoked, reprinted, clock_confirmed, ...).
  The synced entry is exactly :data:`appliance.journal.chain.FIELDS`; ``hash`` chains
  every entry to the one before (:func:`appliance.journal.chain.entry_hash`).
- ``personal``: names, birth date, DCC and HC1 for reprints, keyed by UVCI;
  purged after the retention, never synced.
- ``sequences`` (UVCI counter) and ``sync_state`` (hub cursor and status).

One transaction per append (``BEGIN IMMEDIATE``); one connection behind a lock,
so threads may share a :class:`Journal`; other processes wait on ``busy_timeout``.
After each commit one datagram goes to ``<journal dir>/sync-wakeup.sock`` (if it
exists) so the sync agent wakes at once. A foreign, empty or damaged file raises
:class:`JournalCorrupt` at :meth:`Journal.open`; a new chain is only ever started
by creating a file that did not exist.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import sqlite3
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterable

from appliance.journal import chain, heads, migrations
from appliance.journal import sqlite as store
from appliance.errors import JournalCorrupt, JournalError
from appliance.util import wakeup
from appliance.util.fold import folds
from appliance.util.timefmt import fmt_utc, parse_utc

log = logging.getLogger(__name__)

MAGIC = "appliance-journal"
_COLUMNS = ", ".join(chain.FIELDS)
_SCAN_CHUNK = 5000


def _normalise(data: dict | None) -> tuple[dict, str]:
    """JSON round trip, so the hashed dict is exactly what a later read returns."""
    text = json.dumps(data or {}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return json.loads(text), text


@dataclass(frozen=True)
class CertificateRecord:
    """One issued certificate as the journal knows it."""

    seq: int
    uvci: str
    type: str | None
    issued_at: datetime
    expires_at: datetime | None
    operator: str
    data: dict            #: non-personal facts (product, dose, test type, ...)
    personal: dict | None  #: names, date_of_birth, hc1, dcc; None once purged
    revoked: bool
    kid: str | None = None  #: base64


def _row_entry(row: sqlite3.Row | tuple) -> dict:
    entry = dict(zip(chain.FIELDS, row))
    entry["data"] = json.loads(entry["data"])
    return entry


def person_key(personal: dict) -> str:
    """``FNT<<GNT|dob``: who a personal record is about, for the duplicate warning."""
    return (f"{personal.get('family_name_std') or ''}<<{personal.get('given_name_std') or ''}"
            f"|{personal.get('date_of_birth') or ''}")


class Journal:
    """The issuance journal. Use :meth:`open`; close with :meth:`close` (or ``with``)."""

    def __init__(self, path: Path, conn: sqlite3.Connection):
        self.path = path
        self._conn = conn
        self._lock = threading.RLock()
        self._head_signer: tuple[heads.HeadSigner, str] | None = None
        self._operator_secret: bytes | None = None

    # ----------------------------------------------------------------- opening
    @classmethod
    def open(cls, path: Path, *, create: bool = True) -> "Journal":
        """Open (or, if the file does not exist and ``create``, make) the journal at ``path``.

        :raises JournalCorrupt: the file is empty, damaged, or not an appliance journal.
        :raises JournalError: missing with ``create=False``, or written by a newer version.
        """
        path = Path(path)
        if not path.exists():
            if not create:
                raise JournalError(f"no journal at {path}; nothing has been issued on this device yet")
            try:
                store.create(path, MAGIC)
            except (OSError, sqlite3.OperationalError) as exc:
                raise JournalError(f"cannot create the journal {path} ({_cause(exc)}); {_disk_hint(exc)}") from None
        elif path.stat().st_size == 0:
            raise JournalCorrupt(f"{path} is empty; the journal was lost or truncated. Issuing stays "
                                 "stopped: restore the file from backup or call the technician")
        conn = None
        try:
            conn = store.connect(path)
            store.check(conn, path, MAGIC)
            migrations.apply(conn)
        except sqlite3.OperationalError as exc:  # permissions, locks, I/O: the file itself may be fine
            if conn is not None:
                conn.close()
            raise JournalError(f"cannot open the journal {path} ({exc}); {_disk_hint(exc)}") from None
        except sqlite3.DatabaseError as exc:
            if conn is not None:
                conn.close()
            raise JournalCorrupt(f"{path} is damaged or not a journal ({exc}); issuing stays stopped: "
                                 "restore the file from backup or call the technician") from None
        except BaseException:
            if conn is not None:
                conn.close()
            raise
        return cls(path, conn)

    def checkpoint(self) -> None:
        """Copy the WAL into the database file and truncate it (after bulk loads, purges)."""
        with self._lock:
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> "Journal":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    @property
    def journal_id(self) -> str:
        return self._meta("journal_id")

    # ------------------------------------------------------------ signed heads
    def bind_heads(self, signer: "heads.HeadSigner | None", device_id: str) -> None:
        """From now on every commit also stores the new head signed by ``signer`` (the journal key)."""
        with self._lock:
            self._head_signer = (signer, device_id) if signer is not None else None

    @property
    def head_signer(self) -> "heads.HeadSigner | None":
        return self._head_signer[0] if self._head_signer else None

    def _store_head(self, seq: int, hash_: str, time: str) -> dict | None:
        """Sign and store the head ``(seq, hash_)`` (inside the caller's transaction)."""
        if self._head_signer is None:
            return None
        signer, device_id = self._head_signer
        head = heads.sign_head(signer, device_id, seq, hash_, time)
        self._conn.execute("INSERT OR REPLACE INTO heads (seq, hash, time, kid, sig) VALUES (?, ?, ?, ?, ?)",
                           (head["seq"], head["hash"], head["time"], head["kid"], head["sig"]))
        self._conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('heads_since', ?)", (str(seq),))
        return head

    def sign_head_now(self, *, now: datetime) -> dict | None:
        """Sign the current head if the newest signed one is older (at every sync); the newest head."""
        with self._lock:
            newest, last = self.newest_head(), self.last_seq()
            if self._head_signer is None or last == 0 or (newest is not None and newest["seq"] >= last):
                return newest
            with self._write():
                row = self._conn.execute("SELECT seq, hash FROM entries ORDER BY seq DESC LIMIT 1").fetchone()
                return self._store_head(row[0], row[1], fmt_utc(now))

    def newest_head(self) -> dict | None:
        rows = self._read("SELECT seq, hash, time, kid, sig FROM heads ORDER BY seq DESC LIMIT 1")
        return dict(zip(heads.HEAD_KEYS, rows[0])) if rows else None

    def head_snapshot(self) -> tuple[int, int, dict | None]:
        """``(last seq, hub's acknowledged seq, newest signed head)`` read in ONE statement, so a
        commit or a sync by another process in between cannot make them disagree."""
        row = self._read("SELECT (SELECT COALESCE(MAX(seq), 0) FROM entries), "
                         "(SELECT value FROM sync_state WHERE key = 'acknowledged'), "
                         "h.seq, h.hash, h.time, h.kid, h.sig FROM (SELECT 1) "
                         "LEFT JOIN (SELECT * FROM heads ORDER BY seq DESC LIMIT 1) h")[0]
        head = dict(zip(heads.HEAD_KEYS, row[2:])) if row[2] is not None else None
        return row[0], int(row[1]) if row[1] is not None else 0, head

    def heads_since(self) -> int | None:
        """The seq of the first signed head ever stored (None: this journal never had one)."""
        rows = self._read("SELECT value FROM meta WHERE key = 'heads_since'")
        return int(rows[0][0]) if rows else None

    def entry_hash(self, seq: int) -> str | None:
        rows = self._read("SELECT hash FROM entries WHERE seq = ?", (seq,))
        return rows[0][0] if rows else None

    def newest_checkpoint(self) -> dict | None:
        rows = self._read("SELECT counter, seq, hash, time, sig FROM counter_checkpoints ORDER BY counter DESC LIMIT 1")
        return dict(zip(("counter", "seq", "hash", "time", "sig"), rows[0])) if rows else None

    def store_checkpoint(self, checkpoint: dict) -> None:
        with self._lock, self._write():
            self._conn.execute("INSERT OR REPLACE INTO counter_checkpoints (counter, seq, hash, time, sig) "
                               "VALUES (:counter, :seq, :hash, :time, :sig)", checkpoint)
            self._conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('counter_since', ?)",
                               (str(checkpoint["counter"]),))

    def meta_value(self, key: str) -> str | None:
        rows = self._read("SELECT value FROM meta WHERE key = ?", (key,))
        return rows[0][0] if rows else None

    def operator_pseudonym(self, name: str) -> str:
        """What the synced entry says instead of a staff member's name: ``op-`` + HMAC (device secret)."""
        if self._operator_secret is None:
            self._operator_secret = bytes.fromhex(self._meta("operator_secret"))
        return "op-" + hmac.new(self._operator_secret, name.encode("utf-8"), hashlib.sha256).hexdigest()[:16]

    # ----------------------------------------------------------------- writing
    def append(self, kind: str, *, now: datetime, operator: str, type: str | None = None,
               uvci: str | None = None, kid: bytes | None = None, signature: bytes | None = None,
               country: str | None = None, data: dict | None = None, personal: dict | None = None,
               idempotency_key: str | None = None, hashes: dict | None = None,
               sequence: tuple[str, int] | None = None, note: str | None = None) -> dict:
        """Append one entry in one transaction and return it (the :data:`chain.FIELDS` dict).

        The revocation hashes come from ``signature`` (with ``uvci`` and the issuing
        ``country``) or, for entries about an existing certificate, from ``hashes``.
        ``sequence=(name, n)`` raises that counter to at least ``n`` in the same
        transaction (the issuer takes UVCI numbers this way: no extra fsync, no gaps).
        """
        if not kind or not operator:
            raise ValueError("a journal entry needs a kind and an operator")
        if signature is not None:
            if not uvci or not country:
                raise ValueError("revocation hashes need the uvci and the issuing country")
            hashes = chain.revocation_hashes(uvci, country, signature)
        hashes = hashes or {}
        if personal is not None and not uvci:
            raise ValueError("personal data must belong to a uvci")
        data, data_text = _normalise(data)
        time = fmt_utc(now)
        operator_name, operator = operator, self.operator_pseudonym(operator)
        with self._lock, self._write():
            row = self._conn.execute("SELECT seq, hash FROM entries ORDER BY seq DESC LIMIT 1").fetchone()
            seq, prev = (row[0] + 1, row[1]) if row else (1, chain.GENESIS)
            entry = {"seq": seq, "time": time, "kind": kind, "operator": operator, "type": type, "uvci": uvci,
                     "kid": base64.b64encode(kid).decode() if kid is not None else None,
                     "hash_uci": hashes.get("hash_uci"), "hash_countrycodeuci": hashes.get("hash_countrycodeuci"),
                     "hash_signature": hashes.get("hash_signature"), "data": data, "prev_hash": prev}
            entry["hash"] = chain.entry_hash(entry)
            values = [entry[f] for f in chain.FIELDS]
            values[chain.FIELDS.index("data")] = data_text
            self._conn.execute(f"INSERT INTO entries ({_COLUMNS}, idempotency_key, expires_at, signature, "
                               f"operator_name, note) VALUES ({', '.join('?' * (len(chain.FIELDS) + 5))})",
                               [*values, idempotency_key, data.get("expires_at"), signature, operator_name, note])
            if sequence is not None:
                self._conn.execute("INSERT INTO sequences (name, value) VALUES (?, ?) ON CONFLICT (name) "
                                   "DO UPDATE SET value = max(value, excluded.value)", sequence)
            if self._in_bulk:   # one signed head per commit: the last entry of the group (_append_many)
                self._bulk_last = (seq, entry["hash"], time)
            else:
                self._store_head(seq, entry["hash"], time)
            if personal is not None:
                self._conn.execute("INSERT INTO personal (uvci, json, created_at, person_key) VALUES (?, ?, ?, ?)",
                                   (uvci, json.dumps(personal, ensure_ascii=False), time, person_key(personal)))
        self._wake()
        return {f: entry[f] for f in chain.FIELDS}

    def peek_sequence(self, name: str = "uvci") -> int:
        """The next number of a persistent counter (1, 2, ...); :meth:`append` takes it with ``sequence=``."""
        row = self._read("SELECT value FROM sequences WHERE name = ?", (name,))
        return (row[0][0] if row else 0) + 1

    def purge(self, *, now: datetime, retention_days: int) -> int:
        """Delete personal rows older than ``retention_days``; return how many. Entries stay."""
        cutoff = fmt_utc(now - timedelta(days=retention_days))
        with self._lock:
            with self._write():
                removed = self._conn.execute("DELETE FROM personal WHERE created_at < ?", (cutoff,)).rowcount
            if removed:  # secure_delete zeroes the pages; the checkpoint empties the WAL copy too
                self.checkpoint()
        log.info("journal: purged %d personal records older than %d days", removed, retention_days)
        return removed

    # ----------------------------------------------------------------- reading
    def entries(self, after_seq: int = 0, limit: int | None = None) -> list[dict]:
        rows = self._read(f"SELECT {_COLUMNS} FROM entries WHERE seq > ? ORDER BY seq LIMIT ?",
                          (after_seq, -1 if limit is None else limit))
        return [_row_entry(r) for r in rows]

    def last_seq(self) -> int:
        return self._read("SELECT COALESCE(MAX(seq), 0) FROM entries")[0][0]

    def newest_time(self, after_seq: int = 0) -> datetime | None:
        """The latest entry time (of the entries from ``after_seq`` on, e.g. a clock correction)."""
        value = self._read("SELECT MAX(time) FROM entries WHERE seq >= ?", (after_seq,))[0][0]
        return parse_utc(value) if value else None

    def time_span_after(self, time: datetime, after_seq: int = 0) -> tuple[int, str, str, int, int] | None:
        """``(count, min time, max time, min seq, max seq)`` of entries later than ``time``."""
        row = self._read("SELECT COUNT(*), MIN(time), MAX(time), MIN(seq), MAX(seq) FROM entries "
                         "WHERE time > ? AND seq > ?", (fmt_utc(time), after_seq))[0]
        return row if row[0] else None

    def latest(self, kind: str) -> dict | None:
        """The newest entry of ``kind`` (e.g. the last ``clock_confirmed``), or None."""
        rows = self._read(f"SELECT {_COLUMNS} FROM entries WHERE kind = ? ORDER BY seq DESC LIMIT 1", (kind,))
        return _row_entry(rows[0]) if rows else None

    def note(self, seq: int) -> str | None:
        """The device-only free-text note of entry ``seq`` (a revocation's), never synced."""
        rows = self._read("SELECT note FROM entries WHERE seq = ?", (seq,))
        return rows[0][0] if rows else None

    def issued_entry(self, uvci: str) -> dict | None:
        rows = self._read(f"SELECT {_COLUMNS} FROM entries WHERE kind = 'issued' AND uvci = ?", (uvci,))
        return _row_entry(rows[0]) if rows else None

    def revocation(self, uvci: str, *, kid: str | None = None) -> dict | None:
        """The ``revoked`` entry of a certificate of this device (with its device-only ``note``), or None.

        With ``kid`` (base64) only a certificate issued with that key counts: a foreign certificate
        that happens to carry the same UVCI is not this device's to call revoked.
        """
        rows = self._read(f"SELECT {', '.join('r.' + f for f in chain.FIELDS)}, r.note FROM entries r "
                          "JOIN entries i ON i.kind = 'issued' AND i.uvci = r.uvci "
                          "WHERE r.kind = 'revoked' AND r.uvci = ? AND (? IS NULL OR i.kid = ?) "
                          "ORDER BY r.seq LIMIT 1", (uvci, kid, kid))
        if not rows:
            return None
        return {**_row_entry(rows[0][:-1]), "note": rows[0][-1]}

    def verify(self) -> tuple[int, str] | None:
        """Check the whole chain; ``(seq, reason)`` of the first broken link, or None."""
        broken, last, _ = self.verify_since(0, chain.GENESIS)
        if broken is None:
            acked = self.get_acknowledged()
            if acked > last:
                return (last + 1, f"entries after seq {last} are missing; the hub acknowledged up to seq {acked}")
        return broken

    def verify_since(self, seq: int, prev_hash: str) -> tuple[tuple[int, str] | None, int, str]:
        """Check the entries after ``seq`` (whose hash is ``prev_hash``).

        :returns: ``(first broken link or None, last seq checked, its hash)``.
        """
        while True:
            batch = self.entries(after_seq=seq, limit=_SCAN_CHUNK)
            if not batch:
                return None, seq, prev_hash
            broken = chain.first_broken_link(batch, prev_hash=prev_hash, prev_seq=seq)
            if broken:
                return broken, seq, prev_hash
            seq, prev_hash = batch[-1]["seq"], batch[-1]["hash"]

    # ------------------------------------------------------------ certificates
    _RECORD = ("SELECT e.seq, e.uvci, e.type, e.time, e.expires_at, COALESCE(e.operator_name, e.operator), "
               "e.data, p.json, "
               "EXISTS (SELECT 1 FROM entries r WHERE r.kind = 'revoked' AND r.uvci = e.uvci), e.kid "
               "FROM entries e LEFT JOIN personal p ON p.uvci = e.uvci WHERE e.kind = 'issued'")

    def certificate(self, uvci: str) -> CertificateRecord | None:
        rows = self._read(self._RECORD + " AND e.uvci = ?", (uvci,))
        return _record(rows[0]) if rows else None

    def by_idempotency_key(self, key: str) -> CertificateRecord | None:
        rows = self._read(self._RECORD + " AND e.idempotency_key = ?", (key,))
        return _record(rows[0]) if rows else None

    def search(self, text: str | None = None, *, since: datetime | None = None,
               limit: int = 100) -> list[CertificateRecord]:
        """Issued certificates, newest first, whose UVCI or names contain ``text``, folded
        (:mod:`appliance.util.fold`: "muller" and "mueller" find "Müller", "weiss" finds "Weiß")."""
        sql, args = self._RECORD, []
        if since is not None:
            sql += " AND e.time >= ?"
            args.append(fmt_utc(since))
        if text:
            dropped, transcribed = folds(text.strip())
            fields = ("e.uvci", "json_extract(p.json, '$.family_name')", "json_extract(p.json, '$.given_name')",
                      "json_extract(p.json, '$.family_name_std')", "json_extract(p.json, '$.given_name_std')")
            sql += " AND (" + " OR ".join(f"instr(fold({f}, {i}), ?) > 0" for f in fields for i in (0, 1)) + ")"
            args += [dropped, transcribed] * len(fields)
        sql += " ORDER BY e.seq DESC LIMIT ?"
        return [_record(r) for r in self._read(sql, (*args, limit))]

    def same_person(self, personal: dict, *, since: datetime | None = None,
                    limit: int = 50) -> list[CertificateRecord]:
        """Retained certificates of the person in ``personal`` (standardised names and birth
        date, as :meth:`append` stores them), newest first; found through an index."""
        # personal first: the index on person_key picks the few rows, then entries by uvci
        sql = self._RECORD.replace("FROM entries e LEFT JOIN personal p ON p.uvci = e.uvci",
                                   "FROM personal p CROSS JOIN entries e ON e.uvci = p.uvci")
        sql, args = sql + " AND p.person_key = ?", [person_key(personal)]
        if since is not None:
            sql += " AND e.time >= ?"
            args.append(fmt_utc(since))
        sql += " ORDER BY e.seq DESC LIMIT ?"
        return [_record(r) for r in self._read(sql, (*args, limit))]

    # -------------------------------------------------------------- sync state
    def get_acknowledged(self) -> int:
        value = self._state("acknowledged")
        return int(value) if value is not None else 0

    def set_acknowledged(self, seq: int) -> None:
        self._set_state("acknowledged", str(int(seq)))

    def get_sync_status(self) -> dict:
        value = self._state("status")
        return json.loads(value) if value else {}

    def set_sync_status(self, **fields: Any) -> None:
        """Merge ``fields`` (JSON-able) into the stored sync status."""
        with self._lock, self._write():
            row = self._conn.execute("SELECT value FROM sync_state WHERE key = 'status'").fetchone()
            status = json.loads(row[0]) if row else {}
            status.update(fields)
            self._conn.execute("INSERT OR REPLACE INTO sync_state (key, value) VALUES ('status', ?)",
                               (json.dumps(status, default=str),))

    # ---------------------------------------------------------------- plumbing
    def append_bulk(self, specs: Iterable[dict], *, now: datetime, operator: str) -> int:
        """Append many entries in ONE transaction (benchmarks, imports); each spec holds
        :meth:`append` keywords except ``now``/``operator``. Returns the last seq."""
        out = self._append_many(specs, now=now, operator=operator)
        return out[-1]["seq"] if out else 0

    _in_bulk = False
    _bulk_last: tuple[int, str, str] | None = None

    def append_group(self, specs: Iterable[dict], *, now: datetime, operator: str) -> list[dict]:
        """Like :meth:`append_bulk` (ONE transaction, one fsync), but returns every appended
        entry (the :data:`chain.FIELDS` dicts) in order: the bulk issuer's group commit."""
        return self._append_many(specs, now=now, operator=operator)

    def _append_many(self, specs: Iterable[dict], *, now: datetime, operator: str) -> list[dict]:
        """Append every spec in ONE transaction; the head is signed once, at the last entry
        (a head is what a commit makes durable: the entries inside one are never a head)."""
        out: list[dict] = []
        # the Transaction begins, commits or rolls back, and turns sqlite errors (a full disk at
        # COMMIT, a locked file at BEGIN) into JournalError, as a single append does
        with self._lock, store.Transaction(self._conn, nested=False):
            self._in_bulk, self._bulk_last = True, None
            try:
                for spec in specs:
                    spec = dict(spec)
                    out.append(self.append(spec.pop("kind"), now=now, operator=operator, **spec))
                if self._bulk_last is not None:
                    self._store_head(*self._bulk_last)
            finally:
                self._in_bulk, self._bulk_last = False, None
        if out:
            self._wake()
        return out

    def by_idempotency_keys(self, keys: Iterable[str]) -> dict[str, CertificateRecord]:
        """The issued certificates whose idempotency key is one of ``keys``: key -> record."""
        keys = list(dict.fromkeys(keys))
        found: dict[str, CertificateRecord] = {}
        sql = self._RECORD.replace("SELECT e.seq,", "SELECT e.idempotency_key, e.seq,")
        for i in range(0, len(keys), 500):
            chunk = keys[i:i + 500]
            rows = self._read(sql + f" AND e.idempotency_key IN ({', '.join('?' * len(chunk))})", chunk)
            found.update((row[0], _record(row[1:])) for row in rows)
        return found

    def keyed_entries(self, keys: Iterable[str]) -> dict[str, dict]:
        """The entries of any kind whose idempotency key is one of ``keys``: key -> entry."""
        keys = list(dict.fromkeys(keys))
        found: dict[str, dict] = {}
        for i in range(0, len(keys), 500):
            chunk = keys[i:i + 500]
            rows = self._read(f"SELECT idempotency_key, {_COLUMNS} FROM entries "
                              f"WHERE idempotency_key IN ({', '.join('?' * len(chunk))})", chunk)
            found.update((row[0], _row_entry(row[1:])) for row in rows)
        return found

    def people(self, person_keys: Iterable[str]) -> dict[str, list[CertificateRecord]]:
        """Retained certificates per :func:`person_key` (many people at once, through the index):
        the bulk form of :meth:`same_person`; people without certificates are left out."""
        keys = list(dict.fromkeys(person_keys))
        sql = self._RECORD.replace("SELECT e.seq,", "SELECT p.person_key, e.seq,").replace(
            "FROM entries e LEFT JOIN personal p ON p.uvci = e.uvci", "FROM personal p CROSS JOIN entries e ON e.uvci = p.uvci")
        found: dict[str, list[CertificateRecord]] = {}
        for i in range(0, len(keys), 500):
            chunk = keys[i:i + 500]
            for row in self._read(sql + f" AND p.person_key IN ({', '.join('?' * len(chunk))}) ORDER BY e.seq", chunk):
                found.setdefault(row[0], []).append(_record(row[1:]))
        return found

    def _write(self) -> store.Transaction:
        return store.Transaction(self._conn, nested=self._in_bulk)

    def _read(self, sql: str, args: tuple | list = ()) -> list[tuple]:
        with self._lock:
            try:
                return self._conn.execute(sql, args).fetchall()
            except sqlite3.DatabaseError as exc:
                raise JournalError(f"cannot read the journal {self.path}: {exc}") from None

    def _meta(self, key: str) -> str:
        return self._read("SELECT value FROM meta WHERE key = ?", (key,))[0][0]

    def _state(self, key: str) -> str | None:
        rows = self._read("SELECT value FROM sync_state WHERE key = ?", (key,))
        return rows[0][0] if rows else None

    def _set_state(self, key: str, value: str) -> None:
        with self._lock, self._write():
            self._conn.execute("INSERT OR REPLACE INTO sync_state (key, value) VALUES (?, ?)", (key, value))

    def _wake(self) -> None:
        if not self._in_bulk:
            wakeup.notify(self.path.parent)  # the sync agent also polls when nobody listens


def _cause(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or str(exc)


def _disk_hint(exc: BaseException) -> str:
    """What to do about an error opening or creating the journal."""
    if getattr(exc, "errno", None) == 28 or "full" in str(exc).lower():
        return ("the disk is full: free space on the state directory's file system (old receipts, logs: "
                "'journalctl --vacuum-size=50M'), then restart the service; nothing was issued")
    return "check the file's owner and permissions and the disk"


def _record(row: tuple) -> CertificateRecord:
    seq, uvci, typ, time, expires, operator, data, personal, revoked, kid = row
    return CertificateRecord(seq=seq, uvci=uvci, type=typ, issued_at=parse_utc(time),
                             expires_at=parse_utc(expires) if expires else None, operator=operator,
                             data=json.loads(data), personal=json.loads(personal) if personal else None,
                             revoked=bool(revoked), kid=kid)
