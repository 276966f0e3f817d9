-- 0004: retention (appliance hub purge): whole months of entries are dropped, never what the
-- revocation export still needs. Per device the number of entries dropped (so gaps and the chain
-- audit tell dropped from lost); the issuing facts of certificates that have not expired yet,
-- kept from a dropped month so that a later revocation of one is still matched and exported; and
-- a record of every run.
ALTER TABLE devices ADD COLUMN purged_entries BIGINT NOT NULL DEFAULT 0;
CREATE TABLE retained_issued (
    device_id           VARCHAR(64)  NOT NULL,
    uvci                TEXT         NOT NULL,
    seq                 BIGINT       NOT NULL,
    kid                 TEXT,
    hash_uci            TEXT,
    hash_countrycodeuci TEXT,
    hash_signature      TEXT,
    expires             TEXT         NOT NULL,
    PRIMARY KEY (device_id, uvci, seq)
);
CREATE TABLE retention_runs (
    id          INTEGER      NOT NULL PRIMARY KEY,
    run_at      VARCHAR(32)  NOT NULL,
    operator    TEXT         NOT NULL,
    before_month VARCHAR(10) NOT NULL,
    entries     BIGINT       NOT NULL,
    kept_issued BIGINT       NOT NULL,
    revocations BIGINT       NOT NULL,
    detail      TEXT
);
