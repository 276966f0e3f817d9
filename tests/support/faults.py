"""Real faults injected into a journal file (a second SQLite connection, as another writer would)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class _RevocationSwitch:
    def __init__(self, conn: sqlite3.Connection):
        self._conn = conn

    def arm(self) -> None:
        self._conn.execute("CREATE TRIGGER refuse_revoked BEFORE INSERT ON entries WHEN NEW.kind = 'revoked' "
                           "BEGIN SELECT RAISE(ABORT, 'injected: disk I/O error'); END")

    def disarm(self) -> None:
        self._conn.execute("DROP TRIGGER IF EXISTS refuse_revoked")


@contextmanager
def refusing_revocations(journal_path: Path) -> Iterator[_RevocationSwitch]:
    """``arm()``: the journal file refuses ``revoked`` entries (a real SQLite error) until ``disarm()``."""
    conn = sqlite3.connect(journal_path)
    switch = _RevocationSwitch(conn)
    try:
        yield switch
    finally:
        switch.disarm()
        conn.close()
