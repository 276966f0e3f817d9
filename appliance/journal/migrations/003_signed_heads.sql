-- Version 3: signed journal heads, TPM counter checkpoints, operator pseudonyms.

-- The signed heads (appliance.journal.heads): (seq, hash) of the journal at a commit or a sync,
-- signed by the journal key. The newest is checked at start-up and by 'journal verify'.
CREATE TABLE heads (
    seq  INTEGER PRIMARY KEY,
    hash TEXT NOT NULL,
    time TEXT NOT NULL,
    kid  BLOB NOT NULL,
    sig  BLOB NOT NULL
);

-- With a TPM: each row binds the TPM NV counter value to a signed head (appliance.journal.integrity).
CREATE TABLE counter_checkpoints (
    counter INTEGER PRIMARY KEY,
    seq     INTEGER NOT NULL,
    hash    TEXT NOT NULL,
    time    TEXT NOT NULL,
    sig     BLOB NOT NULL
);

-- The staff member's name stays on the device; the synced entry carries only a pseudonym,
-- HMAC-SHA-256 of the name with this device secret (never synced).
ALTER TABLE entries ADD COLUMN operator_name TEXT;
INSERT OR IGNORE INTO meta (key, value) VALUES ('operator_secret', lower(hex(randomblob(32))));

-- A revocation's free-text note stays on the device; the synced entry carries a reason code.
ALTER TABLE entries ADD COLUMN note TEXT;
