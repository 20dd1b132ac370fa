-- Stored screenings: the verdict document as it was answered, with what a listing and
-- a later comparison need in columns of their own. Times are Unix microseconds (UTC):
-- one representation in SQLite and PostgreSQL, ordered as numbers.

-- +goose Up
CREATE TABLE screenings (
    id                   TEXT PRIMARY KEY,
    patient_id           TEXT NOT NULL,
    created_us           BIGINT NOT NULL,
    surface              TEXT NOT NULL,
    caller_id            TEXT NOT NULL,
    protocol_id          TEXT NOT NULL,
    protocol_version     TEXT NOT NULL,
    as_of_us             BIGINT NOT NULL,
    lymphodepletion_date TEXT NOT NULL DEFAULT '',
    verdict              TEXT NOT NULL,
    document             TEXT NOT NULL
);
-- A patient's screenings, newest first (ListByPatient's order and cursor).
CREATE INDEX screenings_patient_created ON screenings (patient_id, created_us DESC, id DESC);

-- The resources a screening's evidence names: with their versionId and lastUpdated when
-- the record gave them, so that a later screening can tell what changed.
CREATE TABLE screening_evidence (
    screening_id TEXT NOT NULL REFERENCES screenings (id) ON DELETE CASCADE,
    resource     TEXT NOT NULL,
    version_id   TEXT NOT NULL DEFAULT '',
    last_updated TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (screening_id, resource)
);

-- +goose Down
DROP TABLE screening_evidence;
DROP TABLE screenings;
