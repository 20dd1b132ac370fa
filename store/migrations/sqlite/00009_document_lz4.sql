-- PostgreSQL's migration 9 compresses verdict documents with lz4. SQLite does not
-- compress values: nothing to do, but the version stays in step with PostgreSQL's.

-- +goose Up
SELECT 1;

-- +goose Down
SELECT 1;
