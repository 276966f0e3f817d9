-- 0001: the hub schema as it was before numbered migrations (IF NOT EXISTS, so a store made by
-- an older hub is adopted as version 1 unchanged).
CREATE TABLE IF NOT EXISTS devices (
    device_id        VARCHAR(64)  NOT NULL PRIMARY KEY,
    dsc_pem          TEXT         NOT NULL,
    kid              VARCHAR(16)  NOT NULL,
    country          VARCHAR(2)   NOT NULL,
    registered_at    VARCHAR(32)  NOT NULL,
    last_seen        VARCHAR(32),
    acknowledged_seq BIGINT       NOT NULL,
    last_hash        CHAR(64)     NOT NULL,
    fork_flag        INTEGER      NOT NULL,
    fork_detail      TEXT,
    centre           VARCHAR(120)
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
    data                TEXT         NOT NULL,
    prev_hash           CHAR(64)     NOT NULL,
    hash                CHAR(64)     NOT NULL,
    day                 VARCHAR(10),
    centre              VARCHAR(120),
    product             VARCHAR(60),
    dose                INTEGER,
    received_at         VARCHAR(32)  NOT NULL,
    PRIMARY KEY (device_id, seq)
);
CREATE INDEX IF NOT EXISTS entries_uvci ON entries (uvci);
CREATE INDEX IF NOT EXISTS entries_kind ON entries (kind);
CREATE TABLE IF NOT EXISTS batches (
    id               BIGINT       NOT NULL PRIMARY KEY,
    device_id        VARCHAR(64)  NOT NULL,
    received_at      VARCHAR(32)  NOT NULL,
    source           VARCHAR(200) NOT NULL,
    first_seq        BIGINT       NOT NULL,
    last_seq         BIGINT       NOT NULL,
    new_entries      INTEGER      NOT NULL,
    acknowledged_seq BIGINT       NOT NULL
);
