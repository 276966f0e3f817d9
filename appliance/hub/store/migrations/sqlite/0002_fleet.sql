-- 0002: the fleet (issue 13): device facts for the status page, the pinned journal key and the
-- newest signed head, counters kept at intake (no COUNT over entries on a read), the signed
-- heads, revocations with an export cursor, daily counts, and operator decisions.
ALTER TABLE devices ADD COLUMN region VARCHAR(120);
ALTER TABLE devices ADD COLUMN dsc_not_after VARCHAR(32);
ALTER TABLE devices ADD COLUMN entry_count BIGINT NOT NULL DEFAULT 0;
ALTER TABLE devices ADD COLUMN flag_kind VARCHAR(16);
ALTER TABLE devices ADD COLUMN software_version VARCHAR(64);
ALTER TABLE devices ADD COLUMN refdata_version VARCHAR(64);
ALTER TABLE devices ADD COLUMN journal_key BLOB;
ALTER TABLE devices ADD COLUMN journal_kid BLOB;
ALTER TABLE devices ADD COLUMN head_seq BIGINT;
ALTER TABLE devices ADD COLUMN head_hash CHAR(64);
ALTER TABLE devices ADD COLUMN head_time VARCHAR(20);
ALTER TABLE devices ADD COLUMN chain_error TEXT;
UPDATE devices SET entry_count = (SELECT COUNT(*) FROM entries e WHERE e.device_id = devices.device_id);
UPDATE devices SET flag_kind = 'fork' WHERE fork_flag <> 0;
CREATE INDEX devices_region_centre ON devices (region, centre, device_id);
CREATE INDEX entries_device_uvci ON entries (device_id, uvci);

CREATE TABLE heads (
    device_id   VARCHAR(64) NOT NULL REFERENCES devices (device_id),
    seq         BIGINT      NOT NULL,
    hash        CHAR(64)    NOT NULL,
    time        VARCHAR(20) NOT NULL,
    kid         BLOB        NOT NULL,
    sig         BLOB        NOT NULL,
    received_at VARCHAR(32) NOT NULL,
    PRIMARY KEY (device_id, seq)
);

CREATE TABLE revocations (
    id                  INTEGER      NOT NULL PRIMARY KEY,
    device_id           VARCHAR(64)  NOT NULL,
    seq                 BIGINT       NOT NULL,
    uvci                TEXT,
    kid                 TEXT,
    country             VARCHAR(2)   NOT NULL,
    hash_uci            TEXT,
    hash_countrycodeuci TEXT,
    hash_signature      TEXT,
    expires             VARCHAR(20)  NOT NULL,
    revoked_at          VARCHAR(40)  NOT NULL,
    UNIQUE (device_id, seq)
);
CREATE INDEX revocations_country ON revocations (country, id);

CREATE TABLE daily_counts (
    day       VARCHAR(10)  NOT NULL,
    device_id VARCHAR(64)  NOT NULL,
    centre    TEXT         NOT NULL,   -- the entry's own centre, '' when it names none
    type      TEXT         NOT NULL,
    product   TEXT         NOT NULL,   -- '' for none
    dose      INTEGER      NOT NULL,   -- -1 for none
    count     BIGINT       NOT NULL,
    PRIMARY KEY (day, device_id, centre, type, product, dose)
);

CREATE TABLE hub_events (
    id        INTEGER      NOT NULL PRIMARY KEY,
    device_id VARCHAR(64)  NOT NULL,
    time      VARCHAR(32)  NOT NULL,
    kind      VARCHAR(32)  NOT NULL,
    operator  TEXT         NOT NULL,
    reason    TEXT         NOT NULL,
    detail    TEXT
);

-- A store made by an older hub: derive its counts and revocations once (a revocation counts
-- only when the same device issued the certificate; issue 11, finding 3).
INSERT INTO daily_counts (day, device_id, centre, type, product, dose, count)
SELECT COALESCE(day, ''), device_id, COALESCE(centre, ''), COALESCE(type, ''), COALESCE(product, ''),
       COALESCE(dose, -1), COUNT(*) FROM entries WHERE kind = 'issued' GROUP BY 1, 2, 3, 4, 5, 6;
INSERT INTO revocations (device_id, seq, uvci, kid, country, hash_uci, hash_countrycodeuci, hash_signature,
                         expires, revoked_at)
SELECT r.device_id, r.seq, r.uvci, COALESCE(i.kid, r.kid), d.country, COALESCE(i.hash_uci, r.hash_uci),
       COALESCE(i.hash_countrycodeuci, r.hash_countrycodeuci), COALESCE(i.hash_signature, r.hash_signature),
       COALESCE(strftime('%Y-%m-%dT%H:%M:%SZ', json_extract(i.data, '$.expires_at')),
                strftime('%Y-%m-%dT%H:%M:%SZ', r.time, '+365 days'), '9999-12-31T00:00:00Z'), r.time
FROM entries r JOIN devices d ON d.device_id = r.device_id
JOIN entries i ON i.device_id = r.device_id AND i.uvci = r.uvci AND i.kind = 'issued'
WHERE r.kind = 'revoked' ORDER BY r.device_id, r.seq;
