package fhirclient_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trialscreen/trialscreen/demo"
	"github.com/trialscreen/trialscreen/fhirclient"
	"github.com/trialscreen/trialscreen/protocols"
	"github.com/trialscreen/trialscreen/screening"
)

// fault is what the fake server does for one resource type instead of answering.
type fault func(w http.ResponseWriter, r *http.Request) bool

// fakeServer serves a demo patient's bundle as a FHIR server: Patient/{id} and searches
// by type, one page each, after an optional latency; faults replace the answer for a type.
type fakeServer struct {
	byType   map[string][]json.RawMessage
	patient  json.RawMessage
	latency  time.Duration
	faults   map[string]fault
	requests atomic.Int64
}

func newFakeServer(t testing.TB, demoName string) *fakeServer {
	t.Helper()
	data, err := demo.Bundle(demoName)
	if err != nil {
		t.Fatal(err)
	}
	var b struct {
		Entry []struct{ Resource json.RawMessage } `json:"entry"`
	}
	if err := json.Unmarshal(data, &b); err != nil {
		t.Fatal(err)
	}
	fs := &fakeServer{byType: map[string][]json.RawMessage{}, faults: map[string]fault{}}
	for _, e := range b.Entry {
		var head struct{ ResourceType string }
		_ = json.Unmarshal(e.Resource, &head)
		if head.ResourceType == "Patient" {
			fs.patient = e.Resource
			continue
		}
		fs.byType[head.ResourceType] = append(fs.byType[head.ResourceType], e.Resource)
	}
	return fs
}

func (fs *fakeServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	fs.requests.Add(1)
	if fs.latency > 0 {
		select {
		case <-time.After(fs.latency):
		case <-r.Context().Done():
			return
		}
	}
	typ, rest, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/fhir/"), "/")
	if f, ok := fs.faults[typ]; ok && f(w, r) {
		return
	}
	if typ == "metadata" { // no CapabilityStatement unless a test serves one
		w.WriteHeader(http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/fhir+json")
	if typ == "Patient" {
		var p struct{ ID string }
		_ = json.Unmarshal(fs.patient, &p)
		if rest != p.ID {
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"not-found"}]}`)
			return
		}
		w.Write(fs.patient)
		return
	}
	entries := []map[string]any{}
	for _, res := range fs.byType[typ] {
		if codes := r.URL.Query().Get("code"); codes != "" && !hasCode(res, strings.Split(codes, ",")) {
			continue
		}
		entries = append(entries, map[string]any{"resource": res, "search": map[string]string{"mode": "match"}})
	}
	json.NewEncoder(w).Encode(map[string]any{"resourceType": "Bundle", "type": "searchset", "total": len(entries), "entry": entries})
}

func status(code int, body string) fault {
	return func(w http.ResponseWriter, r *http.Request) bool {
		w.Header().Set("Content-Type", "application/fhir+json")
		w.WriteHeader(code)
		fmt.Fprint(w, body)
		return true
	}
}

func recordSource(t testing.TB, base string, cfg fhirclient.Config) *fhirclient.RecordSource {
	t.Helper()
	proto, err := protocols.LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	return protocolSource(t, base, cfg, proto)
}

func protocolSource(t testing.TB, base string, cfg fhirclient.Config, proto *screening.Protocol) *fhirclient.RecordSource {
	t.Helper()
	cfg.BaseURL = base
	c, err := fhirclient.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.CloseIdleConnections)
	src, err := fhirclient.NewRecordSource(c, proto)
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// TestFaultsNeverYieldAPass: the candidate is potentially eligible when the server
// answers; with any one search broken, the criteria that read that type are unknown
// (source-error), none of them passes, and the verdict is never potentially-eligible.
func TestFaultsNeverYieldAPass(t *testing.T) {
	hang := func(w http.ResponseWriter, r *http.Request) bool { <-r.Context().Done(); return true }
	cases := []struct {
		name  string
		typ   string
		fault fault
		state screening.FetchState
	}{
		{"500", "Observation", status(500, `{"resourceType":"OperationOutcome","issue":[{"severity":"fatal","code":"exception"}]}`), screening.FetchFailed},
		{"502", "Condition", status(502, "bad gateway"), screening.FetchFailed},
		{"503", "MedicationStatement", status(503, ""), screening.FetchFailed},
		{"429 past the deadline", "Observation", func(w http.ResponseWriter, r *http.Request) bool {
			w.Header().Set("Retry-After", "120")
			w.WriteHeader(429)
			return true
		}, screening.FetchFailed},
		{"hang past the deadline", "Condition", hang, screening.FetchFailed},
		{"malformed JSON", "Observation", status(200, `{"resourceType":"Bundle","type":"searchset","entry":[{`), screening.FetchFailed},
		{"wrong content type", "Procedure", func(w http.ResponseWriter, r *http.Request) bool {
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, "<html>login</html>")
			return true
		}, screening.FetchFailed},
		{"looping next link", "AllergyIntolerance", func(w http.ResponseWriter, r *http.Request) bool {
			w.Header().Set("Content-Type", "application/fhir+json")
			fmt.Fprintf(w, `{"resourceType":"Bundle","type":"searchset","link":[{"relation":"next","url":"http://%s%s"}]}`, r.Host, r.URL.RequestURI())
			return true
		}, screening.FetchFailed},
		{"warning outcome (partial)", "Condition", status(200, `{"resourceType":"Bundle","type":"searchset","entry":[{"search":{"mode":"outcome"},"resource":{"resourceType":"OperationOutcome","issue":[{"severity":"warning","code":"too-costly","diagnostics":"results truncated"}]}}]}`), screening.FetchPartial},
		{"401 on a search", "Observation", status(401, `{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"login"}]}`), screening.FetchFailed},
	}
	settings := screening.Settings{AsOf: demo.AsOf()}
	proto, _ := protocols.LoadDefault()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fs := newFakeServer(t, "candidate")
			fs.faults[tc.typ] = tc.fault
			srv := httptest.NewServer(fs)
			defer srv.Close()
			src := recordSource(t, srv.URL+"/fhir", fhirclient.Config{BaseBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond})
			ctx, cancel := context.WithTimeout(context.Background(), 800*time.Millisecond)
			defer cancel()
			rec, err := src.Record(ctx, "demo-candidate")
			if err != nil {
				t.Fatalf("a failed search must not fail the record: %v", err)
			}
			if st := rec.Sources[tc.typ]; st.State != tc.state || st.Detail == "" {
				t.Errorf("%s source %+v, want %s with a reason", tc.typ, st, tc.state)
			}
			out := proto.Evaluate(rec, settings)
			if out.Verdict == screening.PotentiallyEligible {
				t.Errorf("verdict %s with %s %s", out.Verdict, tc.typ, tc.state)
			}
			affected := 0
			for _, r := range out.Criteria {
				if r.Reason == screening.ReasonSourceError {
					affected++
				}
			}
			if affected == 0 {
				t.Error("no criterion says its source failed")
			}
		})
	}
}

func TestRecordPatientErrors(t *testing.T) {
	cases := []struct {
		name string
		id   string
		f    fault
		kind fhirclient.Kind
	}{
		{"unknown patient", "nobody", nil, fhirclient.KindNotFound},
		{"401", "demo-candidate", status(401, `{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"login","diagnostics":"token expired"}]}`), fhirclient.KindAuth},
		{"503 throughout", "demo-candidate", status(503, ""), fhirclient.KindUnavailable},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fs := newFakeServer(t, "candidate")
			if tc.f != nil {
				fs.faults["Patient"] = tc.f
			}
			srv := httptest.NewServer(fs)
			defer srv.Close()
			src := recordSource(t, srv.URL+"/fhir", fhirclient.Config{BaseBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond})
			_, err := src.Record(context.Background(), tc.id)
			if !errors.Is(err, tc.kind) {
				t.Errorf("err = %v, want kind %v", err, tc.kind)
			}
		})
	}
}

// BenchmarkFetchRecord: one patient's fetch against a server with 20 ms latency per
// request, all requests at once (concurrent) and one at a time (sequential).
func BenchmarkFetchRecord(b *testing.B) {
	for _, bc := range []struct {
		name string
		max  int
	}{{"concurrent", 16}, {"sequential", 1}} {
		b.Run(bc.name, func(b *testing.B) {
			fs := newFakeServer(b, "candidate")
			fs.latency = 20 * time.Millisecond
			srv := httptest.NewServer(fs)
			defer srv.Close()
			src := recordSource(b, srv.URL+"/fhir", fhirclient.Config{MaxConcurrent: bc.max})
			fs.requests.Store(0)
			b.ResetTimer()
			for b.Loop() {
				if _, err := src.Record(context.Background(), "demo-candidate"); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(fs.requests.Load())/float64(b.N), "requests/op")
		})
	}
}

func hasCode(res json.RawMessage, codes []string) bool {
	var r struct {
		Code struct {
			Coding []struct{ System, Code string } `json:"coding"`
		} `json:"code"`
	}
	_ = json.Unmarshal(res, &r)
	for _, c := range r.Code.Coding {
		for _, want := range codes {
			if c.System+"|"+c.Code == want {
				return true
			}
		}
	}
	return false
}

// TestNeverSearchesByCode: even where the server declares code search, no search carries
// a code (records arrive coded in ways no list of the protocol's codes stands for, and a
// record whose code cannot be placed must be seen), and the verdict is the record's.
func TestNeverSearchesByCode(t *testing.T) {
	capStmt := status(200, `{"resourceType":"CapabilityStatement","rest":[{"resource":[{"type":"Observation","searchParam":[{"name":"patient"},{"name":"code"}]},{"type":"Condition","searchParam":[{"name":"patient"},{"name":"code"}]}]}]}`)
	proto, _ := protocols.LoadDefault()
	for _, tc := range []struct {
		name     string
		metadata fault
		wantCode map[string]bool
	}{
		{"declared", capStmt, map[string]bool{}},
		{"no CapabilityStatement", nil, map[string]bool{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := newFakeServer(t, "candidate")
			if tc.metadata != nil {
				fs.faults["metadata"] = tc.metadata
			}
			var mu sync.Mutex
			sawCode := map[string]bool{}
			inner := fs
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Query().Get("code") != "" {
					mu.Lock()
					sawCode[strings.TrimPrefix(r.URL.Path, "/fhir/")] = true
					mu.Unlock()
				}
				inner.ServeHTTP(w, r)
			}))
			defer srv.Close()
			src := recordSource(t, srv.URL+"/fhir", fhirclient.Config{})
			rec, err := src.Record(context.Background(), "demo-candidate")
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(sawCode) != fmt.Sprint(tc.wantCode) {
				t.Errorf("searched by code: %v, want %v", sawCode, tc.wantCode)
			}
			if v := proto.Evaluate(rec, screening.Settings{AsOf: demo.AsOf()}).Verdict; v != screening.PotentiallyEligible {
				t.Errorf("verdict %s", v)
			}
		})
	}
}

// TestRecordChecksThePatientIDFirst: an id that is not a FHIR id fails before any
// request goes out (it would be put into every search), and the error does not quote it.
func TestRecordChecksThePatientIDFirst(t *testing.T) {
	for _, tc := range []struct{ name, id string }{
		{"empty", ""},
		{"a path", "../Observation"},
		{"a query", "p1&_id=p2"},
		{"a search value list", "p1,p2"},
		{"a space", "p 1"},
		{"65 characters", strings.Repeat("a", 65)},
		{"dot", "."},      // Patient/. would be cleaned into a search of every patient
		{"dot dot", ".."}, // Patient/.. into the server's base
		{"escaped dot", "%2e"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := newFakeServer(t, "candidate")
			srv := httptest.NewServer(fs)
			defer srv.Close()
			src := recordSource(t, srv.URL+"/fhir", fhirclient.Config{})
			rec, err := src.Record(context.Background(), tc.id)
			const want = "fhirclient: read Patient: the id is not a FHIR id (1-64 characters of A-Z, a-z, 0-9, '-', '.', and not '.' or '..' alone)"
			if rec != nil || err == nil || err.Error() != want {
				t.Errorf("Record = %v, %v; want the error %q", rec, err, want)
			}
			if n := fs.requests.Load(); n != 0 {
				t.Errorf("the server saw %d requests; want none", n)
			}
		})
	}
}
