"""The hub store, independent of the database engine: transactions, migrations, errors.

An engine (:mod:`.sqlite`, :mod:`.postgres`) supplies connections and the few places where
the dialects differ (placeholders, the row lock on a device, partitions, global locks); the
queries themselves (:mod:`.devices`, :mod:`.entries`) are one SQL text for both engines,
written with ``?`` placeholders.

Migrations are numbered SQL files, forward only, one folder per engine with the same numbers
(``migrations/<engine>/NNNN_name.sql``). The store records every applied number in
``schema_version``; a database whose number is higher than this code knows is refused.
"""

from __future__ import annotations

import logging
import re
from abc import ABC, abstractmethod
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator
from urllib.parse import urlsplit, urlunsplit

from appliance.errors import HubError
from appliance.hub.store.clock_intervals import ClockIntervalQueries
from appliance.hub.store.devices import DeviceQueries
from appliance.hub.store.entries import EntryQueries
from appliance.hub.store.retention import RetentionQueries
from appliance.hub.store.stats import StatsQueries

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"
MIGRATION_LOCK = 7_240_001          #: advisory lock key: one migrating process at a time
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


class StoreUnavailable(HubError):
    """The hub database failed or cannot be reached; nothing was written. Retry later (HTTP 503)."""

    retry_after_s = 5


def redact_url(url: str) -> str:
    """A database URL without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rpartition("@")
    user = (parts.username or "") + ":***"
    return urlunsplit(parts._replace(netloc=f"{user}@{netloc[2]}"))


def migrations(engine: str) -> list[tuple[int, str, str]]:
    """``(number, name, sql)`` of the engine's migrations, in order."""
    out = []
    for path in sorted((MIGRATIONS / engine).glob("*.sql")):
        match = _NAME.match(path.name)
        if match:
            out.append((int(match.group(1)), match.group(2), path.read_text(encoding="utf-8")))
    return out


def statements(sql: str) -> list[str]:
    """The statements of a migration file (``;`` at a line end separates them)."""
    lines = [ln for ln in sql.splitlines() if not ln.strip().startswith("--")]
    return [s.strip() for s in re.split(r";\s*$", "\n".join(lines), flags=re.M) if s.strip()]


class Tx:
    """One open transaction (or read) on a DB-API connection; SQL uses ``?`` placeholders."""

    def __init__(self, conn, placeholder: str = "?"):
        self.conn = conn
        self._ph = placeholder

    def _sql(self, sql: str) -> str:
        return sql if self._ph == "?" else sql.replace("?", self._ph)

    def execute(self, sql: str, params=()):
        return self.conn.execute(self._sql(sql), tuple(params))

    def one(self, sql: str, params=()) -> dict | None:
        row = self.execute(sql, params).fetchone()
        return dict(row) if row is not None else None

    def all(self, sql: str, params=()) -> list[dict]:
        return [dict(r) for r in self.execute(sql, params).fetchall()]

    def many(self, sql: str, rows: list) -> None:
        if rows:
            self.conn.cursor().executemany(self._sql(sql), rows)


class HubStore(DeviceQueries, EntryQueries, StatsQueries, RetentionQueries, ClockIntervalQueries, ABC):
    """Devices, their entries, heads, revocations and statistics on one database.

    Subclasses set :attr:`engine`, :attr:`url` and implement :meth:`_begin` (a write
    transaction), :meth:`_reading` (a read) and :meth:`close`.
    """

    engine = "abstract"
    #: engines by name, filled in by the engine modules (``HubStore.open`` opens SQLite)
    engines: dict[str, type] = {}
    db_errors: tuple[type[BaseException], ...] = ()
    FOR_UPDATE = ""

    url = ""

    @classmethod
    def open(cls, path: Path) -> "HubStore":
        """An SQLite store at ``path``, migrated (the embedded default)."""
        return cls.engines["sqlite"].open_path(Path(path))

    # --- engine hooks -------------------------------------------------------------

    @abstractmethod
    def _begin(self):
        """Each engine implements it."""

    @abstractmethod
    def _reading(self):
        """Each engine implements it."""

    @abstractmethod
    def close(self) -> None:
        """Each engine implements it."""

    def lock_global(self, tx: Tx, key: int) -> None:
        """Hold a database-wide lock ``key`` until the transaction ends (SQLite: writers are serial)."""

    @abstractmethod
    def has_table(self, tx: Tx, name: str) -> bool:
        """Each engine implements it."""

    def before_entries(self, months: set[str], now: datetime | None = None) -> None:
        """Prepare storage for entries of these months (PostgreSQL: their partitions)."""

    # --- transactions -----------------------------------------------------------------

    def _unavailable(self, exc: BaseException) -> StoreUnavailable:
        log.error("hub database %s failed: %s: %s", redact_url(self.url), type(exc).__name__,
                  str(exc).strip().splitlines()[0] if str(exc).strip() else "")
        return StoreUnavailable(f"the hub database is unavailable ({type(exc).__name__}); nothing was stored: "
                                "retry later")

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        """A write transaction: committed at the end, rolled back on any error."""
        try:
            with self._begin() as tx:
                yield tx
        except self.db_errors as exc:
            raise self._unavailable(exc) from None

    @contextmanager
    def reading(self) -> Iterator[Tx]:
        try:
            with self._reading() as tx:
                yield tx
        except self.db_errors as exc:
            raise self._unavailable(exc) from None

    # --- migrations -----------------------------------------------------------------

    def _version(self, tx: Tx) -> int:
        if not self.has_table(tx, "schema_version"):
            return 0
        return tx.one("SELECT COALESCE(MAX(version), 0) AS v FROM schema_version")["v"]

    def schema_version(self) -> int:
        with self.reading() as tx:
            return self._version(tx)

    def code_version(self) -> int:
        return max(n for n, _name, _sql in migrations(self.engine))

    def _refuse_newer(self, version: int) -> None:
        if version > self.code_version():
            raise HubError(f"hub database {redact_url(self.url)} has schema version {version}, newer than this "
                           f"software knows ({self.code_version()}): upgrade the appliance software on this "
                           "machine; nothing was changed")

    def migrate(self) -> tuple[int, int]:
        """Apply the missing migrations, each in its own transaction; returns (before, after)."""
        with self.transaction() as tx:
            self.lock_global(tx, MIGRATION_LOCK)
            before = self._version(tx)
        self._refuse_newer(before)
        version = before
        for number, name, sql in migrations(self.engine):
            if number <= version:
                continue
            with self.transaction() as tx:
                self.lock_global(tx, MIGRATION_LOCK)
                if self._version(tx) >= number:          # another process was quicker
                    continue
                tx.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL PRIMARY KEY,"
                           " name TEXT NOT NULL, applied_at TEXT NOT NULL)")
                for statement in statements(sql):
                    tx.execute(statement)
                tx.execute("INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)",
                           (number, name, datetime.now(timezone.utc).isoformat(timespec="seconds")))
            log.info("hub database %s: applied migration %04d_%s", redact_url(self.url), number, name)
            version = number
        return before, max(version, before)

    def ready(self, *, migrate: bool) -> "HubStore":
        """Migrate (``migrate``) or check the schema; a store that fails either is closed."""
        try:
            if migrate:
                self.migrate()
            else:
                self.check_schema()
        except HubError:
            self.close()
            raise
        return self

    def check_schema(self) -> None:
        """Refuse a database that is not at this code's schema version (``appliance hub migrate``)."""
        version = self.schema_version()
        self._refuse_newer(version)
        if version < self.code_version():
            raise HubError(f"hub database {redact_url(self.url)} has schema version {version}, this software "
                           f"needs {self.code_version()}: run 'appliance hub migrate'")
