-- The audit trail in the database, beside the audit sink: one row per AuditEvent,
-- appended and never changed. Each row is chained to the one before by a hash,
-- hash = SHA-256(prev_hash || canonical bytes) (store/auditchain.go), so that a row
-- removed or changed shows in trialscreen audit verify. No code path updates or deletes
-- a row; the README gives the grants that make the database refuse it too.

-- +goose Up
CREATE TABLE audit_events (
    seq        BIGINT PRIMARY KEY,      -- 1, 2, 3, ... with no gap: a gap is a removed row
    event_id   TEXT NOT NULL UNIQUE,    -- the AuditEvent's id: a retried write is not stored twice
    created_us BIGINT NOT NULL,         -- AuditEvent.recorded, Unix microseconds (UTC)
    event      TEXT NOT NULL,           -- the AuditEvent JSON, byte for byte as hashed (TEXT, not JSONB, which would reorder it)
    prev_hash  TEXT NOT NULL,           -- the previous row's hash (hex); 64 zeros for seq 1
    hash       TEXT NOT NULL            -- hex SHA-256(prev_hash bytes || canonical bytes)
);
CREATE INDEX audit_events_created ON audit_events (created_us);

-- +goose Down
DROP TABLE audit_events;
