"""Forward-only schema migrations for the issuance journal.

Each ``NNN_name.sql`` file in this package is applied once, in order, inside
one transaction that also sets ``PRAGMA user_version = NNN``. Files only ever
add tables, columns or indexes; nothing here drops data.
"""

from __future__ import annotations

import logging
import re
import sqlite3
from importlib import resources

log = logging.getLogger(__name__)

_NAME = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")


def available() -> list[tuple[int, str]]:
    """``[(version, sql), ...]`` sorted by version."""
    found = []
    for item in resources.files(__package__).iterdir():
        m = _NAME.match(item.name)
        if m:
            found.append((int(m.group(1)), item.read_text(encoding="utf-8")))
    return sorted(found)


def latest() -> int:
    return available()[-1][0]


def statements(sql: str) -> list[str]:
    """Split a migration file into complete SQL statements (triggers included)."""
    out, buf = [], ""
    for line in sql.splitlines(keepends=True):
        if not buf and (not line.strip() or line.lstrip().startswith("--")):
            continue
        buf += line
        if sqlite3.complete_statement(buf):
            out.append(buf.strip())
            buf = ""
    if buf.strip():
        raise ValueError("migration ends in an incomplete SQL statement")
    return out


def apply(conn: sqlite3.Connection) -> int:
    """Bring ``conn`` (autocommit mode) to the latest version; return the version reached.

    Each step re-reads ``user_version`` inside its write transaction, so two
    processes opening the journal at once apply every migration exactly once.
    """
    current = conn.execute("PRAGMA user_version").fetchone()[0]
    for version, sql in available():
        if version <= current:
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            current = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > current:
                log.info("journal: applying migration %03d", version)
                for statement in statements(sql):
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {int(version)}")
                current = version
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return current
