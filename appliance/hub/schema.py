"""The hub's SQL schema: plain SQL that SQLite and PostgreSQL both accept.

Explicit column types, no AUTOINCREMENT/ROWID tricks, times as ISO-8601 UTC text,
JSON as text; applied idempotently at every start (``CREATE ... IF NOT EXISTS``).
Only the connection layer (:mod:`appliance.hub.store`, ``?`` placeholders and
``BEGIN IMMEDIATE``) is SQLite-specific.
"""

SCHEMA = """
-- Hub store schema. Plain SQL that runs on SQLite and PostgreSQL alike:
-- explicit column types, no AUTOINCREMENT/ROWID tricks, times as ISO-8601 text (UTC),
-- JSON as text. Applied idempotently at start (CREATE ... IF NOT EXISTS).

CREATE TABLE IF NOT EXISTS devices (
    device_id        VARCHAR(64)  NOT NULL PRIMARY KEY,
    dsc_pem          TEXT         NOT NULL,
    kid              VARCHAR(16)  NOT NULL,   -- base64 of the DSC's 8-byte kid
    country          VARCHAR(2)   NOT NULL,   -- DSC subject C = CWT iss of its certificates
    registered_at    VARCHAR(32)  NOT NULL,
    last_seen        VARCHAR(32),
    acknowledged_seq BIGINT       NOT NULL,   -- high-water mark: entries 1..N are stored
    last_hash        CHAR(64)     NOT NULL,   -- hash of entry N (GENESIS when N = 0)
    fork_flag        INTEGER      NOT NULL,   -- 1 once a different entry for a stored seq came in
    fork_detail      TEXT,
    centre           VARCHAR(120)             -- optional name for statistics
);

CREATE TABLE IF NOT EXISTS entries (
    device_id           VARCHAR(64)  NOT NULL REFERENCES devices (device_id),
    seq                 BIGINT       NOT NULL,
    time                VARCHAR(40)  NOT NULL,
    kind                VARCHAR(16)  NOT NULL,
    operator            VARCHAR(120),
    type                VARCHAR(1),
    uvci                VARCHAR(80),
    kid                 VARCHAR(16),
    hash_uci            VARCHAR(24),
    hash_countrycodeuci VARCHAR(24),
    hash_signature      VARCHAR(24),
    data                TEXT         NOT NULL,   -- canonical JSON of the entry's data
    prev_hash           CHAR(64)     NOT NULL,
    hash                CHAR(64)     NOT NULL,
    day                 VARCHAR(10),             -- derived for statistics: YYYY-MM-DD
    centre              VARCHAR(120),
    product             VARCHAR(60),
    dose                INTEGER,
    received_at         VARCHAR(32)  NOT NULL,
    PRIMARY KEY (device_id, seq)
);
CREATE INDEX IF NOT EXISTS entries_uvci ON entries (uvci);
CREATE INDEX IF NOT EXISTS entries_kind ON entries (kind);

-- Every accepted batch or USB bundle part (rejections go to the log, not here).
CREATE TABLE IF NOT EXISTS batches (
    id               BIGINT       NOT NULL PRIMARY KEY,
    device_id        VARCHAR(64)  NOT NULL,
    received_at      VARCHAR(32)  NOT NULL,
    source           VARCHAR(200) NOT NULL,   -- 'http' or 'usb:<file name>'
    first_seq        BIGINT       NOT NULL,
    last_seq         BIGINT       NOT NULL,
    new_entries      INTEGER      NOT NULL,
    acknowledged_seq BIGINT       NOT NULL
);
"""
