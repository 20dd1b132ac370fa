package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/trialscreen/trialscreen/screening"
	"github.com/trialscreen/trialscreen/store"
)

// The body of the database fault drills, whichever database and fault
// (dbdrill_test.go: PostgreSQL; sqlitedrill_test.go: SQLite).

// drillStoreTimeout bounds each store call in the drills: short, so that a slow
// database costs the drill a few seconds, yet long enough that a healthy database on a
// busy machine under -race is never taken for a failing one (250 ms was not); the slow
// fault delays traffic well beyond it.
const drillStoreTimeout = time.Second

// holdOne is the demo source holding the first fetch after arm until released, so
// that a batch is caught mid-way while the other screenings go on.
type holdOne struct {
	inner          screening.Source
	armed          atomic.Bool
	held, released chan struct{}
	releaseOnce    sync.Once
}

func newHoldOne(t *testing.T) *holdOne {
	h := &holdOne{inner: newGateSource(t).inner, held: make(chan struct{}), released: make(chan struct{})}
	t.Cleanup(h.release)
	return h
}

func (h *holdOne) arm()     { h.armed.Store(true) }
func (h *holdOne) release() { h.releaseOnce.Do(func() { close(h.released) }) }

func (h *holdOne) Record(ctx context.Context, id string) (*screening.Record, error) {
	if h.armed.CompareAndSwap(true, false) {
		close(h.held)
		select {
		case <-h.released:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return h.inner.Record(ctx, id)
}

func (h *holdOne) waitHeld(t *testing.T) {
	t.Helper()
	select {
	case <-h.held:
	case <-time.After(10 * time.Second): // a guard against a hang, not a timing
		t.Fatal("no fetch was held within 10 s")
	}
}

// drillBaseline is what the service answers with no store at all: the answers a
// database failing may never change.
type drillBaseline struct {
	verdicts map[string]string // REST, by patient
	card     cdsCard           // the CDS card for the candidate's prefetch
}

func newDrillBaseline(t *testing.T) drillBaseline {
	b := drillBaseline{verdicts: map[string]string{}}
	rest := newRESTEnv(t, nil)
	for _, id := range demoIDs {
		b.verdicts[id] = string(screeningOf(t, rest.do(t, http.MethodGet, "/v1/patients/"+id+"/screening", nil)).Verdict)
	}
	cds := newCDSTestEnv(t, cdsTestConfig{})
	status, body, _ := cds.post(t, cds.key.token(t, nil), cdsHookBody("demo-candidate", cdsDemoPrefetch(t, "candidate")))
	b.card = cdsOneCard(t, status, body)
	return b
}

// runDrill screens, batches and audits on st, breaks the database mid-way, repairs it and
// checks the answers, the batch and the audit table (TestDatabaseFaultDrills says what).
// clock is the store's: advanced past a batch lease after the repair, so that a patient
// whose outcome could not be recorded is taken again. readyShows: /readyz must show the
// store unavailable during the fault (its probe is a read).
func runDrill(t *testing.T, base drillBaseline, st *store.Store, clock *leaseClock, readyShows bool, breakDB, healDB func()) {
	auditOpts := func(c *Config) AuditStoreOptions {
		return AuditStoreOptions{Metrics: c.Metrics, WriteTimeout: drillStoreTimeout, Backoff: func(int) time.Duration { return 5 * time.Millisecond }}
	}
	var stopRESTAudit, stopCDSAudit func(context.Context) int
	hold := newHoldOne(t)
	rest := newRESTEnv(t, func(c *Config) {
		c.Screenings, c.JTIs, c.Batches, c.Source = st, st, st, hold
		c.BatchPoll, c.StoreTimeout, c.StoreReady = 5*time.Millisecond, drillStoreTimeout, st.Ping
		stopRESTAudit = c.Audit.StoreTo(st, auditOpts(c))
	})
	t.Cleanup(func() {
		if t.Failed() { // the service's own account of the store's errors
			t.Logf("service log:\n%s", rest.log.String())
		}
	})
	cds := newCDSTestEnv(t, cdsTestConfig{mod: func(c *Config) {
		c.Screenings, c.JTIs, c.StoreTimeout = st, st, drillStoreTimeout
		stopCDSAudit = c.Audit.StoreTo(st, auditOpts(c))
	}})
	screenREST := func(t *testing.T, id string) storedDoc {
		t.Helper()
		rec := rest.do(t, http.MethodGet, "/v1/patients/"+id+"/screening", nil)
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: status %d: %.300s", id, rec.Code, rec.Body)
		}
		d := docOf(t, rec.Body.Bytes())
		if d.Verdict != base.verdicts[id] {
			t.Errorf("%s: verdict %s, want %s as without a store", id, d.Verdict, base.verdicts[id])
		}
		return d
	}
	card := func(t *testing.T) {
		t.Helper()
		status, body, _ := cds.post(t, cds.key.token(t, nil), cdsHookBody("demo-candidate", cdsDemoPrefetch(t, "candidate")))
		if c := cdsOneCard(t, status, body); c.Summary != base.card.Summary || c.Indicator != base.card.Indicator {
			t.Errorf("card %q (%s), want %q (%s) as without a store", c.Summary, c.Indicator, base.card.Summary, base.card.Indicator)
		}
	}

	storeState := func(t *testing.T) string {
		t.Helper()
		rec := rest.do(t, http.MethodGet, "/readyz", nil)
		var body map[string]string
		if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &body) != nil {
			t.Fatalf("/readyz: %d %.200s; the replica stays ready, the store aside", rec.Code, rec.Body)
		}
		return body["store"]
	}

	// Healthy: stored.
	if d := screenREST(t, "demo-candidate"); d.Stored == nil || !*d.Stored {
		t.Fatalf("before the fault: stored %v, want true", d.Stored)
	}
	card(t)
	hold.arm()
	batchID := createBatch(t, rest, `{"patient_ids": ["`+strings.Join(demoIDs, `", "`)+`"]}`).ID
	hold.waitHeld(t) // a worker holds a patient: the batch is mid-way

	breakDB()
	hold.release() // the held fetch finishes while the database is failing
	for _, id := range demoIDs {
		if d := screenREST(t, id); d.Stored == nil || *d.Stored || d.ScreeningID != "" {
			t.Errorf("%s during the fault: stored %v, id %q; want false and none", id, d.Stored, d.ScreeningID)
		}
	}
	card(t)
	if got := storeState(t); readyShows && !strings.HasPrefix(got, "unavailable") {
		t.Errorf("/readyz store %q during the fault, want unavailable", got)
	}
	if rec := rest.do(t, http.MethodGet, "/v1/batches/"+batchID, nil); rec.Code != http.StatusServiceUnavailable && rec.Code != http.StatusOK {
		t.Errorf("batch status during the fault: %d %.200s; want 503 (or the status)", rec.Code, rec.Body)
	}

	healDB()
	var stored storedDoc
	waitFor(t, "a screening stored again", func() bool {
		stored = screenREST(t, "demo-ineligible-labs")
		return stored.Stored != nil && *stored.Stored
	})
	// The first read on a pooled connection that the fault broke may fail once (pgx
	// checks a connection before reuse only after a second idle, and these faults are
	// shorter): the service recovers by itself, without a restart.
	waitFor(t, "the stored screening read back", func() bool {
		return rest.do(t, http.MethodGet, "/v1/screenings/"+stored.ScreeningID, nil).Code == http.StatusOK
	})
	card(t)
	waitFor(t, "/readyz to show the store back", func() bool { return storeState(t) == "ok" })
	clock.advance(defaultBatchLease + time.Second) // claims whose outcome was not recorded lapse
	waitBatch(t, rest, batchID, batchDone)
	res := rest.do(t, http.MethodGet, "/v1/batches/"+batchID+"/results", nil)
	seen := map[string]int{}
	for _, line := range splitLines(strings.TrimSuffix(res.Body.String(), "\n")) {
		var doc struct {
			Patient struct{ ID string }
			Verdict string
		}
		if err := json.Unmarshal([]byte(line), &doc); err != nil {
			t.Fatalf("result line: %v: %.200s", err, line)
		}
		seen[doc.Patient.ID]++
		if doc.Verdict != base.verdicts[doc.Patient.ID] {
			t.Errorf("batch: %s verdict %s, want %s", doc.Patient.ID, doc.Verdict, base.verdicts[doc.Patient.ID])
		}
	}
	for _, id := range demoIDs {
		if seen[id] != 1 {
			t.Errorf("batch results hold %s %d times, want once", id, seen[id])
		}
	}

	// Every audit record reaches the table once the database is back.
	for name, m := range map[string]*Metrics{"rest": rest.s.cfg.Metrics, "cds": cds.s.cfg.Metrics} {
		waitFor(t, name+" audit queue drained", func() bool { return testutil.ToFloat64(m.store.auditPending) == 0 })
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if left := stopRESTAudit(ctx) + stopCDSAudit(ctx); left != 0 {
		t.Errorf("%d audit records left unwritten", left)
	}
	sinks := len(rest.auditLines()) + strings.Count(cds.audit.String(), "\n")
	if c, err := st.VerifyAudit(ctx); err != nil || !c.Intact() || c.Count != int64(sinks) {
		t.Errorf("audit table: %+v, %v; want the sinks' %d records, intact", c, err, sinks)
	}
	t.Logf("%d audit records in the sinks and the table", sinks)

	if err := rest.s.CloseBatches(ctx); err != nil {
		t.Errorf("CloseBatches: %v", err)
	}
}
