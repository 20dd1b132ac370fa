package txclient_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trialscreen/trialscreen/screening"
	"github.com/trialscreen/trialscreen/terminology/txclient"
)

// An expansion with abstract groupings and nested contains (the spec's
// example-expansion shape) gives every code at every depth and no grouping entry; the
// request is one POST of Parameters to [base]/ValueSet/$expand with the token.
func TestExpandNestedContains(t *testing.T) {
	srv := newTxServer(t, func(w http.ResponseWriter, _ *http.Request, _ expandRequest) {
		writeFHIR(w, 200, fixture(t, "expansion-nested.json"))
	})
	c := newClient(t, srv.base(), nil)
	got, err := c.Expand(context.Background(), "myeloma", snomed("109989006"))
	if err != nil {
		t.Fatal(err)
	}
	want := codesOf(snomed("109989006", "285420006", "285421005", "285422003", "277579002", "313427003", "414553000", "277580004"))
	if g := codesOf(got); !slices.Equal(g, want) {
		t.Errorf("codes\n got %v\nwant %v", g, want)
	}
	reqs := srv.got()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	r := reqs[0]
	if r.Path != expandPath || r.Method != http.MethodPost {
		t.Errorf("request %s %s", r.Method, r.Path)
	}
	if r.ContentType != "application/fhir+json" || r.Accept != "application/fhir+json" {
		t.Errorf("Content-Type %q, Accept %q", r.ContentType, r.Accept)
	}
	if r.Authorization != "Bearer "+token {
		t.Errorf("Authorization %q", r.Authorization)
	}
	if !slices.Equal(r.Concepts, []string{"109989006"}) || !r.HasOffset || r.Offset != 0 || !r.HasCount || r.Count != 1000 {
		t.Errorf("request %+v", r)
	}
}

// Several concepts go in one request, one include each (filters within one include
// must all hold); codes of other systems are returned as given and never sent.
func TestExpandSendsOnlySNOMEDOneIncludeEach(t *testing.T) {
	srv := newTxServer(t, hierarchyAnswer)
	c := newClient(t, srv.base(), nil)
	in := append(snomed("277579002", "94704006"), screening.Coding{System: loinc, Code: "751-8"}, screening.Coding{System: "http://hl7.org/fhir/sid/icd-10-cm", Code: "C90.00"})
	got, err := c.Expand(context.Background(), "mixed", in)
	if err != nil {
		t.Fatal(err)
	}
	want := codesOf(append(snomed("277579002", "313427003", "414553000", "94704006"), in[2], in[3]))
	if g := codesOf(got); !slices.Equal(g, want) {
		t.Errorf("codes\n got %v\nwant %v", g, want)
	}
	if reqs := srv.got(); len(reqs) != 1 || !slices.Equal(reqs[0].Concepts, []string{"277579002", "94704006"}) {
		t.Errorf("requests %+v", reqs)
	}

	// A request with no SNOMED CT code is answered without the server.
	only := []screening.Coding{{System: loinc, Code: "751-8"}}
	got, err = c.Expand(context.Background(), "anc", only)
	if err != nil || !slices.Equal(codesOf(got), codesOf(only)) {
		t.Errorf("LOINC only: %v %v", got, err)
	}
	if n := len(srv.got()); n != 1 {
		t.Errorf("%d requests after a LOINC-only expansion, want still 1", n)
	}
}

// When expansion.total is above what a page holds, the next page is asked for from the
// next offset until every code is in hand.
func TestExpandPages(t *testing.T) {
	srv := newTxServer(t, hierarchyAnswer)
	c := newClient(t, srv.base(), func(cfg *txclient.Config) { cfg.PageSize = 3 })
	got, err := c.Expand(context.Background(), "myeloma", snomed("109989006"))
	if err != nil {
		t.Fatal(err)
	}
	if g, want := codesOf(got), codesOf(snomed(hierarchy["109989006"]...)); !slices.Equal(g, want) {
		t.Errorf("codes\n got %v\nwant %v", g, want)
	}
	var offsets []int
	for _, r := range srv.got() {
		offsets = append(offsets, r.Offset)
		if r.Count != 3 {
			t.Errorf("count %d, want 3", r.Count)
		}
	}
	if !slices.Equal(offsets, []int{0, 3, 6}) {
		t.Errorf("offsets %v, want [0 3 6]", offsets)
	}
}

// A server that gives no expansion.total is asked for the next page while pages come
// full; a short page is the last.
func TestExpandPagesWithoutTotal(t *testing.T) {
	srv := newTxServer(t, func(w http.ResponseWriter, _ *http.Request, er expandRequest) {
		all := hierarchy["109989006"] // 8 codes: pages of 3, 3, 2
		var contains []string
		for _, c := range all[min(er.Offset, len(all)):min(len(all), er.Offset+er.Count)] {
			contains = append(contains, `{"system": "http://snomed.info/sct", "code": "`+c+`"}`)
		}
		writeFHIR(w, 200, []byte(`{"resourceType": "ValueSet", "expansion": {"contains": [`+strings.Join(contains, ",")+`]}}`))
	})
	c := newClient(t, srv.base(), func(cfg *txclient.Config) { cfg.PageSize = 3 })
	got, err := c.Expand(context.Background(), "myeloma", snomed("109989006"))
	if err != nil || len(got) != 8 {
		t.Fatalf("%d codes, %v; want 8", len(got), err)
	}
	if n := len(srv.got()); n != 3 {
		t.Errorf("%d requests, want 3", n)
	}
}

// Every way the server can fail is an *Error of its reason, and no message holds the
// token (even when the server echoes it).
func TestExpandFailures(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	tests := []struct {
		name    string
		answer  func(w http.ResponseWriter, r *http.Request, er expandRequest)
		mod     func(*txclient.Config)
		reason  txclient.Reason
		message string
	}{
		{
			name: "OperationOutcome 4xx",
			answer: func(w http.ResponseWriter, _ *http.Request, _ expandRequest) {
				writeFHIR(w, 422, fixture(t, "operationoutcome-too-costly.json"))
			},
			reason: txclient.ReasonOperationOutcome, message: "operation-outcome: HTTP 422, OperationOutcome too-costly",
		},
		{
			name: "OperationOutcome with 200",
			answer: func(w http.ResponseWriter, _ *http.Request, _ expandRequest) {
				writeFHIR(w, 200, fixture(t, "operationoutcome-too-costly.json"))
			},
			reason: txclient.ReasonOperationOutcome, message: "operation-outcome: OperationOutcome too-costly",
		},
		{
			name: "OperationOutcome 5xx",
			answer: func(w http.ResponseWriter, _ *http.Request, _ expandRequest) {
				writeFHIR(w, 500, fixture(t, "operationoutcome-exception.json"))
			},
			reason: txclient.ReasonOperationOutcome, message: "operation-outcome: HTTP 500, OperationOutcome exception",
		},
		{
			name: "5xx without a body",
			answer: func(w http.ResponseWriter, _ *http.Request, _ expandRequest) {
				http.Error(w, "upstream unavailable", http.StatusServiceUnavailable)
			},
			reason: txclient.ReasonHTTPStatus, message: "http-status: HTTP 503",
		},
		{
			name: "401",
			answer: func(w http.ResponseWriter, _ *http.Request, _ expandRequest) {
				http.Error(w, "no", http.StatusUnauthorized)
			},
			reason: txclient.ReasonHTTPStatus, message: "http-status: HTTP 401",
		},
		{
			name: "timeout",
			answer: func(w http.ResponseWriter, r *http.Request, _ expandRequest) {
				select {
				case <-r.Context().Done():
				case <-release:
				}
			},
			mod:    func(c *txclient.Config) { c.RequestTimeout = 50 * time.Millisecond },
			reason: txclient.ReasonTimeout, message: "timeout",
		},
		{
			name: "oversized, declared",
			answer: func(w http.ResponseWriter, _ *http.Request, _ expandRequest) {
				writeFHIR(w, 200, fixture(t, "expansion-nested.json"))
			},
			mod:    func(c *txclient.Config) { c.MaxResponseBytes = 1024 },
			reason: txclient.ReasonOversized,
		},
		{
			name: "oversized, streamed",
			answer: func(w http.ResponseWriter, _ *http.Request, _ expandRequest) {
				w.Header().Set("Content-Type", "application/fhir+json")
				w.WriteHeader(200)
				w.(http.Flusher).Flush() // chunked: no Content-Length to refuse it by
				_, _ = w.Write(fixture(t, "expansion-nested.json"))
			},
			mod:    func(c *txclient.Config) { c.MaxResponseBytes = 1024 },
			reason: txclient.ReasonOversized, message: "oversized: the answer is above 1024 bytes",
		},
		{
			name: "too many codes",
			answer: func(w http.ResponseWriter, _ *http.Request, _ expandRequest) {
				writeFHIR(w, 200, fixture(t, "expansion-nested.json"))
			},
			mod:    func(c *txclient.Config) { c.MaxCodes = 5 },
			reason: txclient.ReasonOversized, message: "oversized: more than 5 codes",
		},
		{
			name: "not JSON",
			answer: func(w http.ResponseWriter, _ *http.Request, _ expandRequest) {
				writeFHIR(w, 200, []byte(`{"resourceType": "ValueSet", "expansion": {"contains": [`))
			},
			reason: txclient.ReasonMalformed, message: "malformed: the answer is not JSON",
		},
		{
			name: "HTML",
			answer: func(w http.ResponseWriter, _ *http.Request, _ expandRequest) {
				w.Header().Set("Content-Type", "text/html")
				_, _ = w.Write([]byte("<html><body>Sign in</body></html>"))
			},
			reason: txclient.ReasonMalformed,
		},
		{
			name: "not a ValueSet",
			answer: func(w http.ResponseWriter, _ *http.Request, _ expandRequest) {
				writeFHIR(w, 200, []byte(`{"resourceType": "Bundle", "type": "searchset", "total": 0}`))
			},
			reason: txclient.ReasonMalformed, message: "malformed: the answer is not a ValueSet with an expansion",
		},
		{
			name: "ValueSet without expansion",
			answer: func(w http.ResponseWriter, _ *http.Request, _ expandRequest) {
				writeFHIR(w, 200, []byte(`{"resourceType": "ValueSet", "status": "active"}`))
			},
			reason: txclient.ReasonMalformed,
		},
		{
			name: "code without system",
			answer: func(w http.ResponseWriter, _ *http.Request, _ expandRequest) {
				writeFHIR(w, 200, []byte(`{"resourceType": "ValueSet", "expansion": {"total": 1, "contains": [{"code": "109989006"}]}}`))
			},
			reason: txclient.ReasonMalformed, message: "malformed: an expansion.contains entry has a code but no system",
		},
		{
			name: "paging without progress",
			answer: func(w http.ResponseWriter, _ *http.Request, er expandRequest) {
				writeFHIR(w, 200, page([]string{"109989006", "277579002", "277580004"}, 0, 1)) // always the first page
			},
			reason: txclient.ReasonMalformed, message: "malformed: asked for offset 1, got 0",
		},
		{
			name: "total above what the server ever gives",
			answer: func(w http.ResponseWriter, _ *http.Request, er expandRequest) {
				writeFHIR(w, 200, []byte(`{"resourceType": "ValueSet", "expansion": {"total": 9, "contains": [{"system": "http://snomed.info/sct", "code": "109989006"}]}}`))
			},
			reason: txclient.ReasonMalformed, message: "malformed: paging made no progress at offset 1 of 9",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newTxServer(t, tt.answer)
			c := newClient(t, srv.base(), tt.mod)
			_, err := c.Expand(context.Background(), "myeloma", snomed("109989006"))
			var e *txclient.Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want a *txclient.Error", err)
			}
			if e.Reason != tt.reason || txclient.ReasonOf(err) != tt.reason {
				t.Errorf("reason %q (%v), want %q", e.Reason, err, tt.reason)
			}
			if tt.message != "" && err.Error() != tt.message {
				t.Errorf("message %q, want %q", err.Error(), tt.message)
			}
			assertNoToken(t, "the error", err.Error())
			if strings.Contains(err.Error(), srv.URL) {
				t.Errorf("the error names the server's URL: %v", err)
			}
		})
	}
}

// A server that is not there is a network failure.
func TestExpandNetworkFailure(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	base := srv.URL + basePath
	srv.Close() // nothing listens there any more
	c := newClient(t, base, nil)
	_, err := c.Expand(context.Background(), "myeloma", snomed("109989006"))
	if txclient.ReasonOf(err) != txclient.ReasonNetwork {
		t.Errorf("err = %v, want a network failure", err)
	}
}

// A redirect to another origin is not followed: the other server never hears of the
// request, and the token never leaves. One on the same origin is followed.
func TestExpandRedirects(t *testing.T) {
	var foreign atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		foreign.Add(1)
		t.Errorf("the other origin got %s %s (Authorization %q)", r.Method, r.URL.Path, r.Header.Get("Authorization"))
	}))
	t.Cleanup(other.Close)

	away := newTxServer(t, func(w http.ResponseWriter, r *http.Request, _ expandRequest) {
		http.Redirect(w, r, other.URL+expandPath, http.StatusTemporaryRedirect)
	})
	_, err := newClient(t, away.base(), nil).Expand(context.Background(), "myeloma", snomed("109989006"))
	if txclient.ReasonOf(err) != txclient.ReasonRedirect {
		t.Errorf("err = %v, want a redirect failure", err)
	}
	if foreign.Load() != 0 {
		t.Error("the redirect to another origin was followed")
	}

	// Same origin: a 307 keeps the method and body; the test server sees the POST at
	// the expand path twice (first redirected, then answered).
	var n atomic.Int32
	same := newTxServer(t, func(w http.ResponseWriter, r *http.Request, er expandRequest) {
		if n.Add(1) == 1 {
			http.Redirect(w, r, expandPath, http.StatusTemporaryRedirect)
			return
		}
		hierarchyAnswer(w, r, er)
	})
	got, err := newClient(t, same.base(), nil).Expand(context.Background(), "myeloma", snomed("277579002"))
	if err != nil || len(got) != 3 {
		t.Errorf("same-origin redirect: %v, %v", got, err)
	}

	// A loop on the same origin stops.
	loop := newTxServer(t, func(w http.ResponseWriter, r *http.Request, _ expandRequest) {
		http.Redirect(w, r, expandPath, http.StatusTemporaryRedirect)
	})
	_, err = newClient(t, loop.base(), nil).Expand(context.Background(), "myeloma", snomed("277579002"))
	if txclient.ReasonOf(err) != txclient.ReasonRedirect {
		t.Errorf("redirect loop: err = %v", err)
	}
}

func TestNewChecksTheBaseURL(t *testing.T) {
	for raw, want := range map[string]string{
		"":                                "the base URL is required",
		"tx.example.org/r4":               "not an absolute http or https URL",
		"ftp://tx.example.org/r4":         "not an absolute http or https URL",
		"https://user:pw@tx.example.org/": "must not hold credentials",
		"https://tx.example.org/r4?x=1":   "must not have a query or fragment",
		"https:///r4":                     "has no host",
	} {
		_, err := txclient.New(txclient.Config{BaseURL: raw})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want %q", raw, err, want)
		}
		if err != nil && strings.Contains(err.Error(), "pw") {
			t.Errorf("%q: the error echoes the credentials: %v", raw, err)
		}
	}
	c, err := txclient.New(txclient.Config{BaseURL: "https://tx.example.org/r4/"})
	if err != nil || c.BaseURL() != "https://tx.example.org/r4" {
		t.Errorf("BaseURL %q, %v", c.BaseURL(), err)
	}
}
