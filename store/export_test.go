package store

import (
	"context"
	"database/sql"
	"io/fs"

	"github.com/pressly/goose/v3"
)

// SetSearchIndexedMax lowers the count of prefix matches above which the worklist does
// not read them through the prefix indexes, so that a small database tries both plans.
func (s *Store) SetSearchIndexedMax(n int) { s.searchIndexedMax = n }

// MigrateTo applies the schema up to version v only: a database as an older release left
// it, to test what a later migration does with its rows.
func (s *Store) MigrateTo(ctx context.Context, v int64) error {
	dialect, dir := goose.DialectSQLite3, "migrations/sqlite"
	if s.backend == BackendPostgres {
		dialect, dir = goose.DialectPostgres, "migrations/postgres"
	}
	fsys, err := fs.Sub(migrations, dir)
	if err != nil {
		return err
	}
	p, err := goose.NewProvider(dialect, s.db, fsys, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return err
	}
	_, err = p.UpTo(ctx, v)
	return err
}

// DB is the store's database, for tests that write what an older release wrote.
func (s *Store) DB() *sql.DB { return s.db }

// PoolSettings gives a run-time setting as a session of each pool sees it: the main pool's
// and the screenings pool's (postgres.go).
func PoolSettings(ctx context.Context, s *Store, name string) (main, screenings string, err error) {
	if err = s.db.QueryRowContext(ctx, "SELECT current_setting($1)", name).Scan(&main); err != nil {
		return "", "", err
	}
	err = s.screeningsDB.QueryRowContext(ctx, "SELECT current_setting($1)", name).Scan(&screenings)
	return main, screenings, err
}
