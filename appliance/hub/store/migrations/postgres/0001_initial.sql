-- 0001: the hub schema of the SQLite store, for PostgreSQL. Entries are range-partitioned by
-- the month of their time (partitions are made at intake as months appear), so that retention
-- drops whole partitions. A partitioned table can only be unique over keys that hold the
-- partition column, so (device_id, seq) is made unique by the narrow entry_keys table, written
-- in the same transaction (and kept when a month is dropped: a seq is never stored twice).
CREATE TABLE devices (
    device_id        TEXT         NOT NULL PRIMARY KEY,
    dsc_pem          TEXT         NOT NULL,
    kid              TEXT         NOT NULL,
    country          TEXT         NOT NULL,
    registered_at    TEXT         NOT NULL,
    last_seen        TEXT,
    acknowledged_seq BIGINT       NOT NULL,
    last_hash        TEXT         NOT NULL,
    fork_flag        INTEGER      NOT NULL,
    fork_detail      TEXT,
    centre           TEXT
);
CREATE TABLE entries (
    device_id           TEXT    NOT NULL,
    seq                 BIGINT  NOT NULL,
    time                TEXT    NOT NULL,
    kind                TEXT    NOT NULL,
    operator            TEXT,
    type                TEXT,
    uvci                TEXT,
    kid                 TEXT,
    hash_uci            TEXT,
    hash_countrycodeuci TEXT,
    hash_signature      TEXT,
    data                TEXT    NOT NULL,
    prev_hash           TEXT    NOT NULL,
    hash                TEXT    NOT NULL,
    day                 TEXT,
    centre              TEXT,
    product             TEXT,
    dose                INTEGER,
    received_at         TEXT    NOT NULL,
    month               DATE    NOT NULL,
    PRIMARY KEY (device_id, seq, month)
) PARTITION BY RANGE (month);
CREATE TABLE entry_keys (
    device_id TEXT   NOT NULL REFERENCES devices (device_id),
    seq       BIGINT NOT NULL,
    month     DATE   NOT NULL,
    PRIMARY KEY (device_id, seq)
);
CREATE INDEX entries_uvci ON entries (uvci);
CREATE INDEX entries_kind ON entries (kind);
CREATE TABLE batches (
    id               BIGSERIAL    NOT NULL PRIMARY KEY,
    device_id        TEXT         NOT NULL,
    received_at      TEXT         NOT NULL,
    source           TEXT         NOT NULL,
    first_seq        BIGINT       NOT NULL,
    last_seq         BIGINT       NOT NULL,
    new_entries      INTEGER      NOT NULL,
    acknowledged_seq BIGINT       NOT NULL
);
