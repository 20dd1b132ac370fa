package store_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trialscreen/trialscreen/store"
)

// benchDocument is about the size of a real verdict document (39 criteria): ~24 KB.
var benchDocument = []byte(`{"criteria":[` + strings.Repeat(`{"id":"x","outcome":"pass","evidence":[{"resource":"Observation/1"}]},`, 340) + `{}]}`)

func benchSave(b *testing.B, cfg store.Config) { benchSaveWith(b, cfg, false) }

// benchSaveWith is benchSave; with readDecisions, each save also reads the patient's
// current review decisions (SaveReadingDecisions, as the service saves), two of which
// the first saves of each patient add.
func benchSaveWith(b *testing.B, cfg store.Config, readDecisions bool) {
	refs := make([]store.EvidenceRef, 30)
	for i := range refs {
		refs[i] = store.EvidenceRef{Resource: fmt.Sprintf("Observation/%d", i), VersionID: "1"}
	}
	benchOp(b, cfg, func(ctx context.Context, s *store.Store, i int) error {
		sc := store.Screening{ID: store.NewID(), PatientID: fmt.Sprintf("p%d", i%50), Created: t0.Add(time.Duration(i) * time.Second),
			Surface: "rest", CallerID: "bench", ProtocolID: "p", ProtocolVersion: "1", AsOf: t0, Verdict: "ineligible",
			Document: benchDocument, Evidence: refs}
		if !readDecisions {
			return s.Save(ctx, sc)
		}
		if i < 100 {
			if err := s.SaveDecision(ctx, store.Decision{PatientID: sc.PatientID, Criterion: fmt.Sprintf("c%d", i/50), Decision: "met",
				CallerID: "bench", DecidedAt: t0, ScreeningID: "s", Evidence: refs[:2]}); err != nil {
				return err
			}
		}
		_, err := s.SaveReadingDecisions(ctx, sc)
		return err
	})
}

// benchOp runs op b.N times on a store opened from cfg and reports the p50 and p99 of
// its latency beside ns/op.
func benchOp(b *testing.B, cfg store.Config, op func(ctx context.Context, s *store.Store, i int) error) {
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
		if err := op(ctx, s, i); err != nil {
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

// BenchmarkSaveSQLite is a screening write on SQLite (WAL, synchronous=normal).
func BenchmarkSaveSQLite(b *testing.B) {
	benchSave(b, store.Config{DataDir: b.TempDir()})
}

// BenchmarkSavePostgres is a screening write on PostgreSQL over loopback. The test
// cluster pgtest starts runs with fsync off; a server given by
// TRIALSCREEN_TEST_DATABASE_URL runs with its own settings.
func BenchmarkSavePostgres(b *testing.B) {
	benchSave(b, store.Config{DatabaseURL: pg.Database(b)})
}

// BenchmarkSaveReadingDecisionsPostgres is the service's write: the screening stored and
// the patient's review decisions read in one statement. Compare with
// BenchmarkSavePostgres: the difference is the cost of the review standing.
func BenchmarkSaveReadingDecisionsPostgres(b *testing.B) {
	benchSaveWith(b, store.Config{DatabaseURL: pg.Database(b)}, true)
}

// BenchmarkSaveReadingDecisionsSQLite is the same on SQLite (two statements in process).
func BenchmarkSaveReadingDecisionsSQLite(b *testing.B) {
	benchSaveWith(b, store.Config{DataDir: b.TempDir()}, true)
}
