-- 0002 (PostgreSQL: as the SQLite file, with TEXT, BYTEA and BIGSERIAL): the fleet (issue 13): device facts for the status page, the pinned journal key and the
-- newest signed head, counters kept at intake (no COUNT over entries on a read), the signed
-- heads, revocations with an export cursor, daily counts, and operator decisions.
ALTER TABLE devices ADD COLUMN region TEXT;
ALTER TABLE devices ADD COLUMN dsc_not_after TEXT;
ALTER TABLE devices ADD COLUMN entry_count BIGINT NOT NULL DEFAULT 0;
ALTER TABLE devices ADD COLUMN flag_kind TEXT;
ALTER TABLE devices ADD COLUMN software_version TEXT;
ALTER TABLE devices ADD COLUMN refdata_version TEXT;
ALTER TABLE devices ADD COLUMN journal_key BYTEA;
ALTER TABLE devices ADD COLUMN journal_kid BYTEA;
ALTER TABLE devices ADD COLUMN head_seq BIGINT;
ALTER TABLE devices ADD COLUMN head_hash TEXT;
ALTER TABLE devices ADD COLUMN head_time TEXT;
ALTER TABLE devices ADD COLUMN chain_error TEXT;
UPDATE devices SET entry_count = (SELECT COUNT(*) FROM entries e WHERE e.device_id = devices.device_id);
UPDATE devices SET flag_kind = 'fork' WHERE fork_flag <> 0;
CREATE INDEX devices_region_centre ON devices (region, centre, device_id);
CREATE INDEX entries_device_uvci ON entries (device_id, uvci);

CREATE TABLE heads (
    device_id   TEXT NOT NULL REFERENCES devices (device_id),
    seq         BIGINT      NOT NULL,
    hash        TEXT    NOT NULL,
    time        TEXT NOT NULL,
    kid         BYTEA        NOT NULL,
    sig         BYTEA        NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (device_id, seq)
);

CREATE TABLE revocations (
    id                  BIGSERIAL    NOT NULL PRIMARY KEY,
    device_id           TEXT  NOT NULL,
    seq                 BIGINT       NOT NULL,
    uvci                TEXT,
    kid                 TEXT,
    country             TEXT   NOT NULL,
    hash_uci            TEXT,
    hash_countrycodeuci TEXT,
    hash_signature      TEXT,
    expires             TEXT  NOT NULL,
    revoked_at          TEXT  NOT NULL,
    UNIQUE (device_id, seq)
);
CREATE INDEX revocations_country ON revocations (country, id);

CREATE TABLE daily_counts (
    day       TEXT  NOT NULL,
    device_id TEXT  NOT NULL,
    centre    TEXT         NOT NULL,   -- the entry's own centre, '' when it names none
    type      TEXT         NOT NULL,
    product   TEXT         NOT NULL,   -- '' for none
    dose      INTEGER      NOT NULL,   -- -1 for none
    count     BIGINT       NOT NULL,
    PRIMARY KEY (day, device_id, centre, type, product, dose)
);

CREATE TABLE hub_events (
    id        BIGSERIAL    NOT NULL PRIMARY KEY,
    device_id TEXT  NOT NULL,
    time      TEXT  NOT NULL,
    kind      TEXT  NOT NULL,
    operator  TEXT         NOT NULL,
    reason    TEXT         NOT NULL,
    detail    TEXT
);
