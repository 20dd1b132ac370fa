-- REST batches, shared by every replica: a job, and one row per patient that any replica
-- claims for a lease (claimed_by, lease_us), renews while it works, and finishes with the
-- verdict document or the reason it could not be screened. A replica that dies leaves its
-- claims to expire; another takes them over.

-- +goose Up
CREATE TABLE batches (
    id          TEXT PRIMARY KEY,
    caller_id   TEXT NOT NULL,
    caller_user TEXT NOT NULL,
    address     TEXT NOT NULL,
    as_of       TEXT NOT NULL,
    lympho_date TEXT NOT NULL,
    state       TEXT NOT NULL,
    error       TEXT NOT NULL DEFAULT '',
    created_us  BIGINT NOT NULL,
    started_us  BIGINT NOT NULL DEFAULT 0,
    finished_us BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX batches_state_created ON batches (state, created_us);
CREATE INDEX batches_caller ON batches (caller_id);

CREATE TABLE batch_patients (
    batch_id   TEXT NOT NULL REFERENCES batches (id) ON DELETE CASCADE,
    pos        INTEGER NOT NULL,
    patient_id TEXT NOT NULL,
    done       INTEGER NOT NULL DEFAULT 0,
    claimed_by TEXT NOT NULL DEFAULT '',
    lease_us   BIGINT NOT NULL DEFAULT 0,
    verdict    TEXT NOT NULL DEFAULT '',
    reason     TEXT NOT NULL DEFAULT '',
    document   BLOB,
    PRIMARY KEY (batch_id, pos)
);
-- The claim scans only the patients not finished, in order.
CREATE INDEX batch_patients_pending ON batch_patients (batch_id, pos) WHERE done = 0;
CREATE INDEX batch_patients_claimed ON batch_patients (claimed_by) WHERE done = 0;

-- +goose Down
DROP TABLE batch_patients;
DROP TABLE batches;
