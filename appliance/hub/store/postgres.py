"""The hub store on PostgreSQL: production, several stateless hub processes on one database.

psycopg 3 with its connection pool (connections are checked when taken, so a restarted
server or a dropped connection costs one failed request, answered 503, not a broken pool).

Per-device serialisation is in the database: a batch's transaction starts with
``SELECT ... FROM devices WHERE device_id = ? FOR UPDATE``, so two batches of one device
at two processes run one after the other, and the second sees the first one's high-water
mark. Global order where it matters (migrations, the revocation export cursor, new month
partitions) comes from transaction-scoped advisory locks.
"""

from __future__ import annotations

import logging
import threading
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Iterator
from urllib.parse import urlsplit

import psycopg
import psycopg_pool
from psycopg.rows import dict_row

from appliance.errors import HubError
from appliance.hub.store import derive
from appliance.hub.store.base import HubStore, Tx, redact_url
from appliance.hub.store.entries import ENTRY_COLUMNS, ENTRY_SQL
from appliance.hub.store.retention import cutoff_month

log = logging.getLogger(__name__)

PARTITION_LOCK = 7_240_003
POOL_WAIT_S = 0.25       #: wait this long for a pooled connection before opening one directly


def _next_month(month: str) -> str:
    year, mon = int(month[:4]), int(month[5:7])
    return f"{year + mon // 12:04d}-{mon % 12 + 1:02d}-01"


class PostgresStore(HubStore):
    engine = "postgres"
    db_errors = (psycopg.Error, psycopg_pool.PoolTimeout, psycopg_pool.PoolClosed)
    FOR_UPDATE = " FOR UPDATE"
    BATCH_ID = "nextval('batches_id_seq')"
    BEFORE_SQL = "e.month < CAST(? AS date)"            # retention: prunes to the partitions before it
    MONTH_SQL = "to_char(e.month, 'YYYY-MM')"
    EXPIRES_SQL = "(e.data::jsonb ->> 'expires_at')"
    CACHE_MONTHS_FROM = 1     #: partitions of months before the previous one are checked at every batch

    def __init__(self, url: str, pool: psycopg_pool.ConnectionPool):
        self.url = url
        self._pool = pool
        self._months: set[str] = set()
        self._months_lock = threading.Lock()

    @classmethod
    def open_url(cls, url: str, *, max_size: int = 10, migrate: bool = False,
                 connect_timeout_s: float = 5.0) -> "PostgresStore":
        """Connect (one clear error line for a wrong or unreachable URL), then check the schema."""
        try:
            psycopg.connect(url, connect_timeout=max(1, int(connect_timeout_s))).close()
        except psycopg.Error as exc:
            reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
            raise HubError(f"cannot connect to the hub database {redact_url(url)} ({_scrub(reason, url)}); "
                           "check [hub] database and that PostgreSQL runs") from None
        pool = psycopg_pool.ConnectionPool(url, min_size=1, max_size=max_size, open=False, timeout=10,
                                           kwargs={"row_factory": dict_row, "connect_timeout": 5},
                                           check=psycopg_pool.ConnectionPool.check_connection,
                                           name="hub")
        pool.open(wait=False)
        return cls(url, pool).ready(migrate=migrate)

    def close(self) -> None:
        self._pool.close()

    @contextmanager
    def _begin(self) -> Iterator[Tx]:
        try:
            conn = self._pool.getconn(timeout=POOL_WAIT_S)
        except psycopg_pool.PoolTimeout:
            # the pool is still reconnecting (its retries back off): one direct connection for this
            # transaction, so a flapping network costs a failed request, not a minute of 503s
            with psycopg.connect(self.url, row_factory=dict_row, connect_timeout=5) as direct:
                yield Tx(direct, "%s")          # psycopg commits at the end, rolls back on an error
            return
        try:
            with conn.transaction():
                yield Tx(conn, "%s")
        finally:
            self._pool.putconn(conn)            # a broken connection is discarded and replaced

    _reading = _begin

    def lock_global(self, tx: Tx, key: int) -> None:
        tx.execute("SELECT pg_advisory_xact_lock(?)", (key,))

    def has_table(self, tx: Tx, name: str) -> bool:
        return tx.one("SELECT to_regclass(?) AS t", (name,))["t"] is not None

    def before_entries(self, months: set[str], now=None) -> None:
        """Make the month partitions these entries need (once per process and month for the current
        and the previous month; older ones may have been dropped by retention in another process,
        so they are made again if needed at every batch that has such entries)."""
        missing = months - self._months
        if not missing:
            return
        recent = cutoff_month(now or datetime.now(timezone.utc), self.CACHE_MONTHS_FROM)
        with self.reading() as tx:              # a look first, without the global lock
            missing = {m for m in missing if not self.has_table(tx, f"entries_{m[:4]}_{m[5:7]}")}
        if missing:
            with self._months_lock, self.transaction() as tx:
                self.lock_global(tx, PARTITION_LOCK)
                for month in sorted(missing):
                    name = f"entries_{month[:4]}_{month[5:7]}"
                    tx.execute(f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF entries"
                               f" FOR VALUES FROM ('{month}') TO ('{_next_month(month)}')")
        self._months |= {m for m in months if m >= recent}

    def write_entries(self, tx: Tx, device_id: str, entries: list[dict], now) -> None:
        months = [derive.month_of(e["time"]) for e in entries]
        tx.many("INSERT INTO entry_keys (device_id, seq, month) VALUES (?, ?, ?::date)",
                [(device_id, e["seq"], m) for e, m in zip(entries, months)])
        marks = ", ".join("?" * (len(ENTRY_COLUMNS) + 6))
        tx.many(f"INSERT INTO entries (device_id, {ENTRY_SQL}, day, centre, product, dose, received_at, month)"
                f" VALUES ({marks}, ?::date)",
                [row + (m,) for row, m in zip(self.entry_rows(device_id, entries, now), months)])

    def _drop_entries(self, tx: Tx, before: str) -> list[str]:
        """Retention: drop the entry partitions of the months before ``before`` (``YYYY-MM-01``)."""
        names = [r["name"] for r in tx.all(
            "SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            " JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'entries' ORDER BY 1")]
        old = [n for n in names if f"{n[8:12]}-{n[13:15]}-01" < before]
        for name in old:
            tx.execute(f"DROP TABLE {name}")
        with self._months_lock:
            self._months = {m for m in self._months if m >= before}
        return old

    def drop_months_before(self, month: str) -> list[str]:
        """Drop the entry partitions of the months before ``month`` (no more: :meth:`purge_before`
        is the retention that keeps what the export needs)."""
        with self.transaction() as tx:
            return self._drop_entries(tx, month)

    def database_size(self) -> int:
        with self.reading() as tx:
            return int(tx.one("SELECT pg_database_size(current_database()) AS n")["n"])


def _scrub(text: str, url: str) -> str:
    password = urlsplit(url).password
    return text.replace(password, "***") if password else text


HubStore.engines["postgres"] = PostgresStore
