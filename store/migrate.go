package store

import (
	"context"
	"embed"
	"fmt"
	"io/fs"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// migrations holds the schema's versions, one set per backend: the SQL differs little,
// but each set is what that backend runs, read as it is.
//
//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrations embed.FS

// Migrated is one applied schema version.
type Migrated struct {
	Version int64
	Source  string
}

// Migrate applies the pending schema versions. On PostgreSQL an advisory lock held for
// the session makes replicas that start together take turns (the first applies, the
// others find nothing left); on SQLite a lock on a file beside the database does.
func (s *Store) Migrate(ctx context.Context) error {
	_, err := s.MigrateReport(ctx)
	return err
}

// MigrateReport is Migrate, telling which versions it applied.
func (s *Store) MigrateReport(ctx context.Context) ([]Migrated, error) {
	dialect, dir := goose.DialectSQLite3, "migrations/sqlite"
	opts := []goose.ProviderOption{goose.WithDisableGlobalRegistry(true)}
	if s.backend == BackendPostgres {
		dialect, dir = goose.DialectPostgres, "migrations/postgres"
		// Retry every second for up to 5 minutes: a replica waits while another migrates.
		locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 300))
		if err != nil {
			return nil, fmt.Errorf("store: migrate: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	} else {
		unlock, err := lockFile(s.where + ".migrate-lock")
		if err != nil {
			return nil, fmt.Errorf("store: migrate: %w", err)
		}
		defer unlock()
	}
	fsys, err := fs.Sub(migrations, dir)
	if err != nil {
		return nil, fmt.Errorf("store: migrate: %w", err)
	}
	p, err := goose.NewProvider(dialect, s.db, fsys, opts...)
	if err != nil {
		return nil, fmt.Errorf("store: migrate: %w", err)
	}
	results, err := p.Up(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: migrate (%s): %w", s.backend, err)
	}
	var done []Migrated
	for _, r := range results {
		done = append(done, Migrated{Version: r.Source.Version, Source: r.Source.Path})
	}
	return done, nil
}

// SchemaVersion is the highest schema version applied.
func (s *Store) SchemaVersion(ctx context.Context) (int64, error) {
	var v int64
	err := s.db.QueryRowContext(ctx, "SELECT COALESCE(MAX(version_id), 0) FROM goose_db_version WHERE is_applied").Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("store: schema version: %w", err)
	}
	return v, nil
}
