"""The issuance journal: durable, append-only, hash-chained (SQLite, WAL, synchronous=FULL).

Step 5 of the pipeline; the port is the SQLite file ``<state_dir>/journal.sqlite``.

- ``entries``: one row per event (issued, revoked, reprinted, clock_confirmed, ...).
  The synced entry is exactly :data:`appliance.journal.chain.FIELDS`; ``hash`` chains
  every entry to the one before (:func:`appliance.journal.chain.entry_hash`).
- ``personal``: names, birth date, DCC and HC1 for reprints, keyed by UVCI;
  purged after the retention, never synced.
- ``sequences`` (UVCI counter) and ``sync_state`` (hub cursor and status).

This module opens the file and writes; the reads, searches and the chain check are
:mod:`appliance.journal.queries`, the sync state, signed heads and counter checkpoints
:mod:`appliance.journal.sync_state`, the row shapes :mod:`appliance.journal.records`.

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
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Iterable

from appliance.journal import chain, heads, migrations
from appliance.journal import sqlite as store
from appliance.journal.queries import JournalQueries
from appliance.journal.records import COLUMNS, CertificateRecord, person_key
from appliance.journal.sync_state import JournalSyncState
from appliance.errors import JournalCorrupt, JournalError
from appliance.util import wakeup
from appliance.util.timefmt import fmt_utc

log = logging.getLogger(__name__)

__all__ = ["MAGIC", "CertificateRecord", "Journal", "person_key"]  # the import paths other modules use

MAGIC = "appliance-journal"


def _normalise(data: dict | None) -> tuple[dict, str]:
    """JSON round trip, so the hashed dict is exactly what a later read returns."""
    text = json.dumps(data or {}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return json.loads(text), text


class Journal(JournalQueries, JournalSyncState):
    """The issuance journal. Use :meth:`open`; close with :meth:`close` (or ``with``).

    This class opens the file and writes (append, group commits, purge); the reads are
    :class:`~appliance.journal.queries.JournalQueries`', the sync state, signed heads and
    counter checkpoints :class:`~appliance.journal.sync_state.JournalSyncState`'.
    """

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
            self._conn.execute(f"INSERT INTO entries ({COLUMNS}, idempotency_key, expires_at, signature, "
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
