package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // "pgx": tampering with a PostgreSQL database behind the store's back
	_ "github.com/ncruces/go-sqlite3/driver"

	"github.com/trialscreen/trialscreen/store"
)

// rawDB opens the database cfg names without the store, as someone tampering with it
// would.
func rawDB(t *testing.T, cfg store.Config) *sql.DB {
	t.Helper()
	driver, dsn := "pgx", cfg.DatabaseURL
	if dsn == "" {
		driver, dsn = "sqlite3", "file:"+filepath.Join(cfg.DataDir, store.SQLiteFile)
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// appendN appends n audit events, created a second apart from t0.
func appendN(t *testing.T, s *store.Store, n int) {
	t.Helper()
	for i := 1; i <= n; i++ {
		ev := fmt.Sprintf(`{"resourceType":"AuditEvent","id":"ev-%d","outcome":"0"}`, i)
		if err := s.AppendAudit(context.Background(), fmt.Sprintf("ev-%d", i), t0.Add(time.Duration(i)*time.Second), []byte(ev)); err != nil {
			t.Fatalf("AppendAudit %d: %v", i, err)
		}
	}
}

// auditCases are the suite's audit trail cases, run against every backend.
func auditCases(t *testing.T, fresh newConfig) {
	ctx := context.Background()
	fixed := func() time.Time { return t0 }
	open := func(t *testing.T) (*store.Store, store.Config) {
		t.Helper()
		cfg := fresh(t, fixed)
		s, err := store.Open(ctx, cfg)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s, cfg
	}

	t.Run("audit chain intact verifies, and reads back in order", func(t *testing.T) {
		t.Parallel()
		s, _ := open(t)
		if c, err := s.VerifyAudit(ctx); err != nil || !c.Intact() || c.Count != 0 {
			t.Errorf("empty chain: %+v, %v", c, err)
		}
		appendN(t, s, 5)
		// A retried write of an event already stored adds nothing.
		if err := s.AppendAudit(ctx, "ev-2", t0, []byte(`{"other":1}`)); err != nil {
			t.Errorf("AppendAudit of an id already stored = %v, want nil", err)
		}
		c, err := s.VerifyAudit(ctx)
		if err != nil || !c.Intact() || c.Count != 5 {
			t.Errorf("VerifyAudit = %+v, %v; want 5 rows, intact", c, err)
		}
		var seqs []int64
		err = s.EachAudit(ctx, t0.Add(3*time.Second), func(r store.AuditRecord) error {
			seqs = append(seqs, r.Seq)
			if want := fmt.Sprintf(`"id":"ev-%d"`, r.Seq); !strings.Contains(string(r.Event), want) || r.EventID != fmt.Sprintf("ev-%d", r.Seq) {
				t.Errorf("seq %d holds %s", r.Seq, r.Event)
			}
			return nil
		})
		if err != nil || fmt.Sprint(seqs) != "[3 4 5]" {
			t.Errorf("EachAudit since the third = %v, %v; want [3 4 5]", seqs, err)
		}
	})

	t.Run("audit batches chain in order; ids already written, or twice in a batch, are stored once", func(t *testing.T) {
		t.Parallel()
		s, _ := open(t)
		appendN(t, s, 2)
		batch := []store.AuditEntry{
			{EventID: "ev-2", Created: t0, Event: []byte(`{"again":2}`)}, // written before
			{EventID: "ev-3", Created: t0.Add(3 * time.Second), Event: []byte(`{"id":"ev-3"}`)},
			{EventID: "ev-3", Created: t0.Add(3 * time.Second), Event: []byte(`{"id":"ev-3"}`)}, // twice in the batch
			{EventID: "ev-4", Created: t0.Add(4 * time.Second), Event: []byte(`{"id":"ev-4"}`)},
		}
		if err := s.AppendAudits(ctx, batch); err != nil {
			t.Fatalf("AppendAudits: %v", err)
		}
		var ids []string
		if err := s.EachAudit(ctx, time.Time{}, func(r store.AuditRecord) error { ids = append(ids, fmt.Sprint(r.Seq, r.EventID)); return nil }); err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(ids, " "); got != "1ev-1 2ev-2 3ev-3 4ev-4" {
			t.Errorf("trail = %s, want 1ev-1 2ev-2 3ev-3 4ev-4", got)
		}
		if c, err := s.VerifyAudit(ctx); err != nil || !c.Intact() || c.Count != 4 {
			t.Errorf("VerifyAudit = %+v, %v; want 4 rows, intact", c, err)
		}
		// All or none: a batch with an entry the store refuses writes nothing.
		bad := []store.AuditEntry{{EventID: "ev-5", Created: t0, Event: []byte(`{}`)}, {EventID: "", Event: []byte(`{}`)}}
		if err := s.AppendAudits(ctx, bad); err == nil {
			t.Error("AppendAudits with an entry without id succeeded")
		}
		big := make([]store.AuditEntry, store.MaxAuditBatch+1)
		if err := s.AppendAudits(ctx, big); err == nil || !strings.Contains(err.Error(), "1 to 64 at a time") {
			t.Errorf("AppendAudits of %d = %v, want an error naming the bound", len(big), err)
		}
		if c, _ := s.VerifyAudit(ctx); c.Count != 4 {
			t.Errorf("after refused batches: %d rows, want 4", c.Count)
		}
	})

	t.Run("audit append refuses an event without id", func(t *testing.T) {
		t.Parallel()
		s, _ := open(t)
		err := s.AppendAudit(ctx, "", t0, []byte(`{}`))
		if err == nil || err.Error() != "store: append audit: event id and event are required" {
			t.Errorf("AppendAudit = %v", err)
		}
	})

	for _, tc := range []struct {
		name, sql  string
		seq        int64
		reasonPart string
	}{
		{"a changed event", `UPDATE audit_events SET event = REPLACE(event, '"0"', '"8"') WHERE seq = 3`, 3, "was changed"},
		{"a changed time", `UPDATE audit_events SET created_us = created_us + 1 WHERE seq = 2`, 2, "was changed"},
		{"a deleted row", `DELETE FROM audit_events WHERE seq = 3`, 3, "seq 3 is missing"},
		{"a deleted first row", `DELETE FROM audit_events WHERE seq = 1`, 1, "seq 1 is missing"},
		{"a row rehashed after a change", `UPDATE audit_events SET event = '{}', hash = 'ab' WHERE seq = 4`, 4, "was changed"},
		{"a relinked row", `UPDATE audit_events SET prev_hash = (SELECT hash FROM audit_events WHERE seq = 1) WHERE seq = 3`, 3, "prev_hash does not match"},
	} {
		t.Run("audit tampering detected: "+tc.name, func(t *testing.T) {
			t.Parallel()
			s, cfg := open(t)
			appendN(t, s, 5)
			if _, err := rawDB(t, cfg).ExecContext(ctx, tc.sql); err != nil {
				t.Fatalf("tamper: %v", err)
			}
			c, err := s.VerifyAudit(ctx)
			if err != nil {
				t.Fatalf("VerifyAudit: %v", err)
			}
			if c.Intact() || c.BrokenSeq != tc.seq || !strings.Contains(c.Reason, tc.reasonPart) {
				t.Errorf("VerifyAudit = %+v; want broken at seq %d (%s)", c, tc.seq, tc.reasonPart)
			}
		})
	}

	t.Run("audit appends from many goroutines and two stores chain correctly", func(t *testing.T) {
		t.Parallel()
		s1, cfg := open(t)
		s2, err := store.Open(ctx, cfg) // a second replica on the same database
		if err != nil {
			t.Fatal(err)
		}
		defer s2.Close()
		const n = 40
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range n {
			s := s1
			if i%2 == 1 {
				s = s2
			}
			wg.Go(func() {
				id := fmt.Sprintf("c-%d", i)
				errs <- s.AppendAudit(ctx, id, t0, []byte(`{"id":"`+id+`"}`))
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Errorf("AppendAudit: %v", err)
			}
		}
		c, err := s2.VerifyAudit(ctx)
		if err != nil || !c.Intact() || c.Count != n {
			t.Errorf("VerifyAudit = %+v, %v; want %d rows, intact", c, err, n)
		}
	})

	t.Run("audit read on a closed store fails with an error", func(t *testing.T) {
		t.Parallel()
		s, _ := open(t)
		_ = s.Close()
		if _, err := s.VerifyAudit(ctx); err == nil || !strings.Contains(err.Error(), "store: verify audit: store: read audit: sql: database is closed") {
			t.Errorf("VerifyAudit = %v", err)
		}
		if err := s.AppendAudit(ctx, "x", t0, []byte(`{}`)); !errors.Is(err, sql.ErrConnDone) && (err == nil || !strings.Contains(err.Error(), "database is closed")) {
			t.Errorf("AppendAudit = %v", err)
		}
	})

	t.Run("retention deletes old screenings only, never audit rows", func(t *testing.T) {
		t.Parallel()
		s, _ := open(t)
		for i, created := range []time.Time{t0.Add(-100 * 24 * time.Hour), t0.Add(-91 * 24 * time.Hour), t0.Add(-time.Hour)} {
			sc := store.Screening{ID: fmt.Sprintf("r-%d", i), PatientID: "p1", Created: created, Document: []byte(`{}`)}
			if err := s.Save(ctx, sc); err != nil {
				t.Fatal(err)
			}
		}
		appendN(t, s, 2)
		n, err := s.DeleteScreeningsBefore(ctx, t0.Add(-90*24*time.Hour))
		if err != nil || n != 2 {
			t.Errorf("DeleteScreeningsBefore = %d, %v; want 2", n, err)
		}
		if _, err := s.Get(ctx, "r-2"); err != nil {
			t.Errorf("the recent screening: %v", err)
		}
		if _, err := s.Get(ctx, "r-0"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("the old screening: %v, want ErrNotFound", err)
		}
		if c, err := s.VerifyAudit(ctx); err != nil || c.Count != 2 || !c.Intact() {
			t.Errorf("audit after retention: %+v, %v", c, err)
		}
		_ = s.Close()
		if _, err := s.DeleteScreeningsBefore(ctx, t0); err == nil || !strings.Contains(err.Error(), "store: delete old screenings:") {
			t.Errorf("DeleteScreeningsBefore on a closed store = %v", err)
		}
	})
}
