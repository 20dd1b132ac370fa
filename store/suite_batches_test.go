package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/trialscreen/trialscreen/store"
)

// stepClock stands still until advanced: leases end when a test says.
type stepClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *stepClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *stepClock) advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func newBatch(id, caller string, ids ...string) store.BatchJob {
	return store.BatchJob{ID: id, CallerID: caller, Address: "127.0.0.1", AsOf: "2026-11-20T00:00:00Z", PatientIDs: ids, Created: t0}
}

func batchCases(t *testing.T, fresh newConfig) {
	ctx := context.Background()
	const lease = 30 * time.Second
	open := func(t *testing.T) (*store.Store, *stepClock) {
		t.Helper()
		clock := &stepClock{t: t0}
		s, err := store.Open(ctx, fresh(t, clock.Now))
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s, clock
	}
	claim := func(t *testing.T, s *store.Store, worker string) (store.BatchClaim, bool) {
		t.Helper()
		c, ok, err := s.ClaimBatchPatient(ctx, worker, lease)
		if err != nil {
			t.Fatalf("ClaimBatchPatient: %v", err)
		}
		return c, ok
	}

	t.Run("batch claims in order, leases, takeover and done", func(t *testing.T) {
		t.Parallel()
		s, clock := open(t)
		if err := s.CreateBatch(ctx, newBatch("b1", "portal", "p1", "p2", "p3"), 10, 100); err != nil {
			t.Fatal(err)
		}
		c1, _ := claim(t, s, "w1")
		c2, _ := claim(t, s, "w1")
		c3, _ := claim(t, s, "w2")
		if c1.PatientID != "p1" || c2.PatientID != "p2" || c3.PatientID != "p3" || c3.Pos != 2 {
			t.Fatalf("claims %+v %+v %+v, want p1 p2 p3 in order", c1, c2, c3)
		}
		if c, ok := claim(t, s, "w2"); ok {
			t.Fatalf("claimed %+v while every patient is leased", c)
		}
		if err := s.FinishBatchPatient(ctx, "w1", c1, store.BatchOutcome{Verdict: "ineligible", Document: []byte(`{"n":1}`)}); err != nil {
			t.Fatal(err)
		}
		if err := s.FinishBatchPatient(ctx, "w2", c3, store.BatchOutcome{Reason: "not_found"}); err != nil {
			t.Fatal(err)
		}
		// w2 renews; w1 does not (it died holding p2): after the lease, w2 takes p2 over.
		clock.advance(lease / 2)
		if err := s.RenewBatchLeases(ctx, "w2", lease); err != nil {
			t.Fatal(err)
		}
		clock.advance(lease/2 + time.Second)
		c, ok := claim(t, s, "w2")
		if !ok || c != c2 {
			t.Fatalf("after w1's lease ended: %+v %v, want %+v", c, ok, c2)
		}
		err := s.FinishBatchPatient(ctx, "w1", c2, store.BatchOutcome{Verdict: "ineligible", Document: []byte(`{"late":1}`)})
		if !errors.Is(err, store.ErrLeaseLost) {
			t.Errorf("w1 finishing a patient taken over = %v, want ErrLeaseLost", err)
		}
		in, err := s.Batch(ctx, "b1")
		if err != nil || in.State != store.BatchRunning || in.Screened != 1 || in.Failed["not_found"] != 1 || in.Total != 3 || !in.Started.Equal(t0) {
			t.Fatalf("Batch = %+v, %v; want running, 1 screened, 1 not found of 3, started at t0", in, err)
		}
		if err := s.FinishBatchPatient(ctx, "w2", c, store.BatchOutcome{Verdict: "potentially-eligible", Document: []byte(`{"n":2}`)}); err != nil {
			t.Fatal(err)
		}
		in, err = s.Batch(ctx, "b1")
		if err != nil || in.State != store.BatchDone || in.Finished.IsZero() || fmt.Sprint(in.Verdicts) != "map[ineligible:1 potentially-eligible:1]" {
			t.Fatalf("Batch = %+v, %v; want done", in, err)
		}
		// A clean shutdown gives a patient up at once.
		if err := s.CreateBatch(ctx, newBatch("b2", "portal", "q1"), 10, 100); err != nil {
			t.Fatal(err)
		}
		q, _ := claim(t, s, "w3")
		if err := s.ReleaseBatchClaims(ctx, "w3"); err != nil {
			t.Fatal(err)
		}
		if again, ok := claim(t, s, "w4"); !ok || again != q {
			t.Errorf("after release: %+v %v, want %+v", again, ok, q)
		}
		var docs []string
		if err := s.EachBatchResult(ctx, "b1", func(d []byte) error { docs = append(docs, string(d)); return nil }); err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(docs) != `[{"n":1} {"n":2}]` {
			t.Errorf("results %v, want the documents in patient order", docs)
		}
	})

	t.Run("batch claims from many workers and two stores: each patient once", func(t *testing.T) {
		t.Parallel()
		clock := &stepClock{t: t0}
		cfg := fresh(t, clock.Now)
		var stores []*store.Store
		for range 2 { // two pools on one database, as two replicas have
			s, err := store.Open(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = s.Close() })
			stores = append(stores, s)
		}
		s := stores[0]
		var ids []string
		for i := range 60 {
			ids = append(ids, fmt.Sprintf("p%02d", i))
		}
		if err := s.CreateBatch(ctx, newBatch("many", "portal", ids...), 10, 100); err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		seen := map[string]int{}
		var wg sync.WaitGroup
		for w := range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				worker, s := fmt.Sprintf("w%d", w), stores[w%2]
				for {
					c, ok, err := s.ClaimBatchPatient(ctx, worker, lease)
					if err != nil {
						t.Errorf("claim: %v", err)
						return
					}
					if !ok {
						return
					}
					mu.Lock()
					seen[c.PatientID]++
					mu.Unlock()
					if err := s.FinishBatchPatient(ctx, worker, c, store.BatchOutcome{Reason: "error"}); err != nil {
						t.Errorf("finish: %v", err)
						return
					}
				}
			}()
		}
		wg.Wait()
		for _, id := range ids {
			if seen[id] != 1 {
				t.Errorf("%s claimed %d times, want 1", id, seen[id])
			}
		}
		if in, err := s.Batch(ctx, "many"); err != nil || in.State != store.BatchDone || in.Failed["error"] != 60 {
			t.Errorf("Batch = %+v, %v; want done with 60 failed", in, err)
		}
	})

	t.Run("batches created at once on two replicas keep the caller's limit", func(t *testing.T) {
		t.Parallel()
		clock := &stepClock{t: t0}
		cfg := fresh(t, clock.Now)
		var stores []*store.Store
		for range 2 {
			s, err := store.Open(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = s.Close() })
			stores = append(stores, s)
		}
		const tries = 16
		errs := make(chan error, tries)
		for i := range tries {
			go func() {
				errs <- stores[i%2].CreateBatch(ctx, newBatch(fmt.Sprintf("x%d", i), "x", "p1"), 3, 100)
			}()
		}
		created := 0
		for range tries {
			var le *store.BatchLimitError
			switch err := <-errs; {
			case err == nil:
				created++
			case !errors.As(err, &le):
				t.Errorf("CreateBatch: %v", err)
			}
		}
		if created != 3 {
			t.Errorf("%d batches created for one caller at once, want its limit (3)", created)
		}
	})

	t.Run("batch limits, cancel, delete and prune", func(t *testing.T) {
		t.Parallel()
		s, clock := open(t)
		if err := s.CreateBatch(ctx, newBatch("a1", "a", "p1"), 1, 2); err != nil {
			t.Fatal(err)
		}
		var le *store.BatchLimitError
		err := s.CreateBatch(ctx, newBatch("a2", "a", "p1"), 1, 2)
		if !errors.As(err, &le) || le.Scope != "caller" || le.Count != 1 || le.Limit != 1 {
			t.Fatalf("second batch of a caller at its limit = %v, want a caller BatchLimitError", err)
		}
		if err := s.CreateBatch(ctx, newBatch("b1", "b", "p1"), 1, 2); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateBatch(ctx, newBatch("c1", "c", "p1"), 1, 2); !errors.As(err, &le) || le.Scope != "service" || le.Count != 2 {
			t.Fatalf("a batch over the service's limit = %v, want a service BatchLimitError", err)
		}
		if ok, err := s.CancelBatch(ctx, "a1", "cancelled by the caller", clock.Now()); !ok || err != nil {
			t.Fatalf("CancelBatch = %v, %v", ok, err)
		}
		if ok, _ := s.CancelBatch(ctx, "a1", "again", clock.Now()); ok {
			t.Error("a cancelled batch was cancelled again")
		}
		if c, ok := claim(t, s, "w"); !ok || c.BatchID != "b1" {
			t.Errorf("claim = %+v %v, want b1's patient (a1 is cancelled)", c, ok)
		}
		// a's cancelled batch makes room for its next one.
		if err := s.CreateBatch(ctx, newBatch("a2", "a", "p1"), 1, 2); err != nil {
			t.Fatalf("a caller's next batch after its only one was cancelled: %v", err)
		}
		if _, err := s.Batch(ctx, "a1"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("the evicted batch: %v, want ErrNotFound", err)
		}
		if ok, _ := s.CancelBatch(ctx, "a2", "x", clock.Now()); !ok {
			t.Fatal("cancel a2")
		}
		clock.advance(time.Hour)
		if err := s.PruneBatches(ctx, clock.Now()); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Batch(ctx, "a2"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("pruned batch: %v, want ErrNotFound", err)
		}
		if err := s.DeleteBatch(ctx, "b1"); err != nil {
			t.Fatal(err)
		}
		if _, ok := claim(t, s, "w"); ok {
			t.Error("claimed a patient of a deleted batch")
		}
		if err := s.CreateBatch(ctx, store.BatchJob{ID: "x"}, 1, 1); err == nil || err.Error() != "store: create batch: id and patients are required" {
			t.Errorf("CreateBatch without patients = %v", err)
		}
		_ = s.Close()
		if _, _, err := s.ClaimBatchPatient(ctx, "w", lease); err == nil || err.Error() != "store: claim batch patient: sql: database is closed" {
			t.Errorf("claim on a closed store = %v", err)
		}
	})
}
