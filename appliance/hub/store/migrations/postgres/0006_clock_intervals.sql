-- 0006 (PostgreSQL: as the SQLite file, with TEXT and jsonb): certificates issued under a wrong
-- clock (issue 11, finding 1). A device's clock_corrected entry names the interval of its journal
-- that a wrong, later clock stamped (bad_from_seq .. bad_until_seq); the hub keeps one row per such
-- entry, with how many certificates ('issued' entries) lie inside, and the device row keeps the
-- total, so the office lists the devices whose certificates must be revoked and re-issued.
ALTER TABLE devices ADD COLUMN wrong_clock_certificates BIGINT NOT NULL DEFAULT 0;
CREATE TABLE clock_intervals (
    device_id     TEXT   NOT NULL REFERENCES devices (device_id),
    seq           BIGINT NOT NULL,
    bad_from_seq  BIGINT NOT NULL,
    bad_until_seq BIGINT NOT NULL,
    bad_from      TEXT,
    bad_until     TEXT,
    corrected_to  TEXT,
    certificates  BIGINT NOT NULL,
    received_at   TEXT   NOT NULL,
    PRIMARY KEY (device_id, seq)
);
INSERT INTO clock_intervals (device_id, seq, bad_from_seq, bad_until_seq, bad_from, bad_until, corrected_to,
                             certificates, received_at)
SELECT c.device_id, c.seq, (c.data::jsonb ->> 'bad_from_seq')::bigint, (c.data::jsonb ->> 'bad_until_seq')::bigint,
       c.data::jsonb ->> 'bad_from', c.data::jsonb ->> 'bad_until', c.data::jsonb ->> 'corrected_to',
       (SELECT COUNT(*) FROM entries i WHERE i.device_id = c.device_id AND i.kind = 'issued'
          AND i.seq BETWEEN (c.data::jsonb ->> 'bad_from_seq')::bigint AND (c.data::jsonb ->> 'bad_until_seq')::bigint),
       c.received_at
FROM entries c WHERE c.kind = 'clock_corrected'
  AND jsonb_typeof(c.data::jsonb -> 'bad_from_seq') = 'number' AND jsonb_typeof(c.data::jsonb -> 'bad_until_seq') = 'number';
UPDATE devices SET wrong_clock_certificates = (SELECT COALESCE(SUM(certificates), 0) FROM clock_intervals k
                                               WHERE k.device_id = devices.device_id);
