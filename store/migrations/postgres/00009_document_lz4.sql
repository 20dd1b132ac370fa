-- Verdict documents (about 30 KB of JSON each) are compressed by PostgreSQL when stored
-- out of line. Its default, pglz, took about 300 µs of the 650 µs a screening's INSERT
-- took here (p50, durable commit, loopback); lz4 stores them about as small (10.5 KB
-- against 9.5 KB a row) at half the time. Servers built without lz4 (or before
-- PostgreSQL 14) keep pglz: the change is an optimisation, never a reason to fail.

-- +goose Up
-- +goose StatementBegin
DO $$
BEGIN
    EXECUTE 'ALTER TABLE screenings ALTER COLUMN document SET COMPRESSION lz4';
    EXECUTE 'ALTER TABLE batch_patients ALTER COLUMN document SET COMPRESSION lz4';
EXCEPTION WHEN others THEN
    RAISE NOTICE 'lz4 compression unavailable (%); documents stay pglz-compressed', SQLERRM;
END $$;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
DO $$
BEGIN
    EXECUTE 'ALTER TABLE screenings ALTER COLUMN document SET COMPRESSION pglz';
    EXECUTE 'ALTER TABLE batch_patients ALTER COLUMN document SET COMPRESSION pglz';
EXCEPTION WHEN others THEN
    RAISE NOTICE 'compression unchanged (%)', SQLERRM;
END $$;
-- +goose StatementEnd
