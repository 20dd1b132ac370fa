-- The coordinator's worklist: one row per patient with their latest screening, kept up
-- to date by a trigger on screenings so that saving a screening stays one INSERT (one
-- round trip) and the worklist is never a screening behind. The screening row carries
-- the few facts the worklist shows (name, what to obtain, the review count), so the
-- trigger needs no JSON parsing.
--
-- Only a newer screening (created_us, then id: ListByPatient's order) replaces a row:
-- two replicas may commit a patient's screenings out of order. A late, older screening
-- only corrects previous_verdict and eligible_since_us, recomputed from screenings.
-- eligible_since_us is when the current run of potentially-eligible verdicts began
-- (NULL unless the latest verdict is potentially-eligible). The prefix searches compare
-- ids and names byte-wise (COLLATE "C"), so that a prefix is a range of an index.

-- +goose Up
ALTER TABLE screenings
    ADD COLUMN patient_name       TEXT NOT NULL DEFAULT '',
    ADD COLUMN patient_gender     TEXT NOT NULL DEFAULT '',
    ADD COLUMN patient_birth_date TEXT NOT NULL DEFAULT '',
    ADD COLUMN to_obtain          TEXT NOT NULL DEFAULT '[]', -- [{"criterion","what"}], compact JSON
    ADD COLUMN review_count       INTEGER NOT NULL DEFAULT 0;

CREATE TABLE patient_worklist (
    patient_id        TEXT PRIMARY KEY,
    name              TEXT NOT NULL,
    name_key          TEXT COLLATE "C" NOT NULL, -- lower(name): the prefix search
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
-- The worklist's order (newest first, keyset on created_us, patient_id) unfiltered and
-- by verdict; the prefix searches.
CREATE INDEX patient_worklist_created ON patient_worklist (created_us DESC, patient_id DESC);
-- eligible_since_us rides along in the verdict index: "became potentially eligible since
-- D" scans the potentially-eligible rows screened since D (eligible_since_us is never
-- after created_us) newest first, and filters without reading the table.
CREATE INDEX patient_worklist_verdict ON patient_worklist (verdict, created_us DESC, patient_id DESC, eligible_since_us);
CREATE INDEX patient_worklist_name ON patient_worklist (name_key);
CREATE INDEX patient_worklist_id_prefix ON patient_worklist ((patient_id COLLATE "C"));

-- +goose StatementBegin
CREATE FUNCTION patient_worklist_keep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO patient_worklist AS w (patient_id, name, name_key, gender, birth_date, screening_id, created_us,
        verdict, surface, to_obtain, review_count, eligible_since_us, previous_verdict)
    VALUES (NEW.patient_id, NEW.patient_name, lower(NEW.patient_name), NEW.patient_gender, NEW.patient_birth_date,
        NEW.id, NEW.created_us, NEW.verdict, NEW.surface, NEW.to_obtain, NEW.review_count,
        CASE WHEN NEW.verdict = 'potentially-eligible' THEN NEW.created_us END, '')
    ON CONFLICT (patient_id) DO UPDATE SET
        name = EXCLUDED.name, name_key = EXCLUDED.name_key, gender = EXCLUDED.gender,
        birth_date = EXCLUDED.birth_date, screening_id = EXCLUDED.screening_id,
        created_us = EXCLUDED.created_us, verdict = EXCLUDED.verdict, surface = EXCLUDED.surface,
        to_obtain = EXCLUDED.to_obtain, review_count = EXCLUDED.review_count,
        previous_verdict = w.verdict,
        eligible_since_us = CASE
            WHEN EXCLUDED.verdict <> 'potentially-eligible' THEN NULL
            WHEN w.verdict = 'potentially-eligible' THEN w.eligible_since_us
            ELSE EXCLUDED.created_us END
    WHERE (EXCLUDED.created_us, EXCLUDED.screening_id) > (w.created_us, w.screening_id);

    IF FOUND THEN
        RETURN NULL; -- the newest: the row is up to date
    END IF;
    -- A late, older screening: the latest stays, what came before it is recomputed.
    UPDATE patient_worklist w SET
        previous_verdict = COALESCE((SELECT s.verdict FROM screenings s
            WHERE s.patient_id = w.patient_id AND (s.created_us, s.id) < (w.created_us, w.screening_id)
            ORDER BY s.created_us DESC, s.id DESC LIMIT 1), ''),
        eligible_since_us = CASE WHEN w.verdict = 'potentially-eligible' THEN (
            SELECT MIN(s.created_us) FROM screenings s
            WHERE s.patient_id = w.patient_id AND s.verdict = 'potentially-eligible'
              AND (s.created_us, s.id) <= (w.created_us, w.screening_id)
              AND NOT EXISTS (SELECT 1 FROM screenings b
                  WHERE b.patient_id = w.patient_id AND b.verdict <> 'potentially-eligible'
                    AND (b.created_us, b.id) > (s.created_us, s.id)
                    AND (b.created_us, b.id) < (w.created_us, w.screening_id))) END
    WHERE w.patient_id = NEW.patient_id AND (w.created_us, w.screening_id) > (NEW.created_us, NEW.id);
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER screenings_patient_worklist AFTER INSERT ON screenings
    FOR EACH ROW EXECUTE FUNCTION patient_worklist_keep();

-- The patients screened before this version: their latest screening, with the facts
-- read from its stored document.
INSERT INTO patient_worklist (patient_id, name, name_key, gender, birth_date, screening_id, created_us,
    verdict, surface, to_obtain, review_count, eligible_since_us, previous_verdict)
SELECT patient_id, name, lower(name), gender, birth_date, id, created_us, verdict, surface, to_obtain, review_count, NULL, ''
FROM (
    SELECT s.patient_id, s.id, s.created_us, s.verdict, s.surface,
        COALESCE(d.doc #>> '{patient,name}', '') AS name,
        COALESCE(d.doc #>> '{patient,gender}', '') AS gender,
        COALESCE(d.doc #>> '{patient,birth_date}', '') AS birth_date,
        COALESCE((SELECT jsonb_agg(jsonb_build_object('criterion', e->>'criterion', 'what', e->>'what'))
            FROM jsonb_array_elements(CASE WHEN jsonb_typeof(d.doc->'to_obtain') = 'array' THEN d.doc->'to_obtain' ELSE '[]' END) e)::text, '[]') AS to_obtain,
        CASE WHEN jsonb_typeof(d.doc->'review_items') = 'array' THEN jsonb_array_length(d.doc->'review_items') ELSE 0 END AS review_count,
        ROW_NUMBER() OVER (PARTITION BY s.patient_id ORDER BY s.created_us DESC, s.id DESC) AS n
    FROM screenings s CROSS JOIN LATERAL (SELECT s.document::jsonb AS doc) d
) latest
WHERE n = 1;

UPDATE patient_worklist w SET
    previous_verdict = COALESCE((SELECT s.verdict FROM screenings s
        WHERE s.patient_id = w.patient_id AND (s.created_us, s.id) < (w.created_us, w.screening_id)
        ORDER BY s.created_us DESC, s.id DESC LIMIT 1), ''),
    eligible_since_us = CASE WHEN w.verdict = 'potentially-eligible' THEN (
        SELECT MIN(s.created_us) FROM screenings s
        WHERE s.patient_id = w.patient_id AND s.verdict = 'potentially-eligible'
          AND (s.created_us, s.id) <= (w.created_us, w.screening_id)
          AND NOT EXISTS (SELECT 1 FROM screenings b
              WHERE b.patient_id = w.patient_id AND b.verdict <> 'potentially-eligible'
                AND (b.created_us, b.id) > (s.created_us, s.id)
                AND (b.created_us, b.id) < (w.created_us, w.screening_id))) END;

-- +goose Down
DROP TRIGGER screenings_patient_worklist ON screenings;
DROP FUNCTION patient_worklist_keep();
DROP TABLE patient_worklist;
ALTER TABLE screenings
    DROP COLUMN patient_name, DROP COLUMN patient_gender, DROP COLUMN patient_birth_date,
    DROP COLUMN to_obtain, DROP COLUMN review_count;
