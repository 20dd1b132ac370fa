package store_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trialscreen/trialscreen/store"
)

// benchAuditEvent is about the size of a real AuditEvent record (~1.3 KB).
var benchAuditEvent = []byte(`{"resourceType":"AuditEvent","detail":"` + strings.Repeat("x", 1300) + `"}`)

func benchAppendAudit(b *testing.B, cfg store.Config) {
	ctx := context.Background()
	s, err := store.Open(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	lat := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		start := time.Now()
		if err := s.AppendAudit(ctx, store.NewID(), t0.Add(time.Duration(i)*time.Second), benchAuditEvent); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	if n := len(lat); n > 0 {
		b.ReportMetric(float64(lat[n/2].Microseconds()), "p50-µs")
		b.ReportMetric(float64(lat[n*99/100].Microseconds()), "p99-µs")
	}
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
