package api

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/trialscreen/trialscreen/fhirclient"
	"github.com/trialscreen/trialscreen/internal/fhirstub"
)

// requestLog is a FHIR server on 127.0.0.1 that records the path (as sent, escaped) and
// query of every request, then hands it to next.
type requestLog struct {
	mu   sync.Mutex
	reqs []*http.Request
	next http.Handler
}

func (l *requestLog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	l.mu.Lock()
	l.reqs = append(l.reqs, r.Clone(r.Context()))
	l.mu.Unlock()
	l.next.ServeHTTP(w, r)
}

func (l *requestLog) take() []*http.Request {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.reqs
	l.reqs = nil
	return r
}

func newFHIRRecordSource(t *testing.T, base string, attempts int) func(*Config) {
	return func(c *Config) {
		fc, err := fhirclient.New(fhirclient.Config{BaseURL: base, Attempts: attempts, BreakerFailures: -1})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(fc.CloseIdleConnections)
		src, err := fhirclient.NewRecordSource(fc, c.Protocol)
		if err != nil {
			t.Fatal(err)
		}
		c.Source = src
	}
}

// searchPath is a search of a resource type other than Patient: GET [base]/Type.
var searchPath = regexp.MustCompile(`^/fhir/[A-Z][A-Za-z]+$`)

// checkOnlyPatientPaths: every request went to the patient's own URLs (its read, the
// searches by it, the CapabilityStatement), and its read went out exactly once.
func checkOnlyPatientPaths(t *testing.T, surface, id string, reqs []*http.Request) {
	t.Helper()
	reads := 0
	for _, r := range reqs {
		path := strings.SplitN(r.RequestURI, "?", 2)[0]
		switch {
		case path == "/fhir/Patient/"+id:
			reads++
		case path == "/fhir/metadata":
		case searchPath.MatchString(path) && path != "/fhir/Patient" && strings.Contains(r.URL.RawQuery, "Patient%2F"+id):
		default:
			t.Errorf("%s: a request for %s went to %s %s", surface, id, r.Method, r.RequestURI)
		}
	}
	if reads != 1 {
		t.Errorf("%s: %d reads of /fhir/Patient/%s; want 1", surface, reads, id)
	}
}

// TestNoRequestLeavesForAnotherPatientPath: patient ids that are not FHIR ids ("." and
// "..", which the FHIR client's URL joining cleaned into GET [base]/Patient, a search of
// every patient, and GET [base]; "%2e"; "a/b") are refused with a 400 naming the field,
// through REST, REST batches and CDS Hooks, before any request reaches the FHIR server.
// A legitimate id reaches exactly its own URLs.
func TestNoRequestLeavesForAnotherPatientPath(t *testing.T) {
	bundles, err := fhirstub.DemoBundles()
	if err != nil {
		t.Fatal(err)
	}
	stub, err := fhirstub.New(0, bundles...)
	if err != nil {
		t.Fatal(err)
	}
	fhir := &requestLog{next: stub}
	srv := httptest.NewServer(fhir)
	defer srv.Close()
	base := srv.URL + "/fhir"

	env := newBatchEnv(t, newFHIRRecordSource(t, base, 1))
	cds := newCDSTestEnv(t, cdsTestConfig{fhirServers: []string{base}})
	bad := []string{".", "..", "%2e", "%2E%2e", "a/b", "../Patient", "Patient/.."}
	wantField := func(surface string, status int, body []byte, field string) {
		t.Helper()
		var p Problem
		_ = json.Unmarshal(body, &p)
		if status != http.StatusBadRequest || p.Field != field {
			t.Errorf("%s: %d %s; want a 400 naming %s", surface, status, body, field)
		}
	}
	for _, id := range bad {
		body, _ := json.Marshal(map[string]any{"patient_id": id})
		rec := env.postJSON(t, string(body))
		wantField("POST /v1/screenings "+id, rec.Code, rec.Body.Bytes(), "patient_id")

		body, _ = json.Marshal(map[string]any{"patient_ids": []string{"demo-candidate", id}})
		rec = env.postBatch(t, string(body))
		wantField("POST /v1/batches "+id, rec.Code, rec.Body.Bytes(), "patient_ids")

		hook := cdsHookBody(id, nil)
		hook["fhirServer"] = base
		hook["fhirAuthorization"] = map[string]any{"access_token": "tok", "token_type": "Bearer"}
		status, respBody, _ := cds.post(t, cds.key.token(t, nil), hook)
		wantField("CDS context.patientId "+id, status, respBody, "context.patientId")

		if reqs := fhir.take(); len(reqs) != 0 {
			t.Errorf("id %q: %d requests reached the FHIR server, e.g. %s", id, len(reqs), reqs[0].RequestURI)
		}
	}
	// In the URL path: the id is one segment as the router sees it ("a%2Fb" is one
	// segment here, "a/b" another route).
	for _, seg := range []string{".", "..", "%2e", "%2e%2e", "a%2Fb", "a%2fb"} {
		rec := env.do(t, http.MethodGet, "/v1/patients/"+seg+"/screening", nil)
		wantField("GET /v1/patients/"+seg+"/screening", rec.Code, rec.Body.Bytes(), "id")
		if reqs := fhir.take(); len(reqs) != 0 {
			t.Errorf("GET %s: %d requests reached the FHIR server, e.g. %s", seg, len(reqs), reqs[0].RequestURI)
		}
	}

	const id = "demo-candidate"
	if rec := env.do(t, http.MethodGet, "/v1/patients/"+id+"/screening", nil); rec.Code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", id, rec.Code, rec.Body)
	}
	checkOnlyPatientPaths(t, "REST GET", id, fhir.take())
	if rec := env.postJSON(t, `{"patient_id":"`+id+`"}`); rec.Code != http.StatusOK {
		t.Fatalf("POST %s: %d %s", id, rec.Code, rec.Body)
	}
	checkOnlyPatientPaths(t, "REST POST", id, fhir.take())
	st := createBatch(t, env, `{"patient_ids":["`+id+`"]}`)
	waitBatch(t, env, st.ID, batchDone)
	checkOnlyPatientPaths(t, "REST batch", id, fhir.take())
	hook := cdsHookBody(id, nil)
	hook["fhirServer"] = base
	hook["fhirAuthorization"] = map[string]any{"access_token": "tok", "token_type": "Bearer"}
	status, respBody, _ := cds.post(t, cds.key.token(t, nil), hook)
	cdsOneCard(t, status, respBody)
	checkOnlyPatientPaths(t, "CDS", id, fhir.take())
}

// The FHIR server's words about a patient, as an OperationOutcome may carry them.
const (
	leakName = "Jane"
	leakMRN  = "99887766"
	leakDOB  = "1964-05-02"
	leakText = "Patient Jane Q. Doe (MRN 99887766, born 1964-05-02) is locked"
)

var leaks = []string{leakName, leakMRN, leakDOB}

// faultFHIR answers every request with a 500 whose OperationOutcome names the patient.
func faultFHIR(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/fhir+json")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = io.WriteString(w, `{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"processing","diagnostics":"`+leakText+`","details":{"text":"`+leakText+`"}}]}`)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/fhir"
}

func checkNoLeak(t *testing.T, where, text string) {
	t.Helper()
	for _, l := range leaks {
		if strings.Contains(text, l) {
			t.Errorf("%s holds the FHIR server's text about the patient (%q):\n%s", where, l, text)
		}
	}
}

func metricsText(t *testing.T, env *restEnv) string {
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(env.reg, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	return rec.Body.String()
}

// TestFHIRServerTextNeverLogged: an OperationOutcome that names the patient reaches
// neither the application log nor /metrics, through REST, REST batches and CDS Hooks.
// An authenticated REST caller asking about the patient still gets it, in the problem
// document's upstream member (never in detail); an unauthenticated (demo) caller not.
func TestFHIRServerTextNeverLogged(t *testing.T) {
	base := faultFHIR(t)
	portal := authFunc(func(*http.Request) (Caller, error) { return Caller{ID: "portal-7"}, nil })
	env := newBatchEnv(t, func(c *Config) {
		newFHIRRecordSource(t, base, 1)(c)
		c.Auth = portal
	})

	for _, how := range []string{"GET", "POST"} {
		var rec *httptest.ResponseRecorder
		if how == "GET" {
			rec = env.do(t, http.MethodGet, "/v1/patients/p-1/screening", nil)
		} else {
			rec = env.postJSON(t, `{"patient_id":"p-1"}`)
		}
		if rec.Code != http.StatusBadGateway {
			t.Fatalf("%s: status %d, want 502: %s", how, rec.Code, rec.Body)
		}
		p := problemOf(t, rec)
		if !strings.Contains(p.Upstream, leakText) {
			t.Errorf("%s: upstream %q (%+v); want the server's text for the caller", how, p.Upstream, p)
		}
		checkNoLeak(t, how+" problem detail", p.Detail)
	}
	st := createBatch(t, env, `{"patient_ids":["p-1","p-2"]}`)
	if got := waitBatch(t, env, st.ID, batchDone); got.Failed.Count != 2 {
		t.Errorf("batch: %d not screened, want 2", got.Failed.Count)
	}
	checkNoLeak(t, "the REST service's log", env.log.String())
	checkNoLeak(t, "/metrics", metricsText(t, env))
	if !strings.Contains(env.log.String(), `"msg":"request failed"`) {
		t.Errorf("the failure is not logged at all:\n%s", env.log)
	}

	// Open REST (demo mode, no authentication): the caller is not known to be entitled.
	open := newRESTEnv(t, newFHIRRecordSource(t, base, 1))
	rec := open.do(t, http.MethodGet, "/v1/patients/p-1/screening", nil)
	if p := problemOf(t, rec); rec.Code != http.StatusBadGateway || p.Upstream != "" {
		t.Errorf("unauthenticated caller: %d %+v; want a 502 without upstream", rec.Code, p)
	}
	checkNoLeak(t, "the open service's log", open.log.String())

	cds := newCDSTestEnv(t, cdsTestConfig{fhirServers: []string{base}})
	hook := cdsHookBody("p-1", nil)
	hook["fhirServer"] = base
	hook["fhirAuthorization"] = map[string]any{"access_token": "tok", "token_type": "Bearer"}
	status, body, _ := cds.post(t, cds.key.token(t, nil), hook)
	if status != http.StatusPreconditionFailed {
		t.Errorf("CDS: %d %s; want 412", status, body)
	}
	checkNoLeak(t, "the CDS log", cds.logs.String())
	if !strings.Contains(cds.logs.String(), "cds record fetch failed") {
		t.Errorf("the CDS failure is not logged at all:\n%s", cds.logs)
	}
}
