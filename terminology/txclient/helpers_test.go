package txclient_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/trialscreen/trialscreen/screening"
	"github.com/trialscreen/trialscreen/terminology/txclient"
)

// The responses these tests serve are built on the FHIR R4 specification's own examples:
// testdata/expansion-nested.json has the shape of valueset-example-expansion.json
// (expansion.extension, identifier, timestamp, total, offset, parameter, and contains
// with abstract grouping entries holding nested contains; its total counts the codes,
// not the groupings) with SNOMED CT multiple myeloma concepts in place of its LOINC
// cholesterol codes (the codes and displays of the published eCQM value set in
// terminology/data/valuesets/myeloma.json); the OperationOutcomes have the shape of
// operationoutcome-example.json and operationoutcome-example-exception.json. Requests
// are what the R4 ValueSet/$expand operation takes: POST [base]/ValueSet/$expand with a
// Parameters resource holding valueSet (the inline ValueSet), offset and count.

const (
	sct   = "http://snomed.info/sct"
	loinc = "http://loinc.org"
	token = "s3cr3t-token"
	// expandPath is the only path a test server answers; the base has a path of its
	// own, to show the operation is put under it.
	basePath   = "/r4"
	expandPath = basePath + "/ValueSet/$expand"
)

// clock is the tests' fixed "now": no test reads the wall clock.
var clock = time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)

func fixedNow() time.Time { return clock }

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// expandRequest is what a test server reads of an $expand request.
type expandRequest struct {
	Method, Path, ContentType, Accept, Authorization string
	Concepts                                         []string // the is-a values, one include each
	Offset, Count                                    int
	HasOffset, HasCount                              bool
}

// parseExpand reads the Parameters of an $expand POST strictly enough to catch a wrong
// shape: a valueSet resource whose includes each have the SNOMED CT system and one is-a
// filter on concept.
func parseExpand(t testing.TB, r *http.Request) expandRequest {
	t.Helper()
	er := expandRequest{Method: r.Method, Path: r.URL.Path, ContentType: r.Header.Get("Content-Type"),
		Accept: r.Header.Get("Accept"), Authorization: r.Header.Get("Authorization")}
	body, _ := io.ReadAll(r.Body)
	var p struct {
		ResourceType string `json:"resourceType"`
		Parameter    []struct {
			Name         string `json:"name"`
			ValueInteger *int   `json:"valueInteger"`
			Resource     *struct {
				ResourceType string `json:"resourceType"`
				Compose      struct {
					Include []struct {
						System string `json:"system"`
						Filter []struct {
							Property, Op, Value string
						} `json:"filter"`
					} `json:"include"`
				} `json:"compose"`
			} `json:"resource"`
		} `json:"parameter"`
	}
	if err := json.Unmarshal(body, &p); err != nil || p.ResourceType != "Parameters" {
		t.Errorf("the request body is not a Parameters resource: %v %s", err, body)
		return er
	}
	for _, prm := range p.Parameter {
		switch prm.Name {
		case "valueSet":
			if prm.Resource == nil || prm.Resource.ResourceType != "ValueSet" {
				t.Errorf("valueSet is not a ValueSet resource: %s", body)
				continue
			}
			for _, inc := range prm.Resource.Compose.Include {
				if inc.System != sct || len(inc.Filter) != 1 || inc.Filter[0].Property != "concept" || inc.Filter[0].Op != "is-a" {
					t.Errorf("an include is not one SNOMED CT concept is-a filter: %+v", inc)
					continue
				}
				er.Concepts = append(er.Concepts, inc.Filter[0].Value)
			}
		case "offset":
			er.Offset, er.HasOffset = *prm.ValueInteger, true
		case "count":
			er.Count, er.HasCount = *prm.ValueInteger, true
		default:
			t.Errorf("unexpected parameter %q", prm.Name)
		}
	}
	return er
}

// txServer is a terminology server at 127.0.0.1 whose base is <url>/r4. Every request
// it gets is recorded; one to any path but [base]/ValueSet/$expand fails the test.
type txServer struct {
	*httptest.Server
	mu       sync.Mutex
	requests []expandRequest
}

func newTxServer(t *testing.T, answer func(w http.ResponseWriter, r *http.Request, er expandRequest)) *txServer {
	t.Helper()
	s := &txServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != expandPath || r.Method != http.MethodPost {
			t.Errorf("request to %s %s; only POST %s is expected", r.Method, r.URL.Path, expandPath)
			http.NotFound(w, r)
			return
		}
		er := parseExpand(t, r)
		s.mu.Lock()
		s.requests = append(s.requests, er)
		s.mu.Unlock()
		answer(w, r, er)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *txServer) base() string { return s.URL + basePath }

func (s *txServer) got() []expandRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

func writeFHIR(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/fhir+json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// hierarchy is a small SNOMED CT is-a tree for the servers that answer any request:
// each concept's descendants (itself included), from the published myeloma value set.
var hierarchy = map[string][]string{
	"109989006": {"109989006", "285420006", "285421005", "285422003", "277579002", "313427003", "414553000", "277580004"},
	"277579002": {"277579002", "313427003", "414553000"},
	"94704006":  {"94704006"},
}

// hierarchyAnswer expands the concepts asked for from hierarchy, flat, paged by the
// request's offset and count.
func hierarchyAnswer(w http.ResponseWriter, _ *http.Request, er expandRequest) {
	var all []string
	for _, c := range er.Concepts {
		for _, d := range hierarchy[c] {
			if !slices.Contains(all, d) {
				all = append(all, d)
			}
		}
	}
	writeFHIR(w, 200, page(all, er.Offset, er.Count))
}

func page(all []string, offset, count int) []byte {
	end := min(len(all), offset+count)
	if count == 0 {
		end = len(all)
	}
	var contains []map[string]any
	for _, c := range all[min(offset, len(all)):end] {
		contains = append(contains, map[string]any{"system": sct, "code": c})
	}
	b, _ := json.Marshal(map[string]any{
		"resourceType": "ValueSet",
		"status":       "active",
		"expansion": map[string]any{
			"identifier": "urn:uuid:5f7e3b1c-0000-4000-8000-000000000001",
			"timestamp":  "2026-12-06T08:00:00Z",
			"total":      len(all),
			"offset":     offset,
			"contains":   contains,
		},
	})
	return b
}

func newClient(t testing.TB, base string, mod func(*txclient.Config)) *txclient.Client {
	t.Helper()
	cfg := txclient.Config{BaseURL: base, Token: token}
	if mod != nil {
		mod(&cfg)
	}
	c, err := txclient.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

func snomed(codes ...string) []screening.Coding {
	out := make([]screening.Coding, len(codes))
	for i, c := range codes {
		out[i] = screening.Coding{System: sct, Code: c}
	}
	return out
}

func codesOf(cs []screening.Coding) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.System + "|" + c.Code
	}
	slices.Sort(out)
	return out
}

// metric reads one series' value from reg ("name" or "name{label=value}").
func metric(t testing.TB, reg *prometheus.Registry, name, label, value string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			ok := label == ""
			for _, lp := range m.GetLabel() {
				ok = ok || (lp.GetName() == label && lp.GetValue() == value)
			}
			if !ok {
				continue
			}
			switch {
			case m.Gauge != nil:
				return m.Gauge.GetValue()
			case m.Counter != nil:
				return m.Counter.GetValue()
			}
		}
	}
	t.Fatalf("no series %s{%s=%q}", name, label, value)
	return 0
}

// syncBuffer is a log sink safe for the handler's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func assertNoToken(t testing.TB, what, s string) {
	t.Helper()
	if strings.Contains(s, token) {
		t.Errorf("%s holds the token: %s", what, s)
	}
}
