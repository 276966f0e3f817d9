"""The hub's store: SQLite embedded (the default) or PostgreSQL (production), one interface.

``[hub] database`` names it: ``sqlite:///hub.sqlite`` (a path relative to the hub's state
directory; ``sqlite:////abs/path`` for an absolute one) or ``postgresql://user:pw@host/db``.

- :mod:`.base`: transactions, errors, migrations (``migrations/<engine>/NNNN_*.sql``);
- :mod:`.devices`, :mod:`.entries`, :mod:`.stats`: the queries, one SQL text for both engines;
- :mod:`.sqlite`, :mod:`.postgres`: the engines; :mod:`.derive`: values derived at intake.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from appliance.errors import ConfigError
from appliance.hub.store.base import HubStore, StoreUnavailable, Tx, redact_url
from appliance.hub.store.sqlite import SqliteStore

__all__ = ["HubStore", "SqliteStore", "StoreUnavailable", "Tx", "open_url", "redact_url", "engine_of"]

DEFAULT_DATABASE = "sqlite:///hub.sqlite"


def engine_of(url: str) -> str:
    scheme = urlsplit(url).scheme
    if scheme == "sqlite":
        return "sqlite"
    if scheme in ("postgresql", "postgres"):
        return "postgres"
    raise ConfigError(f"[hub] database {redact_url(url)!r}: use sqlite:///PATH or postgresql://USER@HOST/DB")


def sqlite_path(url: str, state_dir: Path) -> Path:
    rest = url[len("sqlite:///"):] if url.startswith("sqlite:///") else ""
    if not rest:
        raise ConfigError(f"[hub] database {url!r}: an SQLite URL is sqlite:///PATH (relative to the state "
                          "directory) or sqlite:////ABSOLUTE/PATH")
    path = Path(rest)
    return path if path.is_absolute() else Path(state_dir) / path


def open_url(url: str, state_dir: Path, *, migrate: bool | None = None, pool_size: int = 10) -> HubStore:
    """Open the store ``url`` names. ``migrate``: apply missing migrations (default: SQLite yes,
    PostgreSQL no: there ``appliance hub migrate`` is the operator's step, and a store on an older
    schema is refused with that advice)."""
    url = url or DEFAULT_DATABASE
    if engine_of(url) == "sqlite":
        return SqliteStore.open_path(sqlite_path(url, state_dir), migrate=True if migrate is None else migrate)
    from appliance.hub.store.postgres import PostgresStore  # lazy: psycopg and its pool load in ~60 ms; SQLite hubs never need them

    return PostgresStore.open_url(url, migrate=bool(migrate), max_size=pool_size)
