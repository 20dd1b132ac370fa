package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/trialscreen/trialscreen/store"
)

// benchAuditEvent is about the size of a real AuditEvent record (~1.3 KB).
var benchAuditEvent = []byte(`{"resourceType":"AuditEvent","detail":"` + strings.Repeat("x", 1300) + `"}`)

func benchAppendAudit(b *testing.B, cfg store.Config) {
	benchOp(b, cfg, func(ctx context.Context, s *store.Store, i int) error {
		return s.AppendAudit(ctx, store.NewID(), t0.Add(time.Duration(i)*time.Second), benchAuditEvent)
	})
}

// BenchmarkAppendAuditSQLite is one chained audit append (IMMEDIATE transaction) on SQLite.
func BenchmarkAppendAuditSQLite(b *testing.B) {
	benchAppendAudit(b, store.Config{DataDir: b.TempDir()})
}

// BenchmarkAppendAuditPostgres is one chained audit append (advisory lock, last row,
// insert, commit) on PostgreSQL over loopback.
func BenchmarkAppendAuditPostgres(b *testing.B) {
	benchAppendAudit(b, store.Config{DatabaseURL: pg.Database(b)})
}

// benchAppendAuditBatch appends batches of 8 records, as the service's writer does when
// records arrive faster than one transaction each (reported per batch; divide by 8).
func benchAppendAuditBatch(b *testing.B, cfg store.Config) {
	benchOp(b, cfg, func(ctx context.Context, s *store.Store, i int) error {
		batch := make([]store.AuditEntry, 8)
		for j := range batch {
			batch[j] = store.AuditEntry{EventID: store.NewID(), Created: t0.Add(time.Duration(i) * time.Second), Event: benchAuditEvent}
		}
		return s.AppendAudits(ctx, batch)
	})
}

// BenchmarkAppendAuditBatchSQLite is a batch of 8 chained appends in one transaction.
func BenchmarkAppendAuditBatchSQLite(b *testing.B) {
	benchAppendAuditBatch(b, store.Config{DataDir: b.TempDir()})
}

// BenchmarkAppendAuditBatchPostgres is a batch of 8 chained appends in one transaction.
func BenchmarkAppendAuditBatchPostgres(b *testing.B) {
	benchAppendAuditBatch(b, store.Config{DatabaseURL: pg.Database(b)})
}
