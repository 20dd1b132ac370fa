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
    document             TEXT NOT NULL,
    -- The resources the evidence names, with meta.versionId and meta.lastUpdated when the
    -- record gave them, so that a later screening can tell what changed: a JSON array of
    -- {"resource", "version_id", "last_updated"}. In the row, not a table of its own: a
    -- row per resource made a PostgreSQL write three times as slow, and the list is only
    -- ever read whole, with its screening.
    evidence             TEXT NOT NULL DEFAULT '[]'
);
-- A patient's screenings, newest first (ListByPatient's order and cursor).
CREATE INDEX screenings_patient_created ON screenings (patient_id, created_us DESC, id DESC);


-- +goose Down
DROP TABLE screenings;
