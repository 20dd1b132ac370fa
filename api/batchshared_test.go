package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trialscreen/trialscreen/screening"
	"github.com/trialscreen/trialscreen/store"
)

// leaseClock is the stores' clock in these tests: it stands still until advanced, so
// that a lease ends exactly when a test says.
type leaseClock struct{ offset atomic.Int64 }

func (c *leaseClock) Now() time.Time { return testNow.Add(time.Hour + time.Duration(c.offset.Load())) }

func (c *leaseClock) advance(d time.Duration) { c.offset.Add(int64(d)) }

// sharedBatchStores open, for one test, a database that replicas share, each call a new
// connection pool on it (as another process would have), with the given clock.
func sharedBatchStores() map[string]func(t *testing.T, now func() time.Time) func() *store.Store {
	return map[string]func(t *testing.T, now func() time.Time) func() *store.Store{
		"sqlite": func(t *testing.T, now func() time.Time) func() *store.Store {
			dir := t.TempDir()
			return func() *store.Store { return openStoreAt(t, store.Config{DataDir: dir, Now: now}) }
		},
		"postgres": func(t *testing.T, now func() time.Time) func() *store.Store {
			url := pg.Database(t)
			return func() *store.Store { return openStoreAt(t, store.Config{DatabaseURL: url, Now: now}) }
		},
	}
}

// fetchCounter counts, by patient, the fetches that ended with the record source's
// answer (not with the fetch's context ending), and passes them to inner.
type fetchCounter struct {
	inner screening.Source
	mu    sync.Mutex
	n     map[string]int
}

func newFetchCounter(inner screening.Source) *fetchCounter {
	return &fetchCounter{inner: inner, n: map[string]int{}}
}

func (c *fetchCounter) Record(ctx context.Context, id string) (*screening.Record, error) {
	rec, err := c.inner.Record(ctx, id)
	if !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		c.mu.Lock()
		c.n[id]++
		c.mu.Unlock()
	}
	return rec, err
}

func (c *fetchCounter) counts() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]int{}
	for k, v := range c.n {
		out[k] = v
	}
	return out
}

// batchReplica is a demo service keeping its batches in st, reading records from src
// (nil: the demo source), its idle workers looking for work every few milliseconds.
func batchReplica(t *testing.T, st *store.Store, src screening.Source) *restEnv {
	return newBatchEnv(t, func(c *Config) {
		c.Batches, c.BatchPoll = st, 5*time.Millisecond
		if src != nil {
			c.Source = src
		}
	})
}

// outputs are a done batch's answers: status aside, what a portal downloads. When the
// run started is the one thing two runs of the same batch differ in: the funnel must say
// it, and it is then left out of the comparison.
func batchOutputs(t *testing.T, env *restEnv, id string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, path := range []string{"/results", "/summary.csv", "/funnel"} {
		rec := env.do(t, http.MethodGet, "/v1/batches/"+id+path, nil)
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: status %d: %s", path, rec.Code, rec.Body)
		}
		out[path] = rec.Header().Get("Content-Type") + "\n" + rec.Body.String()
	}
	rec := env.do(t, http.MethodGet, "/v1/batches/"+id+"/funnel", nil, "Accept", "text/html")
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Security-Policy") == "" {
		t.Fatalf("funnel page: status %d, CSP %q", rec.Code, rec.Header().Get("Content-Security-Policy"))
	}
	out["/funnel.html"] = rec.Body.String()
	if !runAtJSON.MatchString(out["/funnel"]) || !runAtHTML.MatchString(out["/funnel.html"]) {
		t.Errorf("the funnel does not say when the run started:\n%s", out["/funnel.html"])
	}
	out["/funnel"] = runAtJSON.ReplaceAllString(out["/funnel"], `"run_at": "…"`)
	out["/funnel.html"] = runAtHTML.ReplaceAllString(out["/funnel.html"], "Run started</dt><dd>…</dd>")
	return out
}

var (
	runAtJSON = regexp.MustCompile(`"run_at": "\d{4}-[^"]+"`)
	runAtHTML = regexp.MustCompile(`Run started</dt><dd><time datetime="[^"]+">[^<]+</time></dd>`)
)

// A batch created on one replica is polled and read on another, which answers exactly
// what an in-memory batch answers; a replica started afterwards on the same database
// serves it too, and a deletion on one is seen on the others.
func TestSharedBatchAnyReplica(t *testing.T) {
	const body = `{"patient_ids": ["demo-insufficient-data", "demo-candidate", "demo-ineligible-labs", "demo-ineligible-exclusion", "nobody"],
		"as_of": "2026-11-21T00:00:00Z", "lymphodepletion_date": "2026-12-01"}`
	mem := newBatchEnv(t, nil)
	want := waitBatch(t, mem, createBatch(t, mem, body).ID, batchDone)
	wantOut := batchOutputs(t, mem, want.ID)

	for name, backend := range sharedBatchStores() {
		t.Run(name, func(t *testing.T) {
			clock := &leaseClock{}
			open := backend(t, clock.Now)
			a, b := batchReplica(t, open(), nil), batchReplica(t, open(), nil)
			created := createBatch(t, a, body)
			got := waitBatch(t, b, created.ID, batchDone)
			if got.Total != 5 || got.Screened != 4 || got.Failed.Count != 1 || got.Failed.Reasons[reasonNotFound] != 1 ||
				fmt.Sprint(got.Verdicts) != fmt.Sprint(want.Verdicts) || got.AsOf != want.AsOf || got.LymphodepletionDate != want.LymphodepletionDate {
				t.Errorf("status on the other replica %+v, want the counts of %+v", got, want)
			}
			if out := batchOutputs(t, b, created.ID); fmt.Sprint(out) != fmt.Sprint(wantOut) {
				t.Errorf("outputs on the other replica differ from the in-memory batch's:\n%v\nwant\n%v", out, wantOut)
			}

			// A new Server on the same database, as after a restart.
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			for _, r := range []*restEnv{a, b} {
				if err := r.s.CloseBatches(ctx); err != nil {
					t.Fatal(err)
				}
			}
			c := batchReplica(t, open(), nil)
			again := batchOf(t, c.do(t, http.MethodGet, "/v1/batches/"+created.ID, nil), http.StatusOK)
			if fmt.Sprint(again) != fmt.Sprint(got) {
				t.Errorf("after a restart: %+v, want %+v", again, got)
			}
			if out := batchOutputs(t, c, created.ID); fmt.Sprint(out) != fmt.Sprint(wantOut) {
				t.Errorf("outputs after a restart differ")
			}
			if rec := c.do(t, http.MethodDelete, "/v1/batches/"+created.ID, nil); rec.Code != http.StatusNoContent {
				t.Fatalf("DELETE: status %d", rec.Code)
			}
			if rec := a.do(t, http.MethodGet, "/v1/batches/"+created.ID, nil); rec.Code != http.StatusNotFound {
				t.Errorf("deleted batch on another replica: status %d, want 404", rec.Code)
			}
		})
	}
}

// A replica stopped while it holds patients of a batch (its fetches hanging) loses
// them to another replica once their lease ends: the batch finishes there with every
// patient screened exactly once, none of them by the stopped replica.
func TestSharedBatchTakeover(t *testing.T) {
	ids := append([]string{}, demoIDs...)
	for i := range sharedWorkers {
		ids = append(ids, fmt.Sprintf("nobody-%02d", i)) // not found: an outcome too
	}
	body := `{"patient_ids": [`
	for i, id := range ids {
		if i > 0 {
			body += ", "
		}
		body += `"` + id + `"`
	}
	body += `], "as_of": "2026-11-21T00:00:00Z"}`

	for name, backend := range sharedBatchStores() {
		t.Run(name, func(t *testing.T) {
			clock := &leaseClock{}
			open := backend(t, clock.Now)
			gate := newGateSource(t)
			hung := newFetchCounter(gate)
			a := batchReplica(t, open(), hung)
			created := createBatch(t, a, body)
			for range sharedWorkers { // every worker of a holds a patient, hanging
				gate.waitFetch(t)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := a.s.shared.abandon(ctx); err != nil { // as if it died: its leases stay
				t.Fatal(err)
			}

			counted := newFetchCounter(gate.inner)
			b := batchReplica(t, open(), counted)
			// b screens the patients nobody holds, and not those a's leases still cover.
			for st := batchOf(t, b.do(t, http.MethodGet, "/v1/batches/"+created.ID, nil), http.StatusOK); st.Done < len(ids)-sharedWorkers; {
				time.Sleep(2 * time.Millisecond)
				st = batchOf(t, b.do(t, http.MethodGet, "/v1/batches/"+created.ID, nil), http.StatusOK)
			}
			st := batchOf(t, b.do(t, http.MethodGet, "/v1/batches/"+created.ID, nil), http.StatusOK)
			if st.State != batchRunning || st.Done != len(ids)-sharedWorkers {
				t.Fatalf("before a's leases end: state %s, done %d; want running, %d", st.State, st.Done, len(ids)-sharedWorkers)
			}

			clock.advance(defaultBatchLease + time.Second)
			st = waitBatch(t, b, created.ID, batchDone)
			if st.Done != len(ids) || st.Screened != len(demoIDs) || st.Failed.Reasons[reasonNotFound] != sharedWorkers {
				t.Errorf("done %d, screened %d, failed %+v", st.Done, st.Screened, st.Failed)
			}
			if n := hung.counts(); len(n) != 0 {
				t.Errorf("the stopped replica finished fetches: %v", n)
			}
			n := counted.counts()
			for _, id := range ids {
				if n[id] != 1 {
					t.Errorf("patient %s fetched %d times on the replica that took over, want 1", id, n[id])
				}
			}
			if len(n) != len(ids) {
				t.Errorf("%d patients fetched, want %d", len(n), len(ids))
			}
			res := b.do(t, http.MethodGet, "/v1/batches/"+created.ID+"/results", nil)
			if lines := len(splitLines(res.Body.String())); res.Code != http.StatusOK || lines != len(demoIDs) {
				t.Errorf("results: status %d, %d lines, want %d", res.Code, lines, len(demoIDs))
			}
		})
	}
}

func splitLines(s string) []string {
	var out []string
	for len(s) > 0 {
		i := 0
		for i < len(s) && s[i] != '\n' {
			i++
		}
		out = append(out, s[:i])
		if i < len(s) {
			i++
		}
		s = s[i:]
	}
	return out
}

// With the store, a batch is still its caller's alone on every replica, a caller over
// its limit is refused with the memory store's answer, and a store that fails is a 503
// (the batch is not lost), not a wrong answer.
func TestSharedBatchCallerLimitAndStoreDown(t *testing.T) {
	tokens, err := NewStaticTokens(map[string]string{"portal-a": "token-a-0000000000001", "portal-b": "token-b-0000000000002"})
	if err != nil {
		t.Fatal(err)
	}
	a := []string{"Authorization", "Bearer token-a-0000000000001"}
	b := []string{"Authorization", "Bearer token-b-0000000000002"}
	for name, backend := range sharedBatchStores() {
		t.Run(name, func(t *testing.T) {
			clock := &leaseClock{}
			open := backend(t, clock.Now)
			gate := newGateSource(t)
			replica := func(st *store.Store) *restEnv {
				return newBatchEnv(t, func(c *Config) {
					c.Batches, c.BatchPoll, c.Auth, c.Source, c.MaxBatchesPerCaller = st, 5*time.Millisecond, tokens, gate, 1
				})
			}
			one, twoStore := replica(open()), open()
			two := replica(twoStore)
			id := createBatch(t, one, `{"patient_ids": ["demo-candidate"]}`, a...).ID
			gate.waitFetch(t) // claimed: running
			notFound := Problem{Title: "Not Found", Status: 404, Detail: "no such batch (it may have expired or been deleted)"}
			for _, path := range []string{"", "/results", "/summary.csv", "/funnel"} {
				wantProblem(t, two.do(t, http.MethodGet, "/v1/batches/"+id+path, nil, b...), notFound)
			}
			wantProblem(t, two.do(t, http.MethodDelete, "/v1/batches/"+id, nil, b...), notFound)
			wantProblem(t, two.postBatch(t, `{"patient_ids": ["demo-candidate"]}`, a...), Problem{Title: "Too Many Requests", Status: 429,
				Detail: "this caller already has 1 unfinished batches, the most the service holds for one caller (limit 1); wait for one to finish or cancel one"})
			wantProblem(t, two.do(t, http.MethodGet, "/v1/batches/"+id+"/results", nil, a...), Problem{Title: "Conflict", Status: 409,
				Detail: "the batch is running; its results are ready when its state is done"})

			_ = twoStore.Close()
			wantProblem(t, two.do(t, http.MethodGet, "/v1/batches/"+id, nil, a...), Problem{Title: "Service Unavailable", Status: 503,
				Detail: "the batch store is unavailable just now; try again shortly"})
			// If two held the patient, it could not record it: one takes it over when the
			// lease ends.
			gate.open()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			want := "batches: giving up this replica's unfinished patients (they pass to another replica when their lease ends): store: release batch claims: sql: database is closed"
			if err := two.s.CloseBatches(ctx); err == nil || err.Error() != want {
				t.Errorf("CloseBatches with the store closed = %v, want %q", err, want)
			}
			clock.advance(defaultBatchLease + time.Second)
			waitBatch(t, one, id, batchDone, a...)
		})
	}
}

// A replica shut down cleanly gives up the patients it held: another screens them at
// once, without waiting for the leases to end.
func TestSharedBatchHandOverOnShutdown(t *testing.T) {
	for name, backend := range sharedBatchStores() {
		t.Run(name, func(t *testing.T) {
			clock := &leaseClock{}
			open := backend(t, clock.Now)
			gate := newGateSource(t)
			a := batchReplica(t, open(), gate)
			created := createBatch(t, a, `{"patient_ids": ["demo-candidate", "demo-ineligible-labs"]}`)
			gate.waitFetch(t)
			gate.waitFetch(t)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := a.s.CloseBatches(ctx); err != nil {
				t.Fatal(err)
			}
			counted := newFetchCounter(gate.inner)
			b := batchReplica(t, open(), counted)
			st := waitBatch(t, b, created.ID, batchDone) // the clock has not moved
			if st.Screened != 2 || fmt.Sprint(counted.counts()) != "map[demo-candidate:1 demo-ineligible-labs:1]" {
				t.Errorf("screened %d; fetches %v", st.Screened, counted.counts())
			}
		})
	}
}
