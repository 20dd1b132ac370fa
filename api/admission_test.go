package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/trialscreen/trialscreen/fhirclient"
	"github.com/trialscreen/trialscreen/screening"
)

// checkBusy asserts a 503 busy answer: Retry-After, a problem document naming the limit.
func checkBusy(t *testing.T, rec *httptest.ResponseRecorder, limit string) {
	t.Helper()
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503; body %s", rec.Code, rec.Body)
	}
	if ra := rec.Header().Get("Retry-After"); ra != "1" {
		t.Errorf("Retry-After %q, want 1", ra)
	}
	p := problemOf(t, rec)
	if p.Title != "The service is busy" || !strings.Contains(p.Detail, limit) {
		t.Errorf("problem %+v; want the busy title and a detail naming %s", p, limit)
	}
}

// Past MaxScreenings, a screening is refused at once with 503 and Retry-After instead
// of queueing behind the others; a slot freed admits the next one.
func TestScreeningsPastTheCapAreRefusedBusy(t *testing.T) {
	gate := newGateSource(t)
	env := newRESTEnv(t, func(c *Config) { c.Source, c.MaxScreenings = gate, 1 })
	first := make(chan *httptest.ResponseRecorder, 1)
	go func() { first <- env.do(t, http.MethodGet, "/v1/patients/demo-candidate/screening", nil) }()
	gate.waitFetch(t)

	checkBusy(t, env.do(t, http.MethodGet, "/v1/patients/demo-candidate/screening", nil), "1 screenings in progress, its limit (MaxScreenings)")
	bundle := `{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Patient","id":"p1","birthDate":"1970-01-01","gender":"male"}}]}`
	checkBusy(t, env.postJSON(t, `{"bundle":`+bundle+`}`), "MaxScreenings")
	if got := testutil.ToFloat64(env.s.cfg.Metrics.shed.WithLabelValues(routePatientScreening, "screenings")); got != 1 {
		t.Errorf("shed counter for the GET route = %v, want 1", got)
	}
	if got := testutil.ToFloat64(env.s.cfg.Metrics.inProgress); got != 1 {
		t.Errorf("screenings in progress = %v, want 1", got)
	}

	gate.open()
	screeningOf(t, <-first)
	screeningOf(t, env.do(t, http.MethodGet, "/v1/patients/demo-candidate/screening", nil))
	if got := testutil.ToFloat64(env.s.cfg.Metrics.inProgress); got != 0 {
		t.Errorf("screenings in progress after both answered = %v, want 0", got)
	}
	if strings.Contains(env.log.String(), "request failed") {
		t.Errorf("a busy refusal was logged as a failure: %s", env.log)
	}
}

// busySource fails every fetch as a FHIR client does that found no request slot.
type busySource struct{}

func (busySource) Record(context.Context, string) (*screening.Record, error) {
	return nil, &fhirclient.Error{Kind: fhirclient.KindBusy, Op: "search Observation", Err: errors.New("no request slot came free within 1s")}
}

// A FHIR client at its own cap makes the screening a 503 with Retry-After (not a 502,
// and not a screening of unknowns): the record can be had a moment later.
func TestFHIRSlotsExhaustedIsBusy(t *testing.T) {
	env := newRESTEnv(t, func(c *Config) { c.Source = busySource{} })
	checkBusy(t, env.do(t, http.MethodGet, "/v1/patients/demo-candidate/screening", nil), "no request slot came free")
	if got := testutil.ToFloat64(env.s.cfg.Metrics.shed.WithLabelValues(routePatientScreening, "fhir-slots")); got != 1 {
		t.Errorf("shed counter (fhir-slots) = %v, want 1", got)
	}
}

// The same through CDS Hooks: a fetch from the EHR's fhirServer that finds no slot is
// 503 busy, not the 412 that says the data cannot be had.
func TestCDSFetchWithoutSlotIsBusy(t *testing.T) {
	fhir := newCDSFakeFHIR(t, "ineligible-labs")
	env := newCDSTestEnv(t, cdsTestConfig{fhirServers: []string{fhir.srv.URL}, fhirSource: busySource{}})
	body := cdsHookBody("demo-ineligible-labs", nil)
	body["fhirServer"] = fhir.srv.URL
	body["fhirAuthorization"] = map[string]any{"access_token": "ehr-issued-token-123", "token_type": "Bearer", "expires_in": 300, "scope": "user/Patient.read", "subject": "trialscreen"}
	status, respBody, header := env.post(t, env.key.token(t, nil), body)
	if status != http.StatusServiceUnavailable || header.Get("Retry-After") != "1" {
		t.Fatalf("status %d, Retry-After %q; want 503 and 1: %s", status, header.Get("Retry-After"), respBody)
	}
	var p Problem
	if err := json.Unmarshal(respBody, &p); err != nil || p.Title != "The service is busy" {
		t.Errorf("body %s; want a busy problem document", respBody)
	}
}

// A CDS call past the cap is refused before its JWT is checked: under overload a
// refusal must cost less than the work.
func TestCDSCallPastTheCapIsBusy(t *testing.T) {
	env := newCDSTestEnv(t, cdsTestConfig{})
	env.s.admission = newAdmission(1)
	env.s.admission.slots <- struct{}{} // a screening in progress
	status, respBody, header := env.post(t, "not-even-a-jwt", cdsHookBody("demo-candidate", nil))
	if status != http.StatusServiceUnavailable || header.Get("Retry-After") != "1" {
		t.Fatalf("status %d, Retry-After %q; want 503 and 1: %s", status, header.Get("Retry-After"), respBody)
	}
}

// heldFHIR serves one demo patient at once to interactive screenings, and holds every
// request about the batch's patients (ids "b-...") until the test ends, counting how
// many of those are in flight at once.
type heldFHIR struct {
	srv  *httptest.Server
	mu   sync.Mutex
	held int
	most int
}

func newHeldFHIR(t *testing.T) *heldFHIR {
	res := cdsDemoResources(t, "candidate")
	patient := res["Patient"][0]
	h := &heldFHIR{}
	done := make(chan struct{})
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/fhir+json")
		typ := strings.Trim(r.URL.Path, "/")
		if strings.HasPrefix(typ, "Patient/b-") || strings.HasPrefix(r.URL.Query().Get("patient"), "Patient/b-") {
			h.mu.Lock()
			h.held++
			h.most = max(h.most, h.held)
			h.mu.Unlock()
			defer func() { h.mu.Lock(); h.held--; h.mu.Unlock() }()
			select {
			case <-done:
			case <-r.Context().Done():
			}
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		switch {
		case typ == "Patient/demo-candidate":
			_, _ = w.Write(patient)
		case typ == "metadata":
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"not-found"}]}`))
		default:
			_, _ = w.Write(cdsSearchset(res[typ]))
		}
	}))
	t.Cleanup(func() { close(done); h.srv.Close() })
	return h
}

func (h *heldFHIR) inFlight() (now, most int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.held, h.most
}

// A large batch hanging on a slow FHIR server keeps to its share of the request slots:
// an interactive screening meanwhile is answered in full, from the same server.
func TestBatchDoesNotStarveInteractiveScreenings(t *testing.T) {
	fhir := newHeldFHIR(t)
	env := newBatchEnv(t, func(c *Config) {
		p := c.Protocol
		fc, err := fhirclient.New(fhirclient.Config{BaseURL: fhir.srv.URL, MaxConcurrent: 12, MaxBackground: 3, Attempts: 1})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(fc.CloseIdleConnections)
		if c.Source, err = fhirclient.NewRecordSource(fc, p); err != nil {
			t.Fatal(err)
		}
		c.RequestTimeout = 30 * time.Second
	})
	ids := make([]string, 200)
	for i := range ids {
		ids[i] = `"b-` + string(rune('a'+i%26)) + strings.Repeat("x", i/26) + `"`
	}
	rec := env.postBatch(t, `{"patient_ids":[`+strings.Join(ids, ",")+`]}`)
	if rec.Code != http.StatusAccepted {
		t.Fatalf("batch: status %d: %s", rec.Code, rec.Body)
	}
	// Wait until the batch holds all it may: its share of the slots.
	for {
		if now, _ := fhir.inFlight(); now >= 3 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	s := screeningOf(t, env.do(t, http.MethodGet, "/v1/patients/demo-candidate/screening", nil))
	for _, c := range s.Criteria {
		if c.Reason == "source-error" {
			t.Errorf("criterion %s: source-error; want every search answered", c.ID)
		}
	}
	if _, most := fhir.inFlight(); most > 3 {
		t.Errorf("the batch had %d requests in flight at once, above its share (3)", most)
	}
}
