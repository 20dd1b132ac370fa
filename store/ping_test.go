package store_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/ncruces/go-sqlite3/driver"
	_ "github.com/ncruces/go-sqlite3/embed"

	"github.com/trialscreen/trialscreen/store"
)

// A SQLite store whose file another process holds locked for writing is not ready, though
// it still answers reads (WAL): Ping says so within its context, and is ready again once
// the lock is gone.
func TestSQLitePingNeedsTheWriteLock(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := store.Open(ctx, store.Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping on a free store: %v", err)
	}
	other, err := sql.Open("sqlite3", "file:"+filepath.Join(dir, "trialscreen.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	conn, err := other.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN EXCLUSIVE"); err != nil {
		t.Fatal(err)
	}
	// The bound is how long Ping may wait for the lock, not a timing under test.
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	err = s.Ping(short)
	cancel()
	if err == nil || !strings.Contains(err.Error(), "cannot take the write lock") {
		t.Errorf("Ping while another process holds the write lock = %v, want an error naming the write lock", err)
	}
	if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Errorf("Ping once the lock is gone: %v", err)
	}
}
