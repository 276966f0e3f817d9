-- Version 2: find earlier certificates of the same person (standardised names + birth date)
-- through an index, for the duplicate warning, instead of scanning every retained record.
ALTER TABLE personal ADD COLUMN person_key TEXT;
UPDATE personal SET person_key =
    ifnull(json_extract(json, '$.family_name_std'), '') || '<<' ||
    ifnull(json_extract(json, '$.given_name_std'), '') || '|' ||
    ifnull(json_extract(json, '$.date_of_birth'), '');
CREATE INDEX personal_person ON personal (person_key);
