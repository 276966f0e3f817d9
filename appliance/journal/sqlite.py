"""The journal's SQLite file: connect, recognise, create atomically, transactions.

A journal file is recognised by its ``meta`` row ``magic``; anything else (a
foreign SQLite file, random bytes, an empty or truncated file) is refused with
:class:`JournalCorrupt` so that issuing stops instead of starting a new chain.
A new file is built beside the target and linked into place, so an existing
path is always a complete, migrated journal.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import uuid
from pathlib import Path

from appliance.journal import migrations
from appliance.errors import JournalCorrupt, JournalError
from appliance.util.fold import fold

log = logging.getLogger(__name__)

#: The journal holds personal data: its file (and SQLite's -wal/-shm beside it) is the owner's alone.
FILE_MODE = 0o600


class Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (or ``ROLLBACK``); sqlite errors become JournalError."""

    def __init__(self, conn: sqlite3.Connection, nested: bool):
        self._conn, self._nested = conn, nested

    def __enter__(self) -> None:
        if not self._nested:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.DatabaseError as exc:
                raise JournalError(f"cannot write the journal: {exc}") from None

    def __exit__(self, typ, exc, tb) -> bool:
        if typ is None and not self._nested:
            try:
                self._conn.execute("COMMIT")
                return False
            except sqlite3.DatabaseError as err:
                exc = err
        if exc is None:
            return False
        if not self._nested and self._conn.in_transaction:
            self._conn.execute("ROLLBACK")
        if isinstance(exc, sqlite3.IntegrityError):
            raise JournalError(f"the journal refused a duplicate entry ({exc})") from None
        if isinstance(exc, sqlite3.DatabaseError):
            raise JournalError(f"cannot write the journal: {exc}") from None
        return False


def connect(path: Path) -> sqlite3.Connection:
    """One connection in autocommit mode (transactions are explicit), shareable across threads."""
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=10.0)
    conn.execute("PRAGMA busy_timeout = 10000")
    conn.execute("PRAGMA secure_delete = ON")
    conn.execute("PRAGMA cache_size = -16000")  # 16 MB: the indexes of a 100k-entry journal stay cached
    # search folds (appliance.util.fold): fold(x, 0) drops umlauts (Müller -> muller), fold(x, 1) transcribes them (mueller)
    conn.create_function("fold", 2, fold, deterministic=True)
    return conn


def check(conn: sqlite3.Connection, path: Path, magic: str) -> None:
    """Refuse anything that is not an intact appliance journal (raises sqlite3.DatabaseError or ours)."""
    result = conn.execute("PRAGMA quick_check").fetchone()[0]
    if result != "ok":
        raise JournalCorrupt(f"{path} is damaged (quick_check: {result}); issuing stays stopped: "
                             "restore the file from backup or call the technician")
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    try:
        found = conn.execute("SELECT value FROM meta WHERE key = 'magic'").fetchone()
    except sqlite3.OperationalError:
        found = None
    if found is None or found[0] != magic:
        raise JournalCorrupt(f"{path} is not an appliance journal (a foreign SQLite file); "
                             "move it away or restore the journal from backup")
    if version > migrations.latest():
        raise JournalError(f"{path} was written by a newer software version (schema {version}); update the software")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")


def _build(tmp: Path, magic: str) -> None:
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))  # 0600 whatever the umask;
    os.chmod(tmp, FILE_MODE)                                                  # SQLite's -wal/-shm follow it
    conn = sqlite3.connect(str(tmp), isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = DELETE")
        conn.execute("PRAGMA synchronous = FULL")
        migrations.apply(conn)
        with Transaction(conn, nested=False):
            conn.executemany("INSERT INTO meta (key, value) VALUES (?, ?)",
                             [("magic", magic), ("journal_id", uuid.uuid4().hex)])
    finally:
        conn.close()
    fd = os.open(tmp, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def create(path: Path, magic: str) -> None:
    """Make a new, empty journal atomically: build it beside ``path``, then link it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.new-{os.getpid()}-{threading.get_ident()}")
    try:
        _build(tmp, magic)
    except BaseException:  # e.g. a full disk: leave nothing half-made behind
        for leftover in (tmp, tmp.with_name(tmp.name + "-journal")):
            leftover.unlink(missing_ok=True)
        raise
    try:
        os.link(tmp, path)  # fails if another process created it first: then use theirs
    except FileExistsError:
        pass
    finally:
        os.unlink(tmp)
    dfd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)
    log.info("journal: created a new journal at %s", path)
