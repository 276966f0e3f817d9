"""The print queue: a SQLite file beside the journal (``<state_dir>/print-queue.sqlite``).

A job is stored (committed, fsync'd: WAL + ``synchronous=FULL``) before anything is sent,
and marked ``done`` only after the printer took all its bytes. States::

    queued --claim--> sending --printer took it--> done   (payload dropped: no personal data kept)
       ^  |              |
       |  +--------------+--- retry (error recorded, next attempt after a backoff)
       +-- older than [journal] retention_days --> failed (payload dropped)

A ``sending`` job belongs to one process (``owner`` = host:pid) for a lease. If that
process dies, the job is claimed again once the owner is gone or the lease ran out.

The unavoidable window: the printer has the bytes but the process dies before ``done``
is committed. The job is then sent again after restart: at most one duplicate receipt,
never a lost one. The window is kept to one SQLite commit right after the printer
confirmed the data, and the journal is not involved (printing never writes it, except
the ``reprinted`` entry: a reprint job is held, not due, until that entry is committed).

One ``print`` job per UVCI (a unique index): submitting the same certificate again
returns the existing job. Reprints are separate jobs (kind ``reprint``).

Order: jobs print first in, first out (by id, i.e. in the order they were submitted). The
oldest due job is sent first; when the printer fails, the retry delay is the printer's, so
every younger waiting job waits at least as long (:meth:`PrintQueue.mark_retry` with
``younger_too``) and none overtakes an older one. A job that cannot be rendered (a fault of
that job, not of the printer) waits alone. Held jobs (a reprint whose journal entry is being
written) are not due until released.
"""

from __future__ import annotations

import logging
import os
import socket
import sqlite3
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from appliance.errors import PrinterError

log = logging.getLogger(__name__)

FILENAME = "print-queue.sqlite"
HELD = "9999-12-31T00:00:00.000000Z"    #: next_attempt_at of a held job (never due)
SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY,
    uvci TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('print', 'reprint')),
    payload BLOB,
    state TEXT NOT NULL CHECK (state IN ('queued', 'sending', 'done', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    created_at TEXT NOT NULL,
    done_at TEXT,
    next_attempt_at TEXT NOT NULL,
    owner TEXT,
    lease_until TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS one_print_per_uvci ON jobs (uvci) WHERE kind = 'print';
CREATE INDEX IF NOT EXISTS jobs_due ON jobs (state, next_attempt_at);
"""


def _ts(value: datetime) -> str:
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _dt(value: str | None) -> datetime | None:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc) if value else None


@dataclass(frozen=True)
class Job:
    id: int
    uvci: str
    kind: str
    payload: bytes | None
    state: str
    attempts: int
    last_error: str | None
    created_at: datetime
    done_at: datetime | None
    next_attempt_at: datetime


def _job(row: sqlite3.Row) -> Job:
    return Job(row["id"], row["uvci"], row["kind"], row["payload"], row["state"], row["attempts"],
               row["last_error"], _dt(row["created_at"]), _dt(row["done_at"]), _dt(row["next_attempt_at"]))


def _owner_alive(owner: str | None) -> bool:
    host, _, pid = (owner or "").rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    if int(pid) == os.getpid():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class PrintQueue:
    """Thread-safe access to the queue file (one connection behind a lock)."""

    def __init__(self, conn: sqlite3.Connection, path: Path):
        self._conn = conn
        self._lock = threading.Lock()
        self.path = path
        self.owner = f"{socket.gethostname()}:{os.getpid()}"

    @classmethod
    def open(cls, path: Path) -> "PrintQueue":
        path = Path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.executescript(SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise PrinterError(f"print queue {path}: cannot open ({exc}); move the file away to start "
                               "an empty queue") from None
        return cls(conn, path)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def _tx(self, fn):
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    result = fn(self._conn)
                    self._conn.execute("COMMIT")
                except BaseException:
                    if self._conn.in_transaction:
                        self._conn.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                raise PrinterError(f"print queue {self.path}: {exc}; check free disk space") from None
            return result

    def add(self, *, uvci: str, kind: str, payload: bytes, now: datetime, hold: bool = False) -> tuple[int, bool]:
        """Store a job (committed before return); ``(id, created)``. A known print job is returned as is.

        ``hold``: not due until :meth:`release` (used while the reprint's journal entry is written).
        """
        due = HELD if hold else _ts(now)
        def add(conn):
            if kind == "print":
                row = conn.execute("SELECT id FROM jobs WHERE uvci = ? AND kind = 'print'", (uvci,)).fetchone()
                if row:
                    return row["id"], False
            cur = conn.execute("INSERT INTO jobs (uvci, kind, payload, state, created_at, next_attempt_at) "
                               "VALUES (?, ?, ?, 'queued', ?, ?)", (uvci, kind, payload, _ts(now), due))
            return cur.lastrowid, True
        return self._tx(add)

    def claim(self, *, now: datetime, lease_s: float, job_id: int | None = None) -> Job | None:
        """Take the oldest due job for sending (with ``job_id``: only if that job is the oldest due
        one, so a waiting caller never lets its job overtake an older one); also rescues jobs of dead owners."""
        def claim(conn):
            rows = conn.execute(
                "SELECT * FROM jobs WHERE (state = 'queued' AND next_attempt_at <= ?) OR state = 'sending' "
                "ORDER BY id", (_ts(now),)).fetchall()
            for row in rows:
                if row["state"] == "sending" and _owner_alive(row["owner"]) and row["lease_until"] > _ts(now):
                    continue
                if job_id is not None and row["id"] != job_id:
                    return None
                if row["state"] == "sending":
                    log.warning("print job %d: taking over from %s (it died or its lease ran out)",
                                row["id"], row["owner"])
                conn.execute("UPDATE jobs SET state = 'sending', owner = ?, lease_until = ?, "
                             "attempts = attempts + 1 WHERE id = ?",
                             (self.owner, _ts(now + timedelta(seconds=lease_s)), row["id"]))
                return _job(conn.execute("SELECT * FROM jobs WHERE id = ?", (row["id"],)).fetchone())
            return None
        return self._tx(claim)

    def mark_done(self, job_id: int, *, now: datetime) -> None:
        """The printer took every byte: done, and the payload (names, birth date) is dropped."""
        self._tx(lambda conn: conn.execute(
            "UPDATE jobs SET state = 'done', done_at = ?, payload = NULL, last_error = NULL, owner = NULL, "
            "lease_until = NULL WHERE id = ? AND state = 'sending'", (_ts(now), job_id)))

    def mark_retry(self, job_id: int, *, now: datetime, error: str, delay_s: float,
                   younger_too: bool = False) -> None:
        """Back to ``queued`` with the error; not before ``now + delay_s``. ``younger_too`` (the
        printer failed, not the job): every younger waiting job waits at least as long, keeping the order."""
        due = _ts(now + timedelta(seconds=delay_s))

        def retry(conn):
            conn.execute("UPDATE jobs SET state = 'queued', last_error = ?, next_attempt_at = ?, owner = NULL, "
                         "lease_until = NULL WHERE id = ? AND state = 'sending'", (error[:500], due, job_id))
            if younger_too:
                conn.execute("UPDATE jobs SET next_attempt_at = ? WHERE state = 'queued' AND id > ? "
                             "AND next_attempt_at < ?", (due, job_id, due))
        self._tx(retry)

    def release(self, job_id: int, *, now: datetime) -> None:
        """A held job becomes due."""
        self._tx(lambda conn: conn.execute("UPDATE jobs SET next_attempt_at = ? WHERE id = ? AND state = 'queued'",
                                           (_ts(now), job_id)))

    def cancel(self, job_id: int, *, reason: str) -> None:
        """A queued (or claimed, not yet sent) job will never print: ``failed``, payload dropped."""
        self._tx(lambda conn: conn.execute(
            "UPDATE jobs SET state = 'failed', payload = NULL, last_error = ?, owner = NULL, lease_until = NULL "
            "WHERE id = ? AND state IN ('queued', 'sending')", (reason, job_id)))

    def expire(self, *, before: datetime) -> int:
        """Give up jobs queued before ``before``: state ``failed``, payload (personal data) dropped."""
        return self._tx(lambda conn: conn.execute(
            "UPDATE jobs SET state = 'failed', payload = NULL, "
            "last_error = 'not printed within the retention period; dropped (reprint from the records page)' "
            "WHERE state = 'queued' AND created_at < ?", (_ts(before),)).rowcount)

    def retry_now(self) -> int:
        """Make every queued job due at once (printer came back, "sync now"); returns how many."""
        return self._tx(lambda conn: conn.execute(
            "UPDATE jobs SET next_attempt_at = created_at WHERE state = 'queued' AND next_attempt_at != ?",
            (HELD,)).rowcount)

    def get(self, job_id: int) -> Job | None:
        with self._lock:
            row = self._conn.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return _job(row) if row else None

    def print_job(self, uvci: str) -> Job | None:
        """The first-print job of a certificate (kind ``print``), None if it was never printed here."""
        with self._lock:
            row = self._conn.execute("SELECT * FROM jobs WHERE uvci = ? AND kind = 'print'", (uvci,)).fetchone()
        return _job(row) if row else None

    def last_job(self) -> Job | None:
        with self._lock:
            row = self._conn.execute("SELECT * FROM jobs ORDER BY id DESC LIMIT 1").fetchone()
        return _job(row) if row else None

    def summary(self) -> dict:
        """Counts per state, the oldest waiting job's time and the newest error (for the status page)."""
        with self._lock:
            counts = dict(self._conn.execute("SELECT state, COUNT(*) FROM jobs GROUP BY state").fetchall())
            oldest = self._conn.execute("SELECT MIN(created_at) FROM jobs WHERE state != 'done'").fetchone()[0]
            err = self._conn.execute("SELECT last_error FROM jobs WHERE state != 'done' AND last_error IS NOT NULL "
                                     "ORDER BY id DESC LIMIT 1").fetchone()
        return {"queued": counts.get("queued", 0), "sending": counts.get("sending", 0),
                "done": counts.get("done", 0), "oldest_waiting_at": _dt(oldest).isoformat() if oldest else None,
                "last_error": err[0] if err else None}
