-- Review decisions and CDS Hooks feedback.
--
-- review_decisions: a coordinator's (or a portal's) decision on one review item of a
-- patient. Rows are only ever inserted: a new decision supersedes the one before by
-- being newer (a larger seq), so who decided what, and when, stays readable. evidence
-- is the criterion's evidence in the screening the decision was made on, a JSON array
-- of {"resource", "version_id", "last_updated"} like screenings.evidence: a later
-- screening whose evidence differs marks the decision "to re-check".
--
-- cds_feedback: what an EHR reported a clinician did with a card (accepted,
-- overridden, with the reasons), stored against the screening the card was made from.
-- screenings.card_uuid is how a card's uuid finds that screening.

-- +goose Up
CREATE TABLE review_decisions (
    seq          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, -- grows with each insert, so the newest row per criterion is the current one
    patient_id   TEXT NOT NULL,
    criterion    TEXT NOT NULL,
    decision     TEXT NOT NULL,         -- met, not-met, not-applicable
    note         TEXT NOT NULL DEFAULT '',
    caller_id    TEXT NOT NULL,
    caller_user  TEXT NOT NULL DEFAULT '',
    decided_us   BIGINT NOT NULL,       -- Unix microseconds (UTC)
    screening_id TEXT NOT NULL,         -- the screening it was made on (kept when that screening is deleted)
    evidence     TEXT NOT NULL DEFAULT '[]'
);
-- A patient's current decisions: the newest row of each criterion.
CREATE INDEX review_decisions_patient ON review_decisions (patient_id, criterion, seq);

ALTER TABLE screenings ADD COLUMN card_uuid TEXT NOT NULL DEFAULT '';
-- Only CDS Hooks screenings have a card; the others stay out of the index.
CREATE INDEX screenings_card_uuid ON screenings (card_uuid) WHERE card_uuid <> '';

CREATE TABLE cds_feedback (
    seq           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    screening_id  TEXT NOT NULL,        -- the screening the card was made from
    card_uuid     TEXT NOT NULL,
    client        TEXT NOT NULL,        -- the EHR (its JWT issuer)
    outcome       TEXT NOT NULL,        -- accepted, overridden
    reasons       TEXT NOT NULL DEFAULT '[]', -- JSON array of {"system", "code", "display", "comment"}
    outcome_us    BIGINT NOT NULL,      -- outcomeTimestamp, Unix microseconds (UTC)
    received_us   BIGINT NOT NULL
);
CREATE INDEX cds_feedback_screening ON cds_feedback (screening_id, seq);

-- +goose Down
DROP TABLE cds_feedback;
DROP INDEX screenings_card_uuid;
ALTER TABLE screenings DROP COLUMN card_uuid;
DROP TABLE review_decisions;
