package fhirclient

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const bulkGroup = "grp-4711-x" // a Group id: must never show in an error message

// bulkHit is one request a bulkFake saw.
type bulkHit struct {
	method, path string
	query        url.Values
	auth, prefer string
	accept       string
}

func (h bulkHit) String() string { return h.method + " " + h.path }

// bulkFake is a Bulk Data server: kick-off at any .../$export (202, status at /jobs/7),
// status polls at /jobs/7 (running for `running` polls, then the manifest), DELETE there,
// files at /files/. Each handler can be replaced.
type bulkFake struct {
	*server
	mu       sync.Mutex
	hits     []bulkHit
	polls    int
	running  int
	header   http.Header       // on each 202 poll: Retry-After, X-Progress
	manifest string            // the completed status body; "" builds one from files
	files    map[string]string // /files/<name> -> body
	kickOff  http.HandlerFunc
	status   http.HandlerFunc
	file     http.HandlerFunc
}

func newBulkFake(t *testing.T) *bulkFake {
	t.Helper()
	f := &bulkFake{header: http.Header{}, files: map[string]string{}}
	f.server = newServer(t, f.serve)
	return f
}

func (f *bulkFake) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.hits = append(f.hits, bulkHit{r.Method, r.URL.Path, r.URL.Query(), r.Header.Get("Authorization"), r.Header.Get("Prefer"), r.Header.Get("Accept")})
	f.mu.Unlock()
	switch {
	case strings.HasSuffix(r.URL.Path, "/$export"):
		if f.kickOff != nil {
			f.kickOff(w, r)
			return
		}
		w.Header().Set("Content-Location", f.URL+"/jobs/7")
		w.WriteHeader(http.StatusAccepted)
	case r.URL.Path == "/jobs/7" && r.Method == http.MethodDelete:
		w.WriteHeader(http.StatusAccepted)
	case r.URL.Path == "/jobs/7":
		if f.status != nil {
			f.status(w, r)
			return
		}
		f.mu.Lock()
		f.polls++
		running := f.polls <= f.running
		f.mu.Unlock()
		if running {
			for k, v := range f.header {
				w.Header()[k] = v
			}
			w.WriteHeader(http.StatusAccepted)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, f.manifestBody())
	case strings.HasPrefix(r.URL.Path, "/files/"):
		if f.file != nil {
			f.file(w, r)
			return
		}
		body, ok := f.files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/fhir+ndjson")
		fmt.Fprint(w, body)
	default:
		http.NotFound(w, r)
	}
}

func (f *bulkFake) manifestBody() string {
	if f.manifest != "" {
		return f.manifest
	}
	return manifestJSON(true, [][2]string{{"Patient", f.URL + "/files/p1"}, {"Observation", f.URL + "/files/o1"}}, []string{f.URL + "/files/e1"})
}

// manifestJSON is a manifest with output files (type, URL) and error files.
func manifestJSON(requiresToken bool, output [][2]string, errs []string) string {
	var out, er []string
	for _, o := range output {
		out = append(out, fmt.Sprintf(`{"type":%q,"url":%q,"count":2}`, o[0], o[1]))
	}
	for _, e := range errs {
		er = append(er, fmt.Sprintf(`{"type":"OperationOutcome","url":%q}`, e))
	}
	return fmt.Sprintf(`{"transactionTime":"2026-03-01T10:00:00.123Z","request":"http://x/Group/%s/$export","requiresAccessToken":%t,"output":[%s],"error":[%s]}`,
		bulkGroup, requiresToken, strings.Join(out, ","), strings.Join(er, ","))
}

func (f *bulkFake) seen() []bulkHit {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.hits)
}

// count is how many requests of method to path the fake saw.
func (f *bulkFake) count(method, path string) int {
	n := 0
	for _, h := range f.seen() {
		if h.method == method && h.path == path {
			n++
		}
	}
	return n
}

const (
	ndjsonPatients = `{"resourceType":"Patient","id":"a"}` + "\n" + `{"resourceType":"Patient","id":"b"}` + "\n"
	ndjsonObs      = `{"resourceType":"Observation","id":"o1"}` + "\n" + `{"resourceType":"Observation","id":"o2"}` // no final newline
	ndjsonIssues   = `{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"processing"}]}` + "\n"
)

func (f *bulkFake) standardFiles() {
	f.files["/files/p1"] = ndjsonPatients
	f.files["/files/o1"] = ndjsonObs
	f.files["/files/e1"] = ndjsonIssues
}

// fakeSleep records the waits asked for and returns at once.
type fakeSleep struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (s *fakeSleep) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.waits = append(s.waits, d)
	s.mu.Unlock()
	return ctx.Err()
}

// bulkRequest exports the test Group, waiting with s, on a clock fixed at bulkNow.
func bulkRequest(s *fakeSleep) ExportRequest {
	return ExportRequest{Group: bulkGroup, sleep: s.sleep, now: func() time.Time { return bulkNow }}
}

// bulkNow is when the bulk tests run, as far as the client can tell.
var bulkNow = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

// checkBulkError asserts the exact message, the kind, and that neither the Group id nor
// the token shows.
func checkBulkError(t *testing.T, err error, want Kind, op, msg string) {
	t.Helper()
	checkError(t, err, want, op)
	if got := withOutcome(err); got != msg {
		t.Errorf("message\n got %q\nwant %q", got, msg)
	}
	if strings.Contains(withOutcome(err), bulkGroup) {
		t.Errorf("message leaks the Group id: %s", err)
	}
}

func TestExportAndDownload(t *testing.T) {
	f := newBulkFake(t)
	f.standardFiles()
	f.running = 2
	f.header.Set("Retry-After", "1")
	f.header.Set("X-Progress", "50% complete\r\n")
	rec := &recorder{}
	c := newClient(t, f.URL+"/fhir", func(cfg *Config) { cfg.Observer = rec })
	s := &fakeSleep{}
	req := bulkRequest(s)
	req.Types = []string{"Patient", "Observation"}
	var progress []ExportProgress
	req.OnProgress = func(p ExportProgress) { progress = append(progress, p) }

	res, err := c.Export(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if want := []time.Duration{time.Second, time.Second}; !slices.Equal(s.waits, want) {
		t.Errorf("waits %v, want %v (Retry-After: 1)", s.waits, want)
	}
	wantProgress := []ExportProgress{{1, "50% complete", time.Second}, {2, "50% complete", time.Second}}
	if !slices.Equal(progress, wantProgress) {
		t.Errorf("progress %+v, want %+v", progress, wantProgress)
	}
	if want := time.Date(2026, 3, 1, 10, 0, 0, 123e6, time.UTC); !res.TransactionTime.Equal(want) || !res.RequiresAccessToken || res.Polls != 3 {
		t.Errorf("result %+v", res)
	}
	var types []string
	for _, o := range res.Output {
		types = append(types, fmt.Sprintf("%s:%d", o.Type, o.Count))
	}
	if want := []string{"Patient:2", "Observation:2"}; !slices.Equal(types, want) || len(res.Errors) != 1 {
		t.Errorf("output %v, errors %d; want %v and 1", types, len(res.Errors), want)
	}

	dir := filepath.Join(t.TempDir(), "export")
	d, err := c.DownloadExport(context.Background(), res, dir, DownloadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := []DownloadedFile{
		{"Patient", filepath.Join(dir, "Patient-1.ndjson"), int64(len(ndjsonPatients)), 2},
		{"Observation", filepath.Join(dir, "Observation-1.ndjson"), int64(len(ndjsonObs)), 2},
	}
	if !slices.Equal(d.Files, want) {
		t.Errorf("files\n got %+v\nwant %+v", d.Files, want)
	}
	wantErr := []DownloadedFile{{"OperationOutcome", filepath.Join(dir, "error-1.ndjson"), int64(len(ndjsonIssues)), 1}}
	if !slices.Equal(d.ErrorFiles, wantErr) || d.Issues() != 1 {
		t.Errorf("error files %+v, issues %d; want %+v, 1", d.ErrorFiles, d.Issues(), wantErr)
	}
	for path, body := range map[string]string{want[0].Path: ndjsonPatients, want[1].Path: ndjsonObs, wantErr[0].Path: ndjsonIssues} {
		got, err := os.ReadFile(path)
		if err != nil || string(got) != body {
			t.Errorf("%s holds %q (%v), want %q", path, got, err, body)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 3 {
		t.Errorf("dir holds %d entries, want the 3 files (no .part left)", len(entries))
	}

	// The protocol as sent: every request with the token (the manifest requires it), the
	// kick-off async, then the job deleted.
	hits := f.seen()
	var order []string
	for _, h := range hits {
		order = append(order, h.String())
		if h.auth != "Bearer "+token {
			t.Errorf("%s: Authorization %q", h, h.auth)
		}
	}
	slices.Sort(order[4:7]) // the downloads run concurrently
	wantOrder := []string{"GET /fhir/Group/" + bulkGroup + "/$export", "GET /jobs/7", "GET /jobs/7", "GET /jobs/7",
		"GET /files/e1", "GET /files/o1", "GET /files/p1", "DELETE /jobs/7"}
	if !slices.Equal(order, wantOrder) {
		t.Errorf("requests\n got %v\nwant %v", order, wantOrder)
	}
	if k := hits[0]; k.prefer != "respond-async" || k.accept != "application/fhir+json" {
		t.Errorf("kick-off Prefer %q, Accept %q", k.prefer, k.accept)
	}
	if hits[1].accept != "application/json" || hits[4].accept != "application/fhir+ndjson" {
		t.Errorf("status Accept %q, file Accept %q", hits[1].accept, hits[4].accept)
	}

	// The Observer sees "Bulk" or the file's type, never a URL.
	events := rec.take()
	slices.Sort(events)
	wantEvents := []string{"request Bulk 2xx", "request Bulk 2xx", "request Bulk 2xx", "request Bulk 2xx", "request Bulk 2xx",
		"request Observation 2xx", "request OperationOutcome 2xx", "request Patient 2xx"}
	if !slices.Equal(events, wantEvents) {
		t.Errorf("observer events\n got %v\nwant %v", events, wantEvents)
	}
}

func TestExportKickOffParameters(t *testing.T) {
	since := time.Date(2025, 1, 2, 3, 4, 5, 0, time.FixedZone("", 3600))
	tests := []struct {
		name      string
		req       ExportRequest
		path      string
		wantQuery url.Values
	}{
		{"group, types, filters, since",
			ExportRequest{Group: bulkGroup, Types: []string{"Patient", "Observation"},
				TypeFilters: []string{"Observation?code=http://loinc.org|2160-0,http://loinc.org|718-7", "Observation?category=laboratory&date=ge2024-01-01"}, Since: since},
			"/fhir/Group/" + bulkGroup + "/$export",
			url.Values{"_outputFormat": {"application/fhir+ndjson"}, "_type": {"Patient,Observation"},
				"_typeFilter": {"Observation?code=http://loinc.org|2160-0,http://loinc.org|718-7", "Observation?category=laboratory&date=ge2024-01-01"},
				"_since":      {"2025-01-02T02:04:05Z"}}},
		{"system level", ExportRequest{}, "/fhir/$export", url.Values{"_outputFormat": {"application/fhir+ndjson"}}},
		{"patient level", ExportRequest{Patient: true, Types: []string{"Condition"}}, "/fhir/Patient/$export",
			url.Values{"_outputFormat": {"application/fhir+ndjson"}, "_type": {"Condition"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newBulkFake(t)
			f.manifest = manifestJSON(true, nil, nil)
			c := newClient(t, f.URL+"/fhir", nil)
			tt.req.sleep = (&fakeSleep{}).sleep
			if _, err := c.Export(context.Background(), tt.req); err != nil {
				t.Fatal(err)
			}
			k := f.seen()[0]
			if k.path != tt.path {
				t.Errorf("path %q, want %q", k.path, tt.path)
			}
			if fmt.Sprint(k.query) != fmt.Sprint(tt.wantQuery) {
				t.Errorf("query\n got %v\nwant %v", k.query, tt.wantQuery)
			}
		})
	}
}

func TestExportRequestInvalid(t *testing.T) {
	tests := []struct {
		name string
		req  ExportRequest
		msg  string
	}{
		{"group and patient", ExportRequest{Group: "g", Patient: true}, "fhirclient: export: give Group or Patient, not both"},
		{"group not an id", ExportRequest{Group: bulkGroup + "/../x"}, "fhirclient: export: Group is not a FHIR id (1-64 characters of A-Z, a-z, 0-9, '-', '.', and not '.' or '..' alone)"},
		{"bad type", ExportRequest{Types: []string{"Patient", "observation"}}, `fhirclient: export: Types[1] "observation" is not a FHIR resource type name`},
		{"filter without query", ExportRequest{TypeFilters: []string{"Observation"}}, "fhirclient: export: TypeFilters[0] is not a search of the form Type?params"},
		{"filter for a type not exported", ExportRequest{Types: []string{"Observation"}, TypeFilters: []string{"Observation?code=x", "Condition?code=y"}},
			"fhirclient: export: TypeFilters[1] is for Condition, which is not in Types"},
		{"filter with _include", ExportRequest{TypeFilters: []string{"Observation?code=x&_include=Observation:subject"}},
			"fhirclient: export: TypeFilters[0] uses _include; search result parameters are not allowed in _typeFilter"},
		{"negative poll wait", ExportRequest{MaxPollWait: -time.Second}, "fhirclient: export: MaxPollWait is -1s; want 0 (the default, 5m0s) or more"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newBulkFake(t)
			c := newClient(t, f.URL, nil)
			_, err := c.Export(context.Background(), tt.req)
			if err == nil || err.Error() != tt.msg {
				t.Errorf("error %v\nwant %s", err, tt.msg)
			}
			if n := f.server.hits.Load(); n != 0 {
				t.Errorf("the server got %d requests, want none", n)
			}
		})
	}
}

func TestExportKickOffErrors(t *testing.T) {
	leaky := outcome("error", "_typeFilter not supported for Group "+bulkGroup+" with "+token)
	tests := []struct {
		name     string
		kickOff  http.HandlerFunc
		kind     Kind
		msg      string
		kickOffs int
	}{
		{"400 with an OperationOutcome", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 400, leaky) }, KindRejected,
			"fhirclient: export Bulk: request rejected (HTTP 400); the server says: error: _typeFilter not supported for Group [redacted] with [redacted]", 1},
		{"401", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(401) }, KindAuth,
			"fhirclient: export Bulk: not authorized (HTTP 401)", 1},
		{"404: no such group", func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, 404, outcome("error", "Group/"+bulkGroup+" is not known"))
		}, KindNotFound,
			"fhirclient: export Bulk: not found (HTTP 404): the server has no such Group, or no $export here; the server says: error: Group/[redacted] is not known", 1},
		{"429 with a Retry-After over MaxRetryAfter", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "60")
			writeJSON(w, 429, outcome("error", "an export is already running"))
		}, KindThrottled,
			"fhirclient: export Bulk: throttled (HTTP 429): the server asks to retry after 1m0s, longer than MaxRetryAfter (10s); the server says: error: an export is already running", 1},
		{"500 retried, then failed", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 500, outcome("fatal", "export queue down")) }, KindUnavailable,
			"fhirclient: export Bulk: unavailable (HTTP 500, 3 attempts); the server says: fatal: export queue down", 3},
		{"200 instead of 202", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, `{"resourceType":"Bundle"}`) }, KindBadResponse,
			"fhirclient: export Bulk: bad response (HTTP 200): the server answered 200, not 202 Accepted: it did not start an asynchronous export", 1},
		{"202 without Content-Location", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(202) }, KindBadResponse,
			"fhirclient: export Bulk: bad response (HTTP 202): the server accepted the export but gave no Content-Location to poll", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newBulkFake(t)
			f.kickOff = tt.kickOff
			c := newClient(t, f.URL, nil)
			_, err := c.Export(context.Background(), bulkRequest(&fakeSleep{}))
			checkBulkError(t, err, tt.kind, opExport, tt.msg)
			if n := f.count("GET", "/Group/"+bulkGroup+"/$export"); n != tt.kickOffs {
				t.Errorf("%d kick-offs, want %d", n, tt.kickOffs)
			}
			if n := f.count("GET", "/jobs/7"); n != 0 {
				t.Errorf("%d status polls after a failed kick-off", n)
			}
		})
	}
}

func TestExportKickOffThrottledThenAccepted(t *testing.T) {
	f := newBulkFake(t)
	f.manifest = manifestJSON(true, nil, nil)
	var answered atomic.Bool
	f.kickOff = func(w http.ResponseWriter, r *http.Request) {
		if !answered.Swap(true) {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(429)
			return
		}
		w.Header().Set("Content-Location", f.URL+"/jobs/7")
		w.WriteHeader(202)
	}
	rec := &recorder{}
	c := newClient(t, f.URL, func(cfg *Config) { cfg.Observer = rec })
	if _, err := c.Export(context.Background(), bulkRequest(&fakeSleep{})); err != nil {
		t.Fatal(err)
	}
	if n := f.count("GET", "/Group/"+bulkGroup+"/$export"); n != 2 {
		t.Errorf("%d kick-offs, want 2", n)
	}
	if ev := rec.take(); !slices.Contains(ev, "retry Bulk") {
		t.Errorf("observer saw no retry: %v", ev)
	}
}

func TestExportStatusURLOnAnotherOrigin(t *testing.T) {
	foreign := newServer(t, nil)
	f := newBulkFake(t)
	f.kickOff = func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Location", foreign.URL+"/jobs/7")
		w.WriteHeader(202)
	}
	c := newClient(t, f.URL, nil)
	_, err := c.Export(context.Background(), bulkRequest(&fakeSleep{}))
	u, _ := url.Parse(foreign.URL)
	checkBulkError(t, err, KindBadResponse, opExport,
		"fhirclient: export Bulk: bad response (HTTP 202): the status URL (Content-Location) points to another origin (http://"+u.Host+"); not followed")
	if n := foreign.hits.Load(); n != 0 {
		t.Errorf("the other origin got %d requests", n)
	}
}

func TestExportPollWaits(t *testing.T) {
	date := bulkNow.Add(30 * time.Second).Format(http.TimeFormat)
	tests := []struct {
		name       string
		retryAfter string
		maxWait    time.Duration
		running    int
		want       func(waits []time.Duration) bool
		wantText   string
	}{
		{"seconds", "3", 0, 2, eqWaits(3*time.Second, 3*time.Second), "3s, 3s"},
		{"none: a backoff from a second", "", 0, 4, eqWaits(time.Second, 2*time.Second, 4*time.Second, 8*time.Second), "1s, 2s, 4s, 8s"},
		{"backoff capped", "", 3 * time.Second, 3, eqWaits(time.Second, 2*time.Second, 3*time.Second), "1s, 2s, 3s"},
		{"zero is at least a second", "0", 0, 1, eqWaits(time.Second), "1s"},
		{"over MaxPollWait: cut to it", "3600", 2 * time.Minute, 1, eqWaits(2 * time.Minute), "2m"},
		{"HTTP date", date, 0, 1, eqWaits(30 * time.Second), "30s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newBulkFake(t)
			f.manifest = manifestJSON(true, nil, nil)
			f.running = tt.running
			if tt.retryAfter != "" {
				f.header.Set("Retry-After", tt.retryAfter)
			}
			c := newClient(t, f.URL, nil)
			s := &fakeSleep{}
			req := bulkRequest(s)
			req.MaxPollWait = tt.maxWait
			if _, err := c.Export(context.Background(), req); err != nil {
				t.Fatal(err)
			}
			if !tt.want(s.waits) {
				t.Errorf("waits %v, want %s", s.waits, tt.wantText)
			}
		})
	}
}

func eqWaits(want ...time.Duration) func([]time.Duration) bool {
	return func(got []time.Duration) bool { return slices.Equal(got, want) }
}

func TestExportPollErrors(t *testing.T) {
	tests := []struct {
		name    string
		status  http.HandlerFunc
		kind    Kind
		msg     string
		deleted bool // the abandoned job is deleted
	}{
		{"404: job expired", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 404, outcome("error", "no job")) }, KindNotFound,
			"fhirclient: export status Bulk: not found (HTTP 404): the export job has expired or was deleted on the server; run the export again; the server says: error: no job", false},
		{"410: job deleted", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(410) }, KindNotFound,
			"fhirclient: export status Bulk: not found (HTTP 410): the export job has expired or was deleted on the server; run the export again", false},
		{"500: export failed, after retries", func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, 500, outcome("fatal", "export of Group "+bulkGroup+" failed"))
		}, KindUnavailable,
			"fhirclient: export status Bulk: unavailable (HTTP 500, 3 attempts); the server says: fatal: export of Group [redacted] failed", true},
		{"400 with an OperationOutcome", func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, 400, outcome("error", "unsupported _since"))
		}, KindRejected,
			"fhirclient: export status Bulk: request rejected (HTTP 400); the server says: error: unsupported _since", true},
		{"manifest not JSON", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, "<html>done</html>")
		}, KindBadResponse,
			"fhirclient: export status Bulk: bad response (HTTP 200): the manifest: malformed JSON at byte 1: invalid character '<' looking for beginning of value", true},
		{"manifest as HTML", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, "<html>done</html>")
		}, KindBadResponse,
			"fhirclient: export status Bulk: bad response (HTTP 200): the manifest: the response Content-Type is text/html; want application/fhir+json or application/json", true},
		{"manifest without requiresAccessToken", func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, 200, `{"transactionTime":"2026-03-01T10:00:00Z","output":[]}`)
		}, KindBadResponse,
			"fhirclient: export status Bulk: bad response (HTTP 200): the manifest does not say whether its files need the access token (requiresAccessToken)", true},
		{"manifest output without type", func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, 200, `{"transactionTime":"2026-03-01T10:00:00Z","requiresAccessToken":true,"output":[{"url":"http://127.0.0.1/f"}]}`)
		}, KindBadResponse,
			"fhirclient: export status Bulk: bad response (HTTP 200): the manifest's output[0] has no FHIR resource type", true},
		{"manifest output with a relative URL", func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, 200, `{"transactionTime":"2026-03-01T10:00:00Z","requiresAccessToken":true,"output":[{"type":"Patient","url":"/files/p1"}]}`)
		}, KindBadResponse,
			"fhirclient: export status Bulk: bad response (HTTP 200): the manifest's output[0] (Patient) has no absolute http(s) URL", true},
		{"manifest field of the wrong type", func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, 200, `{"transactionTime":"2026-03-01T10:00:00Z","requiresAccessToken":"yes"}`)
		}, KindBadResponse,
			"fhirclient: export status Bulk: bad response (HTTP 200): the manifest's requiresAccessToken is not a bool", true},
		{"manifest with a bad transactionTime", func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, 200, `{"transactionTime":"yesterday","requiresAccessToken":true}`)
		}, KindBadResponse,
			"fhirclient: export status Bulk: bad response (HTTP 200): the manifest's transactionTime is not a FHIR instant", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newBulkFake(t)
			f.status = tt.status
			c := newClient(t, f.URL, nil)
			_, err := c.Export(context.Background(), bulkRequest(&fakeSleep{}))
			checkBulkError(t, err, tt.kind, opStatus, tt.msg)
			if got := f.count("DELETE", "/jobs/7") == 1; got != tt.deleted {
				t.Errorf("job deleted: %v, want %v", got, tt.deleted)
			}
		})
	}
}

func TestExportPollRetriedLikeAGet(t *testing.T) {
	f := newBulkFake(t)
	f.manifest = manifestJSON(true, nil, nil)
	var n atomic.Int32
	f.status = func(w http.ResponseWriter, r *http.Request) {
		switch n.Add(1) {
		case 1:
			w.WriteHeader(503)
		case 2:
			w.WriteHeader(202)
		default:
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, f.manifest)
		}
	}
	c := newClient(t, f.URL, nil)
	res, err := c.Export(context.Background(), bulkRequest(&fakeSleep{}))
	if err != nil {
		t.Fatal(err)
	}
	if res.Polls != 2 || n.Load() != 3 {
		t.Errorf("polls %d, status requests %d; want 2 polls in 3 requests (the 503 retried)", res.Polls, n.Load())
	}
}

func TestExportRetryAfterPastTheDeadline(t *testing.T) {
	f := newBulkFake(t)
	f.running = 100
	f.header.Set("Retry-After", "120")
	c := newClient(t, f.URL, nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s := &fakeSleep{}
	_, err := c.Export(ctx, bulkRequest(s))
	checkBulkError(t, err, KindUnavailable, opStatus,
		"fhirclient: export status Bulk: unavailable (HTTP 202): the export is still running after 1 status request and the next is due in 2m0s, after the deadline; stopped")
	if len(s.waits) != 0 {
		t.Errorf("waited %v before failing", s.waits)
	}
	if f.count("DELETE", "/jobs/7") != 1 {
		t.Error("the abandoned job was not deleted")
	}
}

func TestExportCanceledWhileWaiting(t *testing.T) {
	f := newBulkFake(t)
	f.running = 100
	c := newClient(t, f.URL, nil)
	ctx, cancel := context.WithCancel(context.Background())
	req := bulkRequest(nil)
	req.sleep = func(context.Context, time.Duration) error { cancel(); return context.Canceled }
	_, err := c.Export(ctx, req)
	checkBulkError(t, err, KindUnavailable, opStatus,
		"fhirclient: export status Bulk: unavailable: canceled while waiting to poll the export's status: context canceled")
	if f.count("DELETE", "/jobs/7") != 1 {
		t.Error("the abandoned job was not deleted")
	}
}

// exportOf runs an export against f and returns its result.
func exportOf(t *testing.T, c *Client) *ExportResult {
	t.Helper()
	res, err := c.Export(context.Background(), bulkRequest(&fakeSleep{}))
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestDownloadErrors(t *testing.T) {
	tests := []struct {
		name string
		file http.HandlerFunc // for /files/o1; the others are served
		opt  DownloadOptions
		kind Kind
		msg  string
	}{
		{"404: expired", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(404) }, DownloadOptions{}, KindNotFound,
			"fhirclient: export download Observation: not found (HTTP 404): the export's file for Observation has expired or is gone; run the export again"},
		{"410: expired", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 410, outcome("error", "gone")) }, DownloadOptions{}, KindNotFound,
			"fhirclient: export download Observation: not found (HTTP 410): the export's file for Observation has expired or is gone; run the export again; the server says: error: gone"},
		{"403: link expired", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(403) }, DownloadOptions{}, KindAuth,
			"fhirclient: export download Observation: not authorized (HTTP 403): access to the export's file for Observation is refused: its link may have expired; run the export again"},
		{"larger than MaxFileBytes, with Content-Length", func(w http.ResponseWriter, r *http.Request) {
			body := strings.Repeat(ndjsonObs+"\n", 5)
			w.Header().Set("Content-Length", fmt.Sprint(len(body)))
			fmt.Fprint(w, body)
		}, DownloadOptions{MaxFileBytes: 100}, KindBadResponse,
			"fhirclient: export download Observation: bad response (HTTP 200): the export's file for Observation is larger than MaxFileBytes (100 bytes)"},
		{"larger than MaxFileBytes, streamed", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/fhir+ndjson")
			for range 5 {
				fmt.Fprint(w, ndjsonObs+"\n")
				w.(http.Flusher).Flush() // chunked: no Content-Length to judge by
			}
		}, DownloadOptions{MaxFileBytes: 100}, KindBadResponse,
			"fhirclient: export download Observation: bad response (HTTP 200): the export's file for Observation is larger than MaxFileBytes (100 bytes)"},
		{"an HTML page", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprint(w, "<html>log in</html>")
		}, DownloadOptions{}, KindBadResponse,
			"fhirclient: export download Observation: bad response (HTTP 200): the export's file for Observation: its Content-Type is text/html; want application/fhir+ndjson"},
		{"slower than the Timeout, retried, then failed", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/fhir+ndjson")
			fmt.Fprint(w, ndjsonObs[:10])
			w.(http.Flusher).Flush()
			<-r.Context().Done() // the rest never comes
		}, DownloadOptions{Timeout: 200 * time.Millisecond}, KindUnavailable,
			"fhirclient: export download Observation: unavailable (HTTP 200, 3 attempts): the export's file for Observation was not read within DownloadOptions.Timeout (200ms); 10 bytes came"},
		{"fewer resources than the manifest counts, retried, then failed", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/fhir+ndjson")
			fmt.Fprint(w, `{"resourceType":"Observation","id":"o1"}`+"\n") // the manifest says 2
		}, DownloadOptions{}, KindBadResponse,
			"fhirclient: export download Observation: bad response (HTTP 200, 3 attempts): the export's file for Observation holds 1 resources; the manifest says 2: it is incomplete"},
		{"500 retried, then failed", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }, DownloadOptions{}, KindUnavailable,
			"fhirclient: export download Observation: unavailable (HTTP 500, 3 attempts)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newBulkFake(t)
			f.standardFiles()
			f.file = func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/files/o1" && tt.file != nil {
					tt.file(w, r)
					return
				}
				w.Header().Set("Content-Type", "application/fhir+ndjson")
				fmt.Fprint(w, f.files[r.URL.Path])
			}
			c := newClient(t, f.URL, nil)
			res := exportOf(t, c)
			dir := t.TempDir()
			_, err := c.DownloadExport(context.Background(), res, dir, tt.opt)
			checkBulkError(t, err, tt.kind, opDownload+"Observation", tt.msg)
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("the failed download left %d files in the directory", len(entries))
			}
			if f.count("DELETE", "/jobs/7") != 0 {
				t.Error("the job was deleted though its files were not all fetched")
			}
		})
	}
}

func TestDownloadCutOffIsRetriedFromTheStart(t *testing.T) {
	f := newBulkFake(t)
	f.standardFiles()
	var cutDone atomic.Bool
	f.file = func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/fhir+ndjson")
		body := f.files[r.URL.Path]
		if r.URL.Path == "/files/o1" && !cutDone.Swap(true) {
			w.Header().Set("Content-Length", fmt.Sprint(len(body)))
			fmt.Fprint(w, body[:10])
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler) // the connection drops mid-file
		}
		fmt.Fprint(w, body)
	}
	c := newClient(t, f.URL, func(cfg *Config) { cfg.MaxConcurrent = 1 })
	dir := t.TempDir()
	d, err := c.DownloadExport(context.Background(), exportOf(t, c), dir, DownloadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(filepath.Join(dir, "Observation-1.ndjson"))
	if string(got) != ndjsonObs || d.Files[1].Bytes != int64(len(ndjsonObs)) {
		t.Errorf("file holds %q (%d bytes counted), want %q once", got, d.Files[1].Bytes, ndjsonObs)
	}
	if n := f.count("GET", "/files/o1"); n != 2 {
		t.Errorf("%d requests for the cut file, want 2", n)
	}
}

func TestDownloadTokenGoesOnlyWhereItMay(t *testing.T) {
	foreignHits := make(chan string, 10) // Authorization headers the other origin saw
	foreign := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		foreignHits <- r.Header.Get("Authorization")
		w.Header().Set("Content-Type", "application/octet-stream") // as cloud storage serves it
		fmt.Fprint(w, ndjsonObs)
	})
	fu, _ := url.Parse(foreign.URL)
	tests := []struct {
		name          string
		requiresToken bool
		msg           string // "": downloaded
		wantAuth      string // what the FHIR server's own file saw
	}{
		{"token required: the other origin is refused", true,
			"fhirclient: export download Observation: bad response: the export's file for Observation is on another origin (http://" + fu.Host +
				") and the manifest says it needs the access token, which goes to the FHIR server only; not downloaded", ""},
		{"no token required: fetched without it, on both origins", false, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newBulkFake(t)
			f.standardFiles()
			f.manifest = manifestJSON(tt.requiresToken, [][2]string{{"Patient", f.URL + "/files/p1"}, {"Observation", foreign.URL + "/o1"}}, nil)
			c := newClient(t, f.URL, nil)
			dir := t.TempDir()
			d, err := c.DownloadExport(context.Background(), exportOf(t, c), dir, DownloadOptions{})
			if tt.msg != "" {
				checkBulkError(t, err, KindBadResponse, opDownload+"Observation", tt.msg)
				if n := f.count("GET", "/files/p1"); n != 0 {
					t.Errorf("the refusal came after %d downloads; want it before any", n)
				}
				select {
				case auth := <-foreignHits:
					t.Errorf("the other origin got a request (Authorization %q)", auth)
				default:
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(d.Files) != 2 {
				t.Fatalf("files %+v", d.Files)
			}
			if auth := <-foreignHits; auth != "" {
				t.Errorf("the other origin saw Authorization %q", auth)
			}
			for _, h := range f.seen() {
				if h.path == "/files/p1" && h.auth != "" {
					t.Errorf("a file that needs no token was sent one: %q", h.auth)
				}
			}
		})
	}
}

func TestDownloadRefusesToOverwrite(t *testing.T) {
	f := newBulkFake(t)
	f.standardFiles()
	c := newClient(t, f.URL, nil)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Observation-1.ndjson"), []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := c.DownloadExport(context.Background(), exportOf(t, c), dir, DownloadOptions{})
	want := "fhirclient: export download: Observation-1.ndjson already exists in the directory; give an empty one"
	if err == nil || err.Error() != want {
		t.Errorf("error %v\nwant %s", err, want)
	}
	if n := f.count("GET", "/files/p1"); n != 0 {
		t.Errorf("%d downloads before the refusal", n)
	}
}

func TestDownloadNeedsAnExport(t *testing.T) {
	c := newClient(t, "http://127.0.0.1:1", nil)
	tests := []struct {
		name string
		res  *ExportResult
		opt  DownloadOptions
		msg  string
	}{
		{"no result", nil, DownloadOptions{}, "fhirclient: export download: give the result of Export"},
		{"negative cap", &ExportResult{}, DownloadOptions{MaxFileBytes: -1}, "fhirclient: export download: DownloadOptions.MaxFileBytes and Timeout must be 0 (the default) or more"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.DownloadExport(context.Background(), tt.res, t.TempDir(), tt.opt)
			if err == nil || err.Error() != tt.msg {
				t.Errorf("error %v\nwant %s", err, tt.msg)
			}
			var e *Error
			if errors.As(err, &e) {
				t.Errorf("a caller's mistake is not an *Error: %v", e)
			}
		})
	}
}
