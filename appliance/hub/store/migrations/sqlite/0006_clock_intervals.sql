-- 0006: certificates issued under a wrong clock (issue 11, finding 1). A device's clock_corrected
-- entry names the interval of its journal that a wrong, later clock stamped (bad_from_seq ..
-- bad_until_seq); the hub keeps one row per such entry, with how many certificates ('issued'
-- entries) lie inside, and the device row keeps the total, so the office lists the devices whose
-- certificates must be revoked and re-issued without a scan of their entries.
ALTER TABLE devices ADD COLUMN wrong_clock_certificates BIGINT NOT NULL DEFAULT 0;
CREATE TABLE clock_intervals (
    device_id     VARCHAR(64) NOT NULL REFERENCES devices (device_id),
    seq           BIGINT      NOT NULL,   -- the clock_corrected entry
    bad_from_seq  BIGINT      NOT NULL,
    bad_until_seq BIGINT      NOT NULL,
    bad_from      VARCHAR(40),
    bad_until     VARCHAR(40),
    corrected_to  VARCHAR(40),
    certificates  BIGINT      NOT NULL,
    received_at   VARCHAR(32) NOT NULL,
    PRIMARY KEY (device_id, seq)
);
-- A store made by an older hub: its clock_corrected entries, once.
INSERT INTO clock_intervals (device_id, seq, bad_from_seq, bad_until_seq, bad_from, bad_until, corrected_to,
                             certificates, received_at)
SELECT c.device_id, c.seq, json_extract(c.data, '$.bad_from_seq'), json_extract(c.data, '$.bad_until_seq'),
       json_extract(c.data, '$.bad_from'), json_extract(c.data, '$.bad_until'), json_extract(c.data, '$.corrected_to'),
       (SELECT COUNT(*) FROM entries i WHERE i.device_id = c.device_id AND i.kind = 'issued'
          AND i.seq BETWEEN json_extract(c.data, '$.bad_from_seq') AND json_extract(c.data, '$.bad_until_seq')),
       c.received_at
FROM entries c WHERE c.kind = 'clock_corrected'
  AND json_type(c.data, '$.bad_from_seq') = 'integer' AND json_type(c.data, '$.bad_until_seq') = 'integer';
UPDATE devices SET wrong_clock_certificates = (SELECT COALESCE(SUM(certificates), 0) FROM clock_intervals k
                                               WHERE k.device_id = devices.device_id);
