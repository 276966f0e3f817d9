-- 0005: the chart's summary (issue 13): certificates per day, region, centre and type, kept at
-- intake in the batch's transaction (one row per centre and day and type, not per device), so the
-- status page's chart reads a few hundred rows whatever the fleet's size. The centre is the
-- entry's own, else the device's, else the device id; region '' for none. A change of a device's
-- centre or region (register-device) rebuilds it from daily_counts in the same transaction.
CREATE TABLE centre_counts (
    day     TEXT    NOT NULL,
    region  TEXT    NOT NULL,
    centre  TEXT    NOT NULL,
    type    TEXT    NOT NULL,
    count   BIGINT  NOT NULL,
    PRIMARY KEY (day, region, centre, type)
);
INSERT INTO centre_counts (day, region, centre, type, count)
SELECT c.day, COALESCE(d.region, ''), COALESCE(NULLIF(c.centre, ''), d.centre, c.device_id), c.type, SUM(c.count)
FROM daily_counts c JOIN devices d ON d.device_id = c.device_id
GROUP BY c.day, COALESCE(d.region, ''), COALESCE(NULLIF(c.centre, ''), d.centre, c.device_id), c.type;
