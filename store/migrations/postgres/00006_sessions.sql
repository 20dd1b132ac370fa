-- Signed-in staff sessions (OpenID Connect sign-in), shared by every replica. Only a
-- hash of the session id is kept: whoever reads the table cannot act as a signed-in user.
-- A session ends at expires_us (its absolute limit) or when last_seen_us is older than
-- the idle timeout; sign-out deletes it, and expired ones are purged.

-- +goose Up
CREATE TABLE sessions (
    id_hash      TEXT NOT NULL PRIMARY KEY,
    subject      TEXT NOT NULL,
    display_name TEXT NOT NULL,
    role         TEXT NOT NULL,
    created_us   BIGINT NOT NULL,
    expires_us   BIGINT NOT NULL,
    last_seen_us BIGINT NOT NULL
);
CREATE INDEX sessions_expires ON sessions (expires_us);
CREATE INDEX sessions_last_seen ON sessions (last_seen_us);

-- +goose Down
DROP TABLE sessions;
