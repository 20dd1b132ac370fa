// Package store keeps what must outlive a process and be shared between replicas:
// stored screenings, the CDS Hooks jti replay set, audit records and REST batches.
// SQLite (embedded, pure Go) is the default, in a file under the data directory;
// PostgreSQL is used when a database URL is given, and is what several replicas share.
// The schema is versioned (migrate.go).
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Config says which database to open.
type Config struct {
	// DatabaseURL selects PostgreSQL (postgres:// or postgresql://). "": SQLite.
	DatabaseURL string
	// DataDir holds the SQLite file (trialscreen.db) when DatabaseURL is "".
	DataDir string
	// Now is the clock of jti expiry; nil: time.Now.
	Now func() time.Time
}

// Backend names a database kind, for logs and metrics.
const (
	BackendSQLite   = "sqlite"
	BackendPostgres = "postgres"
)

// Store is an open database with its schema migrated. It is safe for concurrent use.
type Store struct {
	db *sql.DB
	// screeningsDB writes stored screenings: on PostgreSQL a pool of its own whose
	// sessions commit without waiting for the WAL flush (postgres.go); db otherwise.
	screeningsDB *sql.DB
	backend      string
	where        string // for logs: the SQLite file, or the PostgreSQL host/database (no password)
	now          func() time.Time
	rebind       func(string) string // ? placeholders to the backend's

	purgeMu   sync.Mutex
	lastPurge time.Time // the last sweep of expired jtis (jti.go)

	stopCheckpoints func() // SQLite: stops the WAL checkpointer (checkpoint.go); nil otherwise

	searchIndexedMax int // worklistsearch.go; tests lower it to try both plans

	saveMu sync.Mutex
	save   *sql.Stmt // Save's statement, prepared once (screenings.go)
}

// ErrNotFound is what Get gives for an id the store does not hold.
var ErrNotFound = errors.New("store: not found")

// Open opens the configured database and applies pending migrations under a lock, so
// that replicas starting together do not race.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	s, err := open(cfg)
	if err != nil {
		return nil, err
	}
	if err := s.Migrate(ctx); err != nil {
		_ = s.Close()
		return nil, err
	}
	return s, nil
}

// OpenUnmigrated opens the database without touching its schema (for
// trialscreen db migrate, which reports what it applies).
func OpenUnmigrated(cfg Config) (*Store, error) { return open(cfg) }

func open(cfg Config) (*Store, error) {
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	var s *Store
	var err error
	if cfg.DatabaseURL != "" {
		s, err = openPostgres(cfg.DatabaseURL)
	} else {
		s, err = openSQLite(cfg.DataDir)
	}
	if err != nil {
		return nil, err
	}
	s.now, s.searchIndexedMax = now, defaultSearchIndexedMax
	return s, nil
}

// Backend is "sqlite" or "postgres".
func (s *Store) Backend() string { return s.backend }

// Where names the database for logs: never a password.
func (s *Store) Where() string { return s.where }

// Ping checks that the database answers and, on SQLite, that it can be written: in WAL
// mode reads go on while another process holds the write lock, so a read alone would
// call a store ready that cannot store anything. It takes the write lock (BEGIN
// IMMEDIATE) and gives it back at once, waiting for it no longer than ctx allows.
func (s *Store) Ping(ctx context.Context) error {
	if s.backend != BackendSQLite {
		if err := s.db.PingContext(ctx); err != nil {
			return fmt.Errorf("store: ping: %w", err)
		}
		return nil
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("store: ping: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return fmt.Errorf("store: ping: cannot take the write lock: %w", err)
	}
	if _, err := conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK"); err != nil {
		return fmt.Errorf("store: ping: %w", err)
	}
	return nil
}

// Close releases the database (and stops the SQLite checkpointer first).
func (s *Store) Close() error {
	if s.stopCheckpoints != nil {
		s.stopCheckpoints()
	}
	err := s.db.Close()
	if s.screeningsDB != s.db {
		err = errors.Join(err, s.screeningsDB.Close())
	}
	return err
}
