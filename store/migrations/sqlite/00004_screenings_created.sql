-- The retention job deletes screenings older than TRIALSCREEN_RETENTION by created_us
-- alone: without this index each hourly run would read the whole table.

-- +goose Up
CREATE INDEX screenings_created ON screenings (created_us);

-- +goose Down
DROP INDEX screenings_created;
