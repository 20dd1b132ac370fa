package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"

	"github.com/trialscreen/trialscreen/store"
)

// flakyAuditStore is a real store behind a switch: down, every append fails before
// reaching the database; lossy, an append is written but its answer lost (as when the
// connection drops after the commit), so the writer retries one already stored.
type flakyAuditStore struct {
	st          *store.Store
	mu          sync.Mutex
	down, lossy bool
	calls       int
}

func (f *flakyAuditStore) set(down, lossy bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down, f.lossy = down, lossy
}

func (f *flakyAuditStore) AppendAudits(ctx context.Context, entries []store.AuditEntry) error {
	f.mu.Lock()
	down, lossy := f.down, f.lossy
	f.calls++
	f.mu.Unlock()
	if down {
		return errors.New("dial tcp 127.0.0.1:5432: connect: connection refused")
	}
	if err := f.st.AppendAudits(ctx, entries); err != nil {
		return err
	}
	if lossy {
		return errors.New("unexpected EOF")
	}
	return nil
}

// waitFor polls cond for up to 20 s: the writer runs in the background. The bound is only
// a stop for a broken writer, not a timing the test asserts.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for range 4000 {
		if cond() {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("gave up waiting for %s", what)
}

// The database down while audit records are written: every record is in the sink at
// once, queued, counted as failing, and written once the database is back, each once
// (also when an answer was lost after a commit), in order, chained; no goroutine is left.
func TestAuditRecordsSurviveTheDatabaseDown(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			url := ""
			if backend == "postgres" {
				url = pg.Database(t)
			}
			flaky := &flakyAuditStore{st: openStore(t, url)}
			ignore := goleak.IgnoreCurrent() // the database's own goroutines live until cleanup
			flaky.set(true, false)
			m, err := NewMetrics(prometheus.NewRegistry())
			if err != nil {
				t.Fatal(err)
			}
			var sink bytes.Buffer
			a := NewAuditLog(&sink, "test")
			a.now = fixedClock(testNow)
			stop := a.StoreTo(flaky, AuditStoreOptions{Metrics: m, Backoff: func(int) time.Duration { return time.Millisecond }})
			for _, p := range []string{"p1", "p2", "p3"} {
				a.Record(Access{Caller: "portal", Surface: surfaceREST, PatientID: p})
			}
			if n := strings.Count(sink.String(), "\n"); n != 3 {
				t.Fatalf("%d records in the sink, want 3 at once", n)
			}
			waitFor(t, "failures counted", func() bool { return testutil.ToFloat64(m.store.auditFailures) >= 2 })
			if got := testutil.ToFloat64(m.store.auditPending); got != 3 {
				t.Errorf("pending = %v while the database is down, want 3", got)
			}
			flaky.set(false, true) // back, but the first answer is lost after its commit
			waitFor(t, "a write whose answer was lost", func() bool { c, _ := flaky.st.VerifyAudit(context.Background()); return c.Count >= 1 })
			flaky.set(false, false)
			waitFor(t, "the queue drained", func() bool { return testutil.ToFloat64(m.store.auditPending) == 0 })
			if left := stop(context.Background()); left != 0 {
				t.Errorf("stop left %d unwritten", left)
			}
			goleak.VerifyNone(t, ignore)

			c, err := flaky.st.VerifyAudit(context.Background())
			if err != nil || !c.Intact() || c.Count != 3 {
				t.Fatalf("VerifyAudit = %+v, %v; want 3 rows (no duplicate), intact", c, err)
			}
			var sinkIDs, dbIDs []string
			for _, line := range strings.Split(strings.TrimSpace(sink.String()), "\n") {
				var ev struct{ ID string }
				_ = json.Unmarshal([]byte(line), &ev)
				sinkIDs = append(sinkIDs, ev.ID)
			}
			_ = flaky.st.EachAudit(context.Background(), time.Time{}, func(r store.AuditRecord) error {
				dbIDs = append(dbIDs, r.EventID)
				if !strings.Contains(string(r.Event), `"Patient/p`) {
					t.Errorf("seq %d is not the AuditEvent: %s", r.Seq, r.Event)
				}
				return nil
			})
			if strings.Join(sinkIDs, ",") != strings.Join(dbIDs, ",") {
				t.Errorf("database ids %v, want the sink's %v in order", dbIDs, sinkIDs)
			}
		})
	}
}

// A full queue drops the newest record from the database's copy and counts it; the sink
// has it. Stopping with the database down returns at once, naming what is left.
func TestAuditQueueFullDropsAndCounts(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	flaky := &flakyAuditStore{}
	flaky.set(true, false)
	m, err := NewMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	var sink bytes.Buffer
	a := NewAuditLog(&sink, "test")
	a.now = fixedClock(testNow)
	stop := a.StoreTo(flaky, AuditStoreOptions{Metrics: m, MaxPending: 2, Backoff: func(int) time.Duration { return time.Hour }})
	for range 3 {
		a.Record(Access{Caller: "portal", Surface: surfaceREST, PatientID: "p"})
	}
	if got := testutil.ToFloat64(m.store.auditDropped); got != 1 {
		t.Errorf("dropped = %v, want 1", got)
	}
	if got := testutil.ToFloat64(m.store.auditPending); got != 2 {
		t.Errorf("pending = %v, want 2", got)
	}
	if n := strings.Count(sink.String(), "\n"); n != 3 {
		t.Errorf("%d records in the sink, want all 3", n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // no time to flush: stop must not wait out the hour's backoff
	if left := stop(ctx); left != 2 {
		t.Errorf("stop left %d, want 2", left)
	}
}
