package store_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/trialscreen/trialscreen/store"
)

// newConfig gives the configuration of a fresh, empty database with the given clock.
type newConfig func(t *testing.T, now func() time.Time) store.Config

// t0 is the suite's fixed instant: no test reads the wall clock.
var t0 = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

// runSuite is the one store test suite, run against every backend.
func runSuite(t *testing.T, fresh newConfig) {
	open := func(t *testing.T, now func() time.Time) *store.Store {
		t.Helper()
		s, err := store.Open(context.Background(), fresh(t, now))
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	fixed := func() time.Time { return t0 }
	ctx := context.Background()

	t.Run("save and get", func(t *testing.T) {
		t.Parallel()
		s := open(t, fixed)
		in := store.Screening{
			ID: store.NewID(), PatientID: "p1", Created: t0, Surface: "rest", CallerID: "portal",
			ProtocolID: "proto", ProtocolVersion: "1.2", AsOf: t0.Add(-time.Hour), LymphodepletionDate: "2026-12-01",
			Verdict: "ineligible", Document: []byte(`{"verdict":"ineligible","z":1,"a":2}`),
			PatientName: "Ada King", PatientGender: "female", PatientBirthDate: "1960-02-03",
			ToObtain: []store.ObtainItem{{Criterion: "ecg", What: "an ECG"}}, ReviewCount: 4,
			Evidence: []store.EvidenceRef{
				{Resource: "Observation/2", VersionID: "3", LastUpdated: "2026-11-19T10:00:00Z"},
				{Resource: "Condition/1"},
				{Resource: "Observation/2", VersionID: "other"}, // the same resource again: kept once
			},
		}
		if err := s.Save(ctx, in); err != nil {
			t.Fatalf("Save: %v", err)
		}
		got, err := s.Get(ctx, in.ID)
		if err != nil {
			t.Fatalf("Get: %v", err)
		}
		want := in
		want.Evidence = []store.EvidenceRef{in.Evidence[0], {Resource: "Condition/1"}}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("Get (-want +got):\n%s", d)
		}
	})

	t.Run("get unknown id", func(t *testing.T) {
		t.Parallel()
		s := open(t, fixed)
		if _, err := s.Get(ctx, "no-such-id"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Get = %v, want ErrNotFound", err)
		}
	})

	t.Run("save refuses a record without id", func(t *testing.T) {
		t.Parallel()
		s := open(t, fixed)
		err := s.Save(ctx, store.Screening{PatientID: "p1"})
		if err == nil || err.Error() != "store: save screening: id and patient id are required" {
			t.Errorf("Save = %v", err)
		}
	})

	t.Run("save refuses a duplicate id", func(t *testing.T) {
		t.Parallel()
		s := open(t, fixed)
		sc := store.Screening{ID: "dup", PatientID: "p1", Created: t0, Document: []byte(`{}`)}
		if err := s.Save(ctx, sc); err != nil {
			t.Fatal(err)
		}
		if err := s.Save(ctx, sc); err == nil {
			t.Error("second Save with the same id succeeded")
		}
	})

	t.Run("list by patient, newest first, paged", func(t *testing.T) {
		t.Parallel()
		s := open(t, fixed)
		var want []store.Summary
		for i := range 7 {
			// Two screenings share each instant: the id breaks the tie.
			created := t0.Add(time.Duration(i/2) * time.Minute)
			sc := store.Screening{ID: fmt.Sprintf("id-%d", i), PatientID: "p1", Created: created,
				Surface: "rest", Verdict: "insufficient-data", Document: []byte(`{}`)}
			if err := s.Save(ctx, sc); err != nil {
				t.Fatal(err)
			}
			want = append([]store.Summary{{ID: sc.ID, Created: created, Verdict: sc.Verdict, Surface: sc.Surface}}, want...)
		}
		if err := s.Save(ctx, store.Screening{ID: "other", PatientID: "p2", Created: t0, Document: []byte(`{}`)}); err != nil {
			t.Fatal(err)
		}
		var got []store.Summary
		cursor, pages := "", 0
		for {
			p, err := s.ListByPatient(ctx, "p1", cursor, 3)
			if err != nil {
				t.Fatalf("ListByPatient: %v", err)
			}
			pages++
			got = append(got, p.Items...)
			if p.Next == "" {
				break
			}
			cursor = p.Next
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("pages (-want +got):\n%s", d)
		}
		if pages != 3 {
			t.Errorf("%d pages of 3 for 7 screenings, want 3", pages)
		}
		p, err := s.ListByPatient(ctx, "nobody", "", 10)
		if err != nil || len(p.Items) != 0 || p.Next != "" {
			t.Errorf("unknown patient: %+v, %v", p, err)
		}
	})

	t.Run("list refuses a bad cursor and limit", func(t *testing.T) {
		t.Parallel()
		s := open(t, fixed)
		if _, err := s.ListByPatient(ctx, "p1", "not a cursor!", 10); !errors.Is(err, store.ErrBadCursor) {
			t.Errorf("bad cursor: %v, want ErrBadCursor", err)
		}
		for _, n := range []int{0, store.MaxPageSize + 1} {
			if _, err := s.ListByPatient(ctx, "p1", "", n); err == nil {
				t.Errorf("limit %d accepted", n)
			}
		}
	})

	t.Run("jti used once until it expires", func(t *testing.T) {
		t.Parallel()
		var mu sync.Mutex
		now := t0
		clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
		s := open(t, clock)
		until := t0.Add(5 * time.Minute)
		if err := s.UseJTI(ctx, "ehr-a", "j1", until); err != nil {
			t.Fatalf("first use: %v", err)
		}
		if err := s.UseJTI(ctx, "ehr-a", "j1", until); !errors.Is(err, store.ErrReplay) {
			t.Errorf("replay: %v, want ErrReplay", err)
		}
		if err := s.UseJTI(ctx, "ehr-b", "j1", until); err != nil {
			t.Errorf("the same jti from another issuer: %v", err)
		}
		mu.Lock()
		now = until.Add(2 * time.Minute) // past expiry, and past the sweep interval
		mu.Unlock()
		if err := s.UseJTI(ctx, "ehr-a", "j1", now.Add(5*time.Minute)); err != nil {
			t.Errorf("an expired jti used again: %v", err)
		}
		// The sweep removed ehr-b's expired jti; ehr-a's was renewed.
		if n, err := s.JTICount(ctx); err != nil || n != 1 {
			t.Errorf("JTICount = %d, %v; want 1 after the sweep", n, err)
		}
	})

	t.Run("jti raced by many callers is accepted once", func(t *testing.T) {
		t.Parallel()
		s := open(t, fixed)
		var wg sync.WaitGroup
		var mu sync.Mutex
		accepted, replays := 0, 0
		for range 8 {
			wg.Go(func() {
				err := s.UseJTI(ctx, "ehr", "raced", t0.Add(time.Minute))
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					accepted++
				case errors.Is(err, store.ErrReplay):
					replays++
				default:
					t.Errorf("UseJTI: %v", err)
				}
			})
		}
		wg.Wait()
		if accepted != 1 || replays != 7 {
			t.Errorf("accepted %d, replays %d; want 1 and 7", accepted, replays)
		}
	})

	t.Run("migrations are versioned and idempotent, also started together", func(t *testing.T) {
		t.Parallel()
		cfg := fresh(t, fixed)
		var wg sync.WaitGroup
		stores := make([]*store.Store, 3)
		errs := make([]error, 3)
		for i := range stores {
			wg.Go(func() { stores[i], errs[i] = store.Open(ctx, cfg) })
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("Open %d of 3 at once: %v", i, err)
			}
			defer stores[i].Close()
		}
		applied, err := stores[0].MigrateReport(ctx)
		if err != nil || len(applied) != 0 {
			t.Errorf("MigrateReport on a migrated database = %v, %v; want nothing applied", applied, err)
		}
		if v, err := stores[1].SchemaVersion(ctx); err != nil || v != newestMigration(t) {
			t.Errorf("SchemaVersion = %d, %v; want %d, the newest migration file's", v, err, newestMigration(t))
		}
	})

	auditCases(t, fresh)
	batchCases(t, fresh)
	reviewCases(t, func(t *testing.T) *store.Store { return open(t, fixed) })
	sessionCases(t, fresh)

	t.Run("a closed store fails with an error", func(t *testing.T) {
		t.Parallel()
		s := open(t, fixed)
		_ = s.Close()
		err := s.Save(ctx, store.Screening{ID: "x", PatientID: "p1", Document: []byte(`{}`)})
		if err == nil || err.Error() != "store: save screening: sql: database is closed" {
			t.Errorf("Save on a closed store = %v, want the database is closed", err)
		}
		if err := s.Ping(ctx); err == nil {
			t.Error("Ping on a closed store succeeded")
		}
	})
	previousSuite(t, func(t *testing.T) *store.Store { return open(t, fixed) })
	worklistSuite(t, func(t *testing.T) *store.Store { return open(t, fixed) })
	worklistBackfillSuite(t, fresh)
}

// newestMigration is the version of the newest migration file (both dialects have the
// same versions), so that adding one does not mean editing this test.
func newestMigration(t *testing.T) int64 {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join("migrations", "sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	var newest int64
	for _, e := range entries {
		if v, err := strconv.ParseInt(strings.SplitN(e.Name(), "_", 2)[0], 10, 64); err == nil && v > newest {
			newest = v
		}
	}
	return newest
}
