package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/trialscreen/trialscreen/fhirclient"
	"github.com/trialscreen/trialscreen/internal/bodymem"
	"github.com/trialscreen/trialscreen/screening"
)

// newBudget is a memory budget for bodies whose wait is too short to matter: a request
// that does not fit now is busy.
func newBudget(t *testing.T, capacity int64, costs bodymem.Costs) *bodymem.Limiter {
	t.Helper()
	l, err := bodymem.NewLimiter(capacity, time.Millisecond, costs)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestBodiesWaitForTheirShareOfMemory: while the budget for bodies is taken, a request
// with a body, declared or chunked, is a 503 problem with Retry-After, not queued, and
// counted as shed for body memory; a
// request without one (GET) is served; and once the budget is free again the same
// request is screened, its share given back when it is answered.
func TestBodiesWaitForTheirShareOfMemory(t *testing.T) {
	budget := newBudget(t, 1<<20, bodymem.Costs{PerBodyByte: 4, PerEntry: 100})
	env := newRESTEnv(t, func(c *Config) { c.BodyMemory = budget })
	body := `{"bundle": ` + demoBundle(t, "candidate") + `}`
	chunked := func() *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, "/v1/screenings", io.NopCloser(strings.NewReader(body)))
		req.Header.Set("Content-Type", "application/json")
		req.ContentLength = -1
		rec := httptest.NewRecorder()
		env.s.Handler().ServeHTTP(rec, req)
		return rec
	}

	held, err := budget.Take(context.Background(), 1<<18) // the whole budget
	if err != nil {
		t.Fatal(err)
	}
	for name, rec := range map[string]*httptest.ResponseRecorder{"declared": env.postJSON(t, body), "chunked": chunked()} {
		if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != "2" {
			t.Fatalf("%s: status %d, Retry-After %q; want 503 with Retry-After 2: %.300s", name, rec.Code, rec.Header().Get("Retry-After"), rec.Body)
		}
		p := problemOf(t, rec)
		if p.Title != "The service is busy" || !strings.Contains(p.Detail, "the service is busy with other large requests") {
			t.Errorf("%s: problem %+v", name, p)
		}
	}
	if got := testutil.ToFloat64(env.s.cfg.Metrics.shed.WithLabelValues(routeScreenings, "body-memory")); got != 2 {
		t.Errorf("shed counter (body-memory) = %v, want 2", got)
	}
	if rec := env.do(t, http.MethodGet, "/v1/patients/demo-candidate/screening", nil); rec.Code != http.StatusOK {
		t.Errorf("GET without a body: status %d, want 200", rec.Code)
	}
	held.Release()

	for name, rec := range map[string]*httptest.ResponseRecorder{"declared": env.postJSON(t, body), "chunked": chunked()} {
		if rec.Code != http.StatusOK {
			t.Errorf("%s, the budget free: status %d, want 200: %.300s", name, rec.Code, rec.Body)
		}
	}
	all, err := budget.Take(context.Background(), 1<<18)
	if err != nil {
		t.Fatalf("the requests kept their shares after they were answered: %v", err)
	}
	all.Release()
}

// TestEntriesPayForTheirMemory: a small body of many entries pays for its entries once
// they are counted: more than the whole budget is a 413 from the budget, before any
// entry is read.
func TestEntriesPayForTheirMemory(t *testing.T) {
	budget := newBudget(t, 1<<20, bodymem.Costs{PerBodyByte: 4, PerEntry: 1 << 10})
	env := newRESTEnv(t, func(c *Config) { c.BodyMemory = budget })
	rec := env.postJSON(t, `{"bundle": `+paddedDemoBundle(t, "candidate", 2000)+`}`) // 2,021 entries, 2 MiB of heap
	if rec.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413: %.300s", rec.Code, rec.Body)
	}
	if p := problemOf(t, rec); p.Detail != "the request would take 2069504 bytes of memory, more than the 1048576 all requests together may take" {
		t.Errorf("problem %+v", p)
	}
	if rec := env.postJSON(t, `{"bundle": `+paddedDemoBundle(t, "candidate", 900)+`}`); rec.Code != http.StatusOK {
		t.Errorf("921 entries, 0.9 MiB of heap: status %d, want 200", rec.Code)
	}
}

// TestReadingStopsAtTheDeadline: a request whose time is up while its Bundle or its
// prefetch is read stops there with a 504 that says so, rather than reading on for an
// answer nobody waits for. (The request comes with a deadline already past: no clock.)
func TestReadingStopsAtTheDeadline(t *testing.T) {
	past, cancel := context.WithDeadline(context.Background(), time.Unix(0, 0))
	defer cancel()
	send := func(h http.Handler, target, token string, body []byte) (int, []byte) {
		req := httptest.NewRequestWithContext(past, http.MethodPost, target, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code, rec.Body.Bytes()
	}
	want := Problem{Type: "about:blank", Title: "The request did not finish in time", Status: 504,
		Detail: "the request's time limit passed while reading the bundle: context deadline exceeded"}
	env := newRESTEnv(t, nil)
	status, body := send(env.s.Handler(), "/v1/screenings", "", []byte(`{"bundle": `+demoBundle(t, "candidate")+`}`))
	if p := cdsProblem(t, body); status != 504 || p != want {
		t.Errorf("REST: status %d, problem\n got %+v\nwant %+v", status, p, want)
	}

	cds := newCDSTestEnv(t, cdsTestConfig{})
	hook, err := json.Marshal(cdsHookBody("demo-candidate", cdsDemoPrefetch(t, "candidate")))
	if err != nil {
		t.Fatal(err)
	}
	status, body = send(cds.h, cdsTestPath, cds.key.token(t, nil), hook)
	want.Detail = "the request's time limit passed while reading the prefetch: context deadline exceeded"
	if p := cdsProblem(t, body); status != 504 || p != want {
		t.Errorf("CDS: status %d, problem\n got %+v\nwant %+v", status, p, want)
	}
}

// TestBodyMemoryOnlyForRoutesThatReadABody: while the budget is taken, a request with a
// body to a path without a route, or with a method its route does not take, gets its
// 404 or 405, not a 503 counted as shed under no route.
func TestBodyMemoryOnlyForRoutesThatReadABody(t *testing.T) {
	budget := newBudget(t, 1<<20, bodymem.Costs{PerBodyByte: 4, PerEntry: 100})
	env := newRESTEnv(t, func(c *Config) { c.BodyMemory = budget })
	held, err := budget.Take(context.Background(), 1<<18) // the whole budget
	if err != nil {
		t.Fatal(err)
	}
	defer held.Release()
	for path, want := range map[string]int{"/v1/nothing-here": http.StatusNotFound, "/v1/patients/demo-candidate/screening": http.StatusMethodNotAllowed} {
		req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(`{"patient_id":"demo-candidate"}`))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		env.s.Handler().ServeHTTP(rec, req)
		if rec.Code != want {
			t.Errorf("POST %s: status %d, want %d: %.200s", path, rec.Code, want, rec.Body)
		}
	}
	if n := testutil.CollectAndCount(env.s.cfg.Metrics.shed); n != 0 {
		t.Errorf("%d shed series; want none", n)
	}
}

// TestBatchBodyWaitsForItsShareOfMemory: a batch's id list is a body too; while the
// budget is taken the POST is the 503 with Retry-After that the OpenAPI document names.
func TestBatchBodyWaitsForItsShareOfMemory(t *testing.T) {
	budget := newBudget(t, 1<<20, bodymem.Costs{PerBodyByte: 4, PerEntry: 100})
	env := newBatchEnv(t, func(c *Config) { c.BodyMemory = budget })
	held, err := budget.Take(context.Background(), 1<<18) // the whole budget
	if err != nil {
		t.Fatal(err)
	}
	defer held.Release()
	rec := env.do(t, http.MethodPost, routeBatches, strings.NewReader(`{"patient_ids":["demo-candidate"]}`), "Content-Type", "application/json")
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != "2" {
		t.Fatalf("status %d, Retry-After %q; want 503 with Retry-After 2: %.300s", rec.Code, rec.Header().Get("Retry-After"), rec.Body)
	}
	if got := testutil.ToFloat64(env.s.cfg.Metrics.shed.WithLabelValues(routeBatches, "body-memory")); got != 1 {
		t.Errorf("shed counter (body-memory) = %v, want 1", got)
	}
}

// payingSource fetches a record whose responses take n bytes, paid on the screening's
// tab as the FHIR client pays for what it reads, and checks the budget is held then.
type payingSource struct {
	inner  *gateSource
	budget *bodymem.Limiter
	n      int64
	heldOK bool
}

func (p *payingSource) Record(ctx context.Context, id string) (*screening.Record, error) {
	if err := bodymem.TabOf(ctx).Pay(ctx, p.n); err != nil {
		return nil, err
	}
	// With the tab paid, the rest of the budget is all another request can have.
	if s, err := p.budget.Take(ctx, p.budget.Capacity()/4); err == nil {
		s.Release()
	} else {
		p.heldOK = true
	}
	p.inner.open()
	return p.inner.Record(ctx, id)
}

// TestFetchedRecordPaysFromTheBodyBudget: the responses a screening fetches hold their
// part of the memory budget while the screening runs (another request cannot have it
// meanwhile), and give it back when it is answered.
func TestFetchedRecordPaysFromTheBodyBudget(t *testing.T) {
	budget := newBudget(t, 1<<20, bodymem.Costs{PerBodyByte: 4, PerEntry: 100})
	src := &payingSource{inner: newGateSource(t), budget: budget, n: 1 << 10}
	env := newRESTEnv(t, func(c *Config) { c.BodyMemory, c.Source = budget, src })
	screeningOf(t, env.do(t, http.MethodGet, "/v1/patients/demo-candidate/screening", nil))
	if !src.heldOK {
		t.Error("the whole budget was free while the screening's responses were in memory")
	}
	s, err := budget.Take(context.Background(), budget.Capacity()/4)
	if err != nil {
		t.Fatalf("the budget is not whole again after the screening: %v", err)
	}
	s.Release()
}

// A FHIR response the memory budget could not pay for is shed for memory, not for FHIR
// request slots: the operator's remedy differs.
func TestFHIRResponseWithoutMemoryIsShedForMemory(t *testing.T) {
	err := &fhirclient.Error{Kind: fhirclient.KindBusy, Op: "search Observation",
		Err: fmt.Errorf("no memory came free for the response: %w", &bodymem.BusyError{Want: 1, Capacity: 1})}
	if got := shedReason(err); got != "body-memory" {
		t.Errorf("shedReason = %q, want body-memory", got)
	}
	if got := shedReason(&fhirclient.Error{Kind: fhirclient.KindBusy, Err: errors.New("no request slot")}); got != "fhir-slots" {
		t.Errorf("shedReason of a slot refusal = %q, want fhir-slots", got)
	}
}
