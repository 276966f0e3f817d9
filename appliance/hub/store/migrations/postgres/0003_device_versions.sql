-- 0003: the software version a device reports with its batches (X-Appliance-Software) as a key
-- that sorts like the version (every number zero-padded to 10 digits: 1.9 < 1.10), so that the
-- central office lists the devices running a version older than one it names. The versions
-- themselves are devices.software_version / refdata_version (0002). Devices that reported a
-- version before this migration get their key with their next batch.
ALTER TABLE devices ADD COLUMN software_key TEXT;
CREATE INDEX devices_software_key ON devices (software_key, device_id);
