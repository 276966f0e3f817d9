-- The issuance journal, version 1. Forward-only: later files add, never DROP.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- One row per event. The columns seq..hash are the synced entry (appliance.chain.FIELDS);
-- data is canonical JSON. idempotency_key, expires_at and signature stay on the device.
CREATE TABLE entries (
    seq                 INTEGER PRIMARY KEY,
    time                TEXT NOT NULL,
    kind                TEXT NOT NULL,
    operator            TEXT NOT NULL,
    type                TEXT,
    uvci                TEXT,
    kid                 TEXT,
    hash_uci            TEXT,
    hash_countrycodeuci TEXT,
    hash_signature      TEXT,
    data                TEXT NOT NULL,
    prev_hash           TEXT NOT NULL,
    hash                TEXT NOT NULL,
    idempotency_key     TEXT UNIQUE,
    expires_at          TEXT,
    signature           BLOB
);
CREATE UNIQUE INDEX entries_issued_uvci ON entries (uvci) WHERE kind = 'issued';
CREATE INDEX entries_uvci ON entries (uvci);
CREATE INDEX entries_time ON entries (time);
CREATE INDEX entries_kind ON entries (kind, seq);

-- Personal data (names, birth date, the HC1 and DCC for reprints): purged after the retention, never synced.
CREATE TABLE personal (
    uvci       TEXT PRIMARY KEY,
    json       TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX personal_created ON personal (created_at);

-- Persistent counters (the UVCI sequence).
CREATE TABLE sequences (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);

-- Sync cursor and status, written by the sync agent.
CREATE TABLE sync_state (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
