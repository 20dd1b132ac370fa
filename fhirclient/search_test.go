package fhirclient

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/trialscreen/trialscreen/fhirbundle"
)

func searchParams() url.Values {
	return url.Values{"patient": {"Patient/" + patientID}, "code": {"http://loinc.org|718-7"}}
}

func TestSearchPages(t *testing.T) {
	var mu sync.Mutex
	var queries, auths []string
	var base string
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		queries = append(queries, r.URL.Path+"?"+r.URL.RawQuery)
		auths = append(auths, r.Header.Get("Authorization"))
		mu.Unlock()
		// Opaque paging tokens, as HAPI gives them: the client must follow them as given.
		switch r.URL.Query().Get("_getpages") {
		case "":
			writeJSON(w, 200, bundle(base+"/fhir?_getpages=t0k&_offset=2", obs("o1"), obs("o2")))
		case "t0k":
			if r.URL.Query().Get("_offset") == "2" {
				writeJSON(w, 200, bundle("/fhir?_getpages=t0k&_offset=4", obs("o3"), obs("o4"))) // relative
			} else {
				writeJSON(w, 200, bundle("", obs("o5")))
			}
		}
	})
	base = srv.URL
	c := newClient(t, srv.URL+"/fhir", nil)
	res, err := c.Search(context.Background(), "Observation", searchParams())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range res.Entries {
		var id struct{ ID string }
		if err := jsonUnmarshal(e.Resource, &id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id.ID)
	}
	if got := strings.Join(ids, ","); got != "o1,o2,o3,o4,o5" {
		t.Errorf("entries %s, want o1..o5", got)
	}
	if res.Pages != 3 || res.Partial || res.Total != -1 {
		t.Errorf("Pages %d Partial %v Total %d; want 3, false, -1", res.Pages, res.Partial, res.Total)
	}
	mu.Lock()
	defer mu.Unlock()
	wantQ := []string{
		"/fhir/Observation?_count=200&code=http%3A%2F%2Floinc.org%7C718-7&patient=Patient%2F" + patientID,
		"/fhir?_getpages=t0k&_offset=2",
		"/fhir?_getpages=t0k&_offset=4",
	}
	if fmt.Sprint(queries) != fmt.Sprint(wantQ) {
		t.Errorf("requests\n%q\nwant\n%q", queries, wantQ)
	}
	for i, a := range auths {
		if a != "Bearer "+token {
			t.Errorf("request %d Authorization %q", i+1, a)
		}
	}
}

func TestSearchErrors(t *testing.T) {
	other := newServer(t, nil) // another origin: must never be asked
	tests := []struct {
		name    string
		handler func(base string) http.HandlerFunc
		cfg     func(*Config)
		want    Kind
		msgs    []string
		hits    int32
	}{
		{name: "next link loops",
			handler: func(base string) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					if r.URL.Query().Get("page") == "2" {
						writeJSON(w, 200, bundle(base+"/Observation?page=3", obs("o2")))
						return
					}
					if r.URL.Query().Get("page") == "3" {
						writeJSON(w, 200, bundle(base+"/Observation?page=2", obs("o3")))
						return
					}
					writeJSON(w, 200, bundle(base+"/Observation?page=2", obs("o1")))
				}
			},
			want: KindBadResponse, msgs: []string{"bad response", "page 3", "the next link loops back to page 2"}, hits: 3},
		{name: "next link to itself",
			handler: func(base string) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					writeJSON(w, 200, bundle(base+r.URL.RequestURI(), obs("o1")))
				}
			},
			want: KindBadResponse, msgs: []string{"page 1", "loops back to page 1"}, hits: 1},
		{name: "next link to another origin",
			handler: func(string) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					writeJSON(w, 200, bundle(other.URL+"/Observation?page=2", obs("o1")))
				}
			},
			want: KindBadResponse, msgs: []string{"page 1", "the next link points to another origin (http://127.0.0.1:", "not followed"}, hits: 1},
		{name: "page cap exceeded",
			handler: func(base string) http.HandlerFunc {
				n := 0
				var mu sync.Mutex
				return func(w http.ResponseWriter, r *http.Request) {
					mu.Lock()
					n++
					next := fmt.Sprintf("%s/Observation?page=%d", base, n+1)
					mu.Unlock()
					writeJSON(w, 200, bundle(next, obs("o")))
				}
			},
			cfg:  func(c *Config) { c.MaxPages = 3 },
			want: KindBadResponse, msgs: []string{"page 3", "more than 3 pages (MaxPages)"}, hits: 3},
		{name: "not a Bundle",
			handler: func(string) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, patient(patientID)) }
			},
			want: KindBadResponse, msgs: []string{"page 1", "not a FHIR Bundle: the body is Patient"}, hits: 1},
		{name: "OperationOutcome instead of a Bundle",
			handler: func(string) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					writeJSON(w, 200, outcome("error", "search on Patient/pat-4711 failed"))
				}
			},
			want: KindBadResponse, msgs: []string{"not a FHIR Bundle", "error: search on Patient/[redacted] failed"}, hits: 1},
		{name: "malformed page 2",
			handler: func(base string) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					if r.URL.Query().Get("page") == "2" {
						writeJSON(w, 200, `{"resourceType":"Bundle" "entry":[]}`)
						return
					}
					writeJSON(w, 200, bundle(base+"/Observation?page=2", obs("o1")))
				}
			},
			want: KindBadResponse, msgs: []string{"page 2", "malformed JSON at byte 26"}, hits: 2},
		{name: "truncated page",
			handler: func(string) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					b := bundle("", obs("o1"), obs("o2"))
					writeJSON(w, 200, b[:len(b)/2])
				}
			},
			want: KindBadResponse, msgs: []string{"page 1", "truncated JSON"}, hits: 1},
		{name: "503 on page 2 retried",
			handler: func(base string) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					if r.URL.Query().Get("page") == "2" {
						writeJSON(w, 503, "")
						return
					}
					writeJSON(w, 200, bundle(base+"/Observation?page=2", obs("o1")))
				}
			},
			want: KindUnavailable, msgs: []string{"HTTP 503", "page 2", "3 attempts"}, hits: 4},
		{name: "404 names the type, not the query",
			handler: func(string) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					writeJSON(w, 404, outcome("error", "Patient/pat-4711 unknown (code 718-7)"))
				}
			},
			want: KindNotFound, msgs: []string{"HTTP 404", "Patient/[redacted] unknown (code [redacted])"}, hits: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h http.HandlerFunc
			srv := newServer(t, func(w http.ResponseWriter, r *http.Request) { h(w, r) })
			h = tt.handler(srv.URL)
			c := newClient(t, srv.URL, tt.cfg)
			res, err := c.Search(context.Background(), "Observation", searchParams())
			if res != nil {
				t.Errorf("Search returned a result with error %v", err)
			}
			checkError(t, err, tt.want, "search Observation", tt.msgs...)
			if srv.hits.Load() != tt.hits {
				t.Errorf("server saw %d requests, want %d", srv.hits.Load(), tt.hits)
			}
			if n := other.hits.Load(); n != 0 {
				t.Errorf("the other origin received %d requests", n)
			}
		})
	}
}

func TestSearchPartial(t *testing.T) {
	oo := func(mode, severity, text string) string {
		return fmt.Sprintf(`{"resource":%s,"search":{"mode":%q}}`, outcome(severity, text), mode)
	}
	secured := func(id, code string) string {
		return fmt.Sprintf(`{"resource":{"resourceType":"Observation","id":%q,"meta":{"security":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ObservationValue","code":%q}]}},"search":{"mode":"match"}}`, id, code)
	}
	tests := []struct {
		name    string
		page    string
		entries int
		partial bool
		reason  string
	}{
		{"complete", bundle("", obs("o1"), obs("o2")), 2, false, ""},
		{"warning outcome", bundle("", obs("o1"), oo("outcome", "warning", "results limited for Patient/pat-4711")), 1, true,
			"the server reports warning: results limited for Patient/[redacted]"},
		{"error outcome", bundle("", oo("outcome", "error", "index offline"), obs("o1")), 1, true, "the server reports error: index offline"},
		{"information outcome", bundle("", obs("o1"), oo("outcome", "information", "took 3 ms")), 1, false, ""},
		{"outcome without a severity", bundle("", obs("o1"), oo("outcome", "", "results limited")), 1, true, "the server reports results limited"},
		{"outcome without issues", bundle("", obs("o1"), `{"resource":{"resourceType":"OperationOutcome"},"search":{"mode":"outcome"}}`), 1, true,
			"the server sent an OperationOutcome without issues"},
		{"outcome without mode", bundle("", obs("o1"), fmt.Sprintf(`{"resource":%s}`, outcome("warning", "partial"))), 1, true, "warning: partial"},
		{"redacted", bundle("", obs("o1"), secured("o2", "REDACTED")), 2, true, "1 resource masked, redacted or subsetted by the server (meta)"},
		{"masked", bundle("", secured("o1", "MASKED"), secured("o2", "MASKED")), 2, true, "2 resources masked, redacted or subsetted"},
		{"subsetted (meta.tag)", bundle("", obs("o1"), `{"resource":{"resourceType":"Observation","id":"o2","meta":{"tag":[{"code":"SUBSETTED"}]}},"search":{"mode":"match"}}`), 2, true,
			"1 resource masked, redacted or subsetted by the server (meta)"},
		{"other security label", bundle("", secured("o1", "R")), 1, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, tt.page) })
			c := newClient(t, srv.URL, nil)
			res, err := c.Search(context.Background(), "Observation", searchParams())
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Entries) != tt.entries || res.Partial != tt.partial || !strings.Contains(res.PartialReason, tt.reason) {
				t.Errorf("got %d entries, Partial %v %q; want %d, %v, containing %q", len(res.Entries), res.Partial, res.PartialReason, tt.entries, tt.partial, tt.reason)
			}
			if !tt.partial && res.PartialReason != "" {
				t.Errorf("PartialReason %q on a complete result", res.PartialReason)
			}
			if strings.Contains(res.PartialReason, patientID) {
				t.Errorf("PartialReason %q leaks the patient id", res.PartialReason)
			}
			for _, e := range res.Entries {
				if strings.Contains(string(e.Resource), "OperationOutcome") {
					t.Errorf("an OperationOutcome entry was kept as data: %s", e.Resource)
				}
			}
		})
	}
}

func TestSearchCountAndTotal(t *testing.T) {
	var got url.Values
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		got = r.URL.Query()
		writeJSON(w, 200, `{"resourceType":"Bundle","type":"searchset","total":7,"entry":[]}`)
	})
	c := newClient(t, srv.URL, func(c *Config) { c.PageSize = 50 })
	res, err := c.Search(context.Background(), "Condition", url.Values{"subject": {"Patient/1"}})
	if err != nil {
		t.Fatal(err)
	}
	if got.Get("_count") != "50" || got.Get("subject") != "Patient/1" || res.Total != 7 || len(res.Entries) != 0 {
		t.Errorf("query %v, Total %d, %d entries", got, res.Total, len(res.Entries))
	}
	if _, err := c.Search(context.Background(), "Condition", url.Values{"_count": {"10"}}); err != nil {
		t.Fatal(err)
	}
	if got.Get("_count") != "10" {
		t.Errorf("_count %q, want the caller's 10", got.Get("_count"))
	}
}

// bundleTotal is a searchset page with Bundle.total.
func bundleTotal(total int, next string, entries ...string) string {
	b := bundle(next, entries...)
	return strings.Replace(b, `"type":"searchset"`, fmt.Sprintf(`"type":"searchset","total":%d`, total), 1)
}

func included(id string) string {
	return fmt.Sprintf(`{"resource":{"resourceType":"Medication","id":%q},"search":{"mode":"include"}}`, id)
}

func noMode(id string) string {
	return fmt.Sprintf(`{"resource":{"resourceType":"Observation","id":%q}}`, id)
}

// TestSearchFewerMatchesThanTotal: a server that says it has more matches than it
// returns, with no next link, cut the result short; only match entries count.
func TestSearchFewerMatchesThanTotal(t *testing.T) {
	tests := []struct {
		name    string
		pages   []string // page n links to page n+1 while there is one
		entries int
		reason  string // "" for a complete result
	}{
		{"one page short", []string{bundleTotal(250, "", obs("o1"), obs("o2"))}, 2,
			"the server reported 250 matches but returned 2 with no next page"},
		{"includes do not count", []string{bundleTotal(2, "", obs("o1"), included("m1"))}, 2,
			"the server reported 2 matches but returned 1 with no next page"},
		{"a total of one", []string{bundleTotal(1, "")}, 0,
			"the server reported 1 match but returned 0 with no next page"},
		{"outcomes do not count", []string{bundleTotal(2, "", obs("o1"), fmt.Sprintf(`{"resource":%s,"search":{"mode":"outcome"}}`, outcome("information", "ok")))}, 1,
			"the server reported 2 matches but returned 1 with no next page"},
		{"last page short", []string{bundleTotal(3, "NEXT", obs("o1"), obs("o2")), bundleTotal(3, "")}, 2,
			"the server reported 3 matches but returned 2 with no next page"},
		{"all there", []string{bundleTotal(2, "", obs("o1"), obs("o2"))}, 2, ""},
		{"all there with includes", []string{bundleTotal(1, "", obs("o1"), included("m1"))}, 2, ""},
		{"entries without a mode are matches", []string{bundleTotal(2, "", noMode("o1"), noMode("o2"))}, 2, ""},
		{"all there over two pages", []string{bundleTotal(3, "NEXT", obs("o1"), obs("o2")), bundleTotal(3, "", obs("o3"))}, 3, ""},
		{"more than the total", []string{bundleTotal(1, "", obs("o1"), obs("o2"))}, 2, ""},
		{"no total", []string{bundle("", obs("o1"))}, 1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var base string
			srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
				n := 0
				fmt.Sscan(r.URL.Query().Get("page"), &n)
				next := fmt.Sprintf("%s/Observation?page=%d", base, n+1)
				writeJSON(w, 200, strings.Replace(tt.pages[n], "NEXT", next, 1))
			})
			base = srv.URL
			c := newClient(t, srv.URL, nil)
			res, err := c.Search(context.Background(), "Observation", searchParams())
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Entries) != tt.entries || res.Partial != (tt.reason != "") || res.PartialReason != tt.reason {
				t.Errorf("got %d entries, Partial %v %q; want %d, %v, %q", len(res.Entries), res.Partial, res.PartialReason, tt.entries, tt.reason != "", tt.reason)
			}
			if int(srv.hits.Load()) != len(tt.pages) {
				t.Errorf("server saw %d requests, want %d", srv.hits.Load(), len(tt.pages))
			}
		})
	}
}

// TestUnscreenablePageIsPartial: when a page's entries cannot be matched up with what
// SplitBundle found, its outcomes and masking are unknown, so the page is never complete.
func TestUnscreenablePageIsPartial(t *testing.T) {
	body := []byte(bundle("", obs("o1")))
	b, err := fhirbundle.SplitBundle([]byte(bundle("", obs("o1"), obs("o2"))))
	if err != nil {
		t.Fatal(err)
	}
	ps := screenEntries(body, b.Entries, "Observation")
	if ps.why != "a page could not be screened for warnings or masked data" || len(ps.kept) != 2 {
		t.Errorf("why %q, %d entries kept; want the page called partial with both entries kept", ps.why, len(ps.kept))
	}
}
