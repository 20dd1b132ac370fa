package store

import (
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"

	_ "github.com/ncruces/go-sqlite3/driver" // registers "sqlite3": SQLite compiled to Go, no cgo
)

// SQLiteFile is the database's file name under the data directory.
const SQLiteFile = "trialscreen.db"

// sqliteBusyTimeoutMS makes a writer wait for another's lock instead of failing at once
// (SQLITE_BUSY). Writes are bounded by the caller's context anyway.
const sqliteBusyTimeoutMS = 5000

// openSQLite opens (creating) dir/trialscreen.db in WAL mode: readers never block the
// one writer, and a crash loses no committed screening.
func openSQLite(dir string) (*Store, error) {
	if dir == "" {
		return nil, fmt.Errorf("store: sqlite: no data directory")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("store: sqlite: data directory: %w", err)
	}
	path := filepath.Join(dir, SQLiteFile)
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", sqliteBusyTimeoutMS))
	q.Add("_pragma", "journal_mode(wal)")
	q.Add("_pragma", "synchronous(normal)") // with WAL: durable at checkpoints, never corrupt
	q.Add("_pragma", "foreign_keys(on)")
	// No checkpoint on the writer's path: a commit that crosses SQLite's threshold would
	// copy the WAL into the database (milliseconds) while a screening waits for it. The
	// checkpointer does it in the background instead (checkpoint.go).
	q.Add("_pragma", "wal_autocheckpoint(0)")
	db, err := sql.Open("sqlite3", "file:"+(&url.URL{Path: path}).EscapedPath()+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("store: sqlite %s: %w", path, err)
	}
	// One file, one writer at a time: more connections only queue on SQLite's lock.
	db.SetMaxOpenConns(4)
	s := &Store{db: db, screeningsDB: db, backend: BackendSQLite, where: path, rebind: func(q string) string { return q }}
	s.stopCheckpoints = startCheckpointer(db, sqliteCheckpointEvery)
	return s, nil
}
