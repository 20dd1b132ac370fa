package store

import (
	"context"
	"database/sql"
	"sync"
	"time"
)

// sqliteCheckpointEvery is how often the WAL is copied into the database file. The WAL
// grows by what is written in between (a screening is ~25 KB: at 100 a second, ~2.5 MB).
const sqliteCheckpointEvery = time.Second

// startCheckpointer runs SQLite's WAL checkpoints on a goroutine of its own, PASSIVE
// (never waiting for a writer or reader), so that no commit pays for one. The returned
// stop is idempotent and waits for the goroutine to end.
func startCheckpointer(db *sql.DB, every time.Duration) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				// A failure (busy, closed) is left to the next tick: the WAL only grows
				// meanwhile, and every commit stays durable in it.
				_, _ = db.ExecContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)")
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			cancel()
			<-done
		})
	}
}
