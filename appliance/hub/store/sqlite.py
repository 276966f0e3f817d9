"""The hub store on SQLite: the embedded default (``make demo``, small setups).

One file (``<hub state>/hub.sqlite``, WAL, ``synchronous=FULL``), one connection per process
behind a lock. Writers take ``BEGIN IMMEDIATE``, which serialises every writer of the file,
so two hub processes (or ``appliance hub import`` beside a serving hub) never interleave two
batches of one device. Opening migrates the file (the demo needs no ``hub migrate``).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from appliance.errors import HubError
from appliance.hub.store.base import HubStore, Tx

log = logging.getLogger(__name__)


class SqliteStore(HubStore):
    engine = "sqlite"
    db_errors = (sqlite3.Error,)

    def __init__(self, conn: sqlite3.Connection, path: Path):
        self._conn = conn
        self._lock = threading.RLock()
        self.path = path
        self.url = f"sqlite:///{path}"

    @classmethod
    def open_path(cls, path: Path, *, migrate: bool = True) -> "SqliteStore":
        path = Path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        except (sqlite3.DatabaseError, OSError) as exc:
            raise HubError(f"{path}: cannot open the hub store ({exc}); is it a hub database?") from None
        return cls(conn, path).ready(migrate=migrate)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def has_table(self, tx: Tx, name: str) -> bool:
        return tx.one("SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)) is not None

    @contextmanager
    def _begin(self) -> Iterator[Tx]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield Tx(self._conn)
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    @contextmanager
    def _reading(self) -> Iterator[Tx]:
        with self._lock:
            yield Tx(self._conn)

    def database_size(self) -> int:
        with self.reading() as tx:
            pages = tx.one("PRAGMA page_count")
            size = tx.one("PRAGMA page_size")
        return int(next(iter(pages.values()))) * int(next(iter(size.values())))


HubStore.engines["sqlite"] = SqliteStore
