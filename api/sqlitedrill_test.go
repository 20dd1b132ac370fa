package api

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"go.uber.org/goleak"

	"github.com/trialscreen/trialscreen/store"
)

// lockHolderEnv, when set to a SQLite file, makes TestSQLiteLockHolder the helper
// process of TestSQLiteLockedDrill instead of a test.
const lockHolderEnv = "TRIALSCREEN_TEST_SQLITE_LOCK_HOLDER"

// TestSQLiteLockHolder is another process holding the SQLite database's write lock
// (BEGIN EXCLUSIVE) until its stdin closes: as an administrator's sqlite3 shell, or a
// second service started on the same data directory, would. It says "locked" on stdout
// once it holds the lock. Run as a test, it does nothing.
func TestSQLiteLockHolder(t *testing.T) {
	path := os.Getenv(lockHolderEnv)
	if path == "" {
		return
	}
	db, err := sql.Open("sqlite3", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(context.Background(), "BEGIN EXCLUSIVE"); err != nil {
		t.Fatal(err)
	}
	fmt.Println("locked")
	_, _ = io.Copy(io.Discard, os.Stdin)
	_, _ = conn.ExecContext(context.Background(), "ROLLBACK")
}

// lockSQLite starts the helper process on the store's file and waits until it holds the
// lock; the returned function releases it (the process ends).
func lockSQLite(t *testing.T, path string) (release func()) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestSQLiteLockHolder$", "-test.count=1")
	cmd.Env = append(os.Environ(), lockHolderEnv+"="+path)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := false
	release = func() {
		if done {
			return
		}
		done = true
		_ = stdin.Close()
		if err := cmd.Wait(); err != nil {
			t.Errorf("the lock holder: %v", err)
		}
	}
	t.Cleanup(release)
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "locked\n" {
		t.Fatalf("the lock holder did not take the lock: %q, %v", line, err)
	}
	return release
}

// The SQLite file locked by another process (a writer holding BEGIN EXCLUSIVE) while
// screenings, a batch and audit writes go on: the same drill as PostgreSQL's (runDrill),
// the same answers. (A data directory made unwritable is no drill here: the tests may
// run as root, whom permissions do not stop.)
func TestSQLiteLockedDrill(t *testing.T) {
	base := newDrillBaseline(t)
	ignore := goleak.IgnoreCurrent()
	dir := t.TempDir()
	clock := &leaseClock{}
	st, err := store.Open(context.Background(), store.Config{DataDir: dir, Now: clock.Now})
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	defer st.Close()
	var release func()
	// Reads go on under another's write lock (WAL); /readyz's probe takes the write lock
	// (store.Ping), so it shows the store unavailable while the writes fail.
	runDrill(t, base, st, clock, true,
		func() { release = lockSQLite(t, filepath.Join(dir, store.SQLiteFile)) },
		func() { release() })
	_ = st.Close()
	goleak.VerifyNone(t, ignore)
}
