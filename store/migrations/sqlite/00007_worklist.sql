-- The coordinator's worklist: one row per patient with their latest screening, kept up
-- to date by a trigger on screenings, as on PostgreSQL (see that migration for why).
-- SQLite compares text byte-wise, so the prefix searches are ranges of plain indexes.

-- +goose Up
ALTER TABLE screenings ADD COLUMN patient_name TEXT NOT NULL DEFAULT '';
ALTER TABLE screenings ADD COLUMN patient_gender TEXT NOT NULL DEFAULT '';
ALTER TABLE screenings ADD COLUMN patient_birth_date TEXT NOT NULL DEFAULT '';
ALTER TABLE screenings ADD COLUMN to_obtain TEXT NOT NULL DEFAULT '[]'; -- [{"criterion","what"}], compact JSON
ALTER TABLE screenings ADD COLUMN review_count INTEGER NOT NULL DEFAULT 0;

CREATE TABLE patient_worklist (
    patient_id        TEXT PRIMARY KEY,
    name              TEXT NOT NULL,
    name_key          TEXT NOT NULL, -- lower(name): the prefix search
    gender            TEXT NOT NULL,
    birth_date        TEXT NOT NULL,
    screening_id      TEXT NOT NULL,
    created_us        BIGINT NOT NULL,
    verdict           TEXT NOT NULL,
    surface           TEXT NOT NULL,
    to_obtain         TEXT NOT NULL,
    review_count      INTEGER NOT NULL,
    eligible_since_us BIGINT,
    previous_verdict  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX patient_worklist_created ON patient_worklist (created_us DESC, patient_id DESC);
-- eligible_since_us rides along in the verdict index: "became potentially eligible since
-- D" scans the potentially-eligible rows screened since D (eligible_since_us is never
-- after created_us) newest first, and filters without reading the table.
CREATE INDEX patient_worklist_verdict ON patient_worklist (verdict, created_us DESC, patient_id DESC, eligible_since_us);
CREATE INDEX patient_worklist_name ON patient_worklist (name_key);

-- +goose StatementBegin
CREATE TRIGGER screenings_patient_worklist AFTER INSERT ON screenings
BEGIN
    INSERT INTO patient_worklist (patient_id, name, name_key, gender, birth_date, screening_id, created_us,
        verdict, surface, to_obtain, review_count, eligible_since_us, previous_verdict)
    VALUES (NEW.patient_id, NEW.patient_name, lower(NEW.patient_name), NEW.patient_gender, NEW.patient_birth_date,
        NEW.id, NEW.created_us, NEW.verdict, NEW.surface, NEW.to_obtain, NEW.review_count,
        CASE WHEN NEW.verdict = 'potentially-eligible' THEN NEW.created_us END, '')
    ON CONFLICT (patient_id) DO UPDATE SET
        name = excluded.name, name_key = excluded.name_key, gender = excluded.gender,
        birth_date = excluded.birth_date, screening_id = excluded.screening_id,
        created_us = excluded.created_us, verdict = excluded.verdict, surface = excluded.surface,
        to_obtain = excluded.to_obtain, review_count = excluded.review_count,
        previous_verdict = patient_worklist.verdict,
        eligible_since_us = CASE
            WHEN excluded.verdict <> 'potentially-eligible' THEN NULL
            WHEN patient_worklist.verdict = 'potentially-eligible' THEN patient_worklist.eligible_since_us
            ELSE excluded.created_us END
    WHERE (excluded.created_us, excluded.screening_id) > (patient_worklist.created_us, patient_worklist.screening_id);

    -- A late, older screening: the latest stays, what came before it is recomputed.
    UPDATE patient_worklist SET
        previous_verdict = COALESCE((SELECT s.verdict FROM screenings s
            WHERE s.patient_id = patient_worklist.patient_id
              AND (s.created_us, s.id) < (patient_worklist.created_us, patient_worklist.screening_id)
            ORDER BY s.created_us DESC, s.id DESC LIMIT 1), ''),
        eligible_since_us = CASE WHEN verdict = 'potentially-eligible' THEN (
            SELECT MIN(s.created_us) FROM screenings s
            WHERE s.patient_id = patient_worklist.patient_id AND s.verdict = 'potentially-eligible'
              AND (s.created_us, s.id) <= (patient_worklist.created_us, patient_worklist.screening_id)
              AND NOT EXISTS (SELECT 1 FROM screenings b
                  WHERE b.patient_id = patient_worklist.patient_id AND b.verdict <> 'potentially-eligible'
                    AND (b.created_us, b.id) > (s.created_us, s.id)
                    AND (b.created_us, b.id) < (patient_worklist.created_us, patient_worklist.screening_id))) END
    WHERE patient_id = NEW.patient_id AND (created_us, screening_id) > (NEW.created_us, NEW.id);
END;
-- +goose StatementEnd

-- The patients screened before this version: their latest screening, with the facts
-- read from its stored document.
INSERT INTO patient_worklist (patient_id, name, name_key, gender, birth_date, screening_id, created_us,
    verdict, surface, to_obtain, review_count, eligible_since_us, previous_verdict)
SELECT patient_id, name, lower(name), gender, birth_date, id, created_us, verdict, surface, to_obtain, review_count, NULL, ''
FROM (
    SELECT patient_id, id, created_us, verdict, surface,
        COALESCE(json_extract(document, '$.patient.name'), '') AS name,
        COALESCE(json_extract(document, '$.patient.gender'), '') AS gender,
        COALESCE(json_extract(document, '$.patient.birth_date'), '') AS birth_date,
        COALESCE((SELECT json_group_array(json_object('criterion', json_extract(e.value, '$.criterion'), 'what', json_extract(e.value, '$.what')))
            FROM json_each(document, '$.to_obtain') e), '[]') AS to_obtain,
        COALESCE(json_array_length(document, '$.review_items'), 0) AS review_count,
        ROW_NUMBER() OVER (PARTITION BY patient_id ORDER BY created_us DESC, id DESC) AS n
    FROM screenings
    WHERE json_valid(document)
) latest
WHERE n = 1;

UPDATE patient_worklist SET
    previous_verdict = COALESCE((SELECT s.verdict FROM screenings s
        WHERE s.patient_id = patient_worklist.patient_id
          AND (s.created_us, s.id) < (patient_worklist.created_us, patient_worklist.screening_id)
        ORDER BY s.created_us DESC, s.id DESC LIMIT 1), ''),
    eligible_since_us = CASE WHEN verdict = 'potentially-eligible' THEN (
        SELECT MIN(s.created_us) FROM screenings s
        WHERE s.patient_id = patient_worklist.patient_id AND s.verdict = 'potentially-eligible'
          AND (s.created_us, s.id) <= (patient_worklist.created_us, patient_worklist.screening_id)
          AND NOT EXISTS (SELECT 1 FROM screenings b
              WHERE b.patient_id = patient_worklist.patient_id AND b.verdict <> 'potentially-eligible'
                AND (b.created_us, b.id) > (s.created_us, s.id)
                AND (b.created_us, b.id) < (patient_worklist.created_us, patient_worklist.screening_id))) END;

-- +goose Down
DROP TRIGGER screenings_patient_worklist;
DROP TABLE patient_worklist;
ALTER TABLE screenings DROP COLUMN patient_name;
ALTER TABLE screenings DROP COLUMN patient_gender;
ALTER TABLE screenings DROP COLUMN patient_birth_date;
ALTER TABLE screenings DROP COLUMN to_obtain;
ALTER TABLE screenings DROP COLUMN review_count;
