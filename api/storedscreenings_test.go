package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"

	"github.com/trialscreen/trialscreen/store"
)

// openStore opens a fresh store: SQLite in a temporary directory, or the PostgreSQL
// database url names. It is closed when the test ends.
func openStore(t testing.TB, url string) *store.Store {
	t.Helper()
	cfg := store.Config{DataDir: t.TempDir(), Now: fixedClock(testNow)}
	if url != "" {
		cfg = store.Config{DatabaseURL: url, Now: fixedClock(testNow)}
	}
	st, err := store.Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// withStore configures a Server to store its screenings and jtis in st, and to read its
// worklist from there.
func withStore(st *store.Store) func(*Config) {
	return func(c *Config) { c.Screenings, c.Worklist, c.JTIs = st, st, st }
}

// storedDoc is the part of a verdict document these tests read.
type storedDoc struct {
	ScreeningID string `json:"screening_id"`
	Stored      *bool  `json:"stored"`
	Verdict     string `json:"verdict"`
	Patient     struct {
		ID string `json:"id"`
	} `json:"patient"`
}

func docOf(t *testing.T, body []byte) storedDoc {
	t.Helper()
	var d storedDoc
	if err := json.Unmarshal(body, &d); err != nil {
		t.Fatalf("not a verdict document: %v: %.200s", err, body)
	}
	return d
}

// Every REST screening is stored; its document names the id, and GET /v1/screenings/{id}
// gives back the same document, audited.
func TestStoredScreeningReadBack(t *testing.T) {
	env := newRESTEnv(t, withStore(openStore(t, "")))
	rec := env.do(t, http.MethodGet, "/v1/patients/demo-candidate/screening", nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("screening: %d %s", rec.Code, rec.Body)
	}
	d := docOf(t, rec.Body.Bytes())
	if d.ScreeningID == "" || d.Stored == nil || !*d.Stored {
		t.Fatalf("screening_id %q, stored %v; want an id and true", d.ScreeningID, d.Stored)
	}
	auditsBefore := len(env.auditLines())
	got := env.do(t, http.MethodGet, "/v1/screenings/"+d.ScreeningID, nil)
	if got.Code != http.StatusOK || got.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("GET stored: %d %q %s", got.Code, got.Header().Get("Content-Type"), got.Body)
	}
	var answered, stored any
	_ = json.Unmarshal(rec.Body.Bytes(), &answered)
	_ = json.Unmarshal(got.Body.Bytes(), &stored)
	if diff := cmp.Diff(answered, stored); diff != "" {
		t.Errorf("stored document differs from the answer (-answered +stored):\n%s", diff)
	}
	lines := env.auditLines()
	if len(lines) != auditsBefore+1 || !strings.Contains(lines[len(lines)-1], d.ScreeningID) || !strings.Contains(lines[len(lines)-1], "demo-candidate") {
		t.Errorf("reading a stored screening wrote no audit record naming it and the patient:\n%s", lines[len(lines)-1])
	}
}

// POST screenings are stored too, and a patient's list is newest first, paged.
func TestPatientScreeningsListed(t *testing.T) {
	env := newRESTEnv(t, withStore(openStore(t, "")))
	var ids []string
	for _, how := range []string{"get", "post", "get"} {
		var rec *httptest.ResponseRecorder
		if how == "get" {
			rec = env.do(t, http.MethodGet, "/v1/patients/demo-ineligible-labs/screening", nil)
		} else {
			rec = env.postJSON(t, `{"patient_id": "demo-ineligible-labs"}`)
		}
		d := docOf(t, rec.Body.Bytes())
		if d.ScreeningID == "" {
			t.Fatalf("%s: no screening_id: %s", how, rec.Body)
		}
		ids = append([]string{d.ScreeningID}, ids...) // newest first
	}
	env.do(t, http.MethodGet, "/v1/patients/demo-candidate/screening", nil) // another patient's
	var listed []string
	cursor := ""
	for page := 0; ; page++ {
		target := "/v1/patients/demo-ineligible-labs/screenings?limit=2"
		if cursor != "" {
			target += "&cursor=" + cursor
		}
		rec := env.do(t, http.MethodGet, target, nil)
		if rec.Code != http.StatusOK {
			t.Fatalf("list: %d %s", rec.Code, rec.Body)
		}
		var l screeningList
		if err := json.Unmarshal(rec.Body.Bytes(), &l); err != nil {
			t.Fatal(err)
		}
		for _, it := range l.Screenings {
			listed = append(listed, it.ID)
			if it.Verdict != "ineligible" || it.Surface != surfaceREST || it.Created.IsZero() {
				t.Errorf("item %+v", it)
			}
		}
		if l.NextCursor == "" {
			break
		}
		if page > 3 {
			t.Fatal("paging does not end")
		}
		cursor = l.NextCursor
	}
	if diff := cmp.Diff(ids, listed); diff != "" {
		t.Errorf("listed (-want +got):\n%s", diff)
	}
}

// The stored-screening routes' errors: each names what is wrong.
func TestStoredScreeningErrors(t *testing.T) {
	st := openStore(t, "")
	env := newRESTEnv(t, withStore(st))
	tokens, err := NewStaticTokens(map[string]string{"portal": "portal-secret-00001"})
	if err != nil {
		t.Fatal(err)
	}
	authed := newRESTEnv(t, func(c *Config) { withStore(st)(c); c.Auth = tokens; c.Demo = false })
	unstored := newRESTEnv(t, nil)
	tests := []getProblemCase{
		{"unknown id", env, "/v1/screenings/AAAAAAAAAAAAAAAAAAAAAA", 404, "", "no stored screening has this id"},
		{"bad id", env, "/v1/screenings/a.b", 400, "id", ""},
		{"bad limit", env, "/v1/patients/demo-candidate/screenings?limit=101", 400, "limit", ""},
		{"limit not a number", env, "/v1/patients/demo-candidate/screenings?limit=x", 400, "limit", ""},
		{"bad cursor", env, "/v1/patients/demo-candidate/screenings?cursor=%21%21", 400, "cursor", ""},
		{"bad patient id", env, "/v1/patients/a_b/screenings", 400, "id", ""},
		{"unauthenticated get", authed, "/v1/screenings/AAAAAAAAAAAAAAAAAAAAAA", 401, "", ""},
		{"unauthenticated list", authed, "/v1/patients/demo-candidate/screenings", 401, "", ""},
		{"no store: get", unstored, "/v1/screenings/AAAAAAAAAAAAAAAAAAAAAA", 404, "", "this service does not store screenings"},
		{"no store: list", unstored, "/v1/patients/demo-candidate/screenings", 404, "", "this service does not store screenings"},
	}
	runGetProblems(t, tests)
	// Without a store, the verdict document is as the CLI prints it: no screening_id, no stored.
	rec := unstored.do(t, http.MethodGet, "/v1/patients/demo-candidate/screening", nil)
	if strings.Contains(rec.Body.String(), `"screening_id"`) || strings.Contains(rec.Body.String(), `"stored"`) {
		t.Errorf("a service without a store marks its documents: %.200s", rec.Body)
	}
}

// slowScreenings is a store that never answers in time: every call waits for its
// context to end.
type slowScreenings struct{}

func (slowScreenings) Save(ctx context.Context, _ store.Screening) error {
	<-ctx.Done()
	return ctx.Err()
}

func (slowScreenings) Get(ctx context.Context, _ string) (store.Screening, error) {
	<-ctx.Done()
	return store.Screening{}, ctx.Err()
}

func (slowScreenings) ListByPatient(ctx context.Context, _, _ string, _ int) (store.Page, error) {
	<-ctx.Done()
	return store.Page{}, ctx.Err()
}

// A store that is down or slow never fails a screening: the answer is 200 with "stored":
// false and no id, the failure is counted and logged, reads are a 503, and nothing is
// left running.
func TestStoreFailureDoesNotFailScreening(t *testing.T) {
	// Checked after every cleanup has closed the stores (cleanups run last-in first-out).
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
	closed := openStore(t, "")
	_ = closed.Close()
	tests := []struct {
		name  string
		mod   func(*Config)
		error string // in the log
	}{
		{"database closed", withStore(closed), "database is closed"},
		{"database slow", func(c *Config) { c.Screenings = slowScreenings{}; c.StoreTimeout = 50 * time.Millisecond }, "context deadline exceeded"},
		{"postgres unreachable", func(c *Config) {
			st, err := store.OpenUnmigrated(store.Config{DatabaseURL: "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=1"})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = st.Close() })
			c.Screenings = st
		}, "127.0.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newRESTEnv(t, tt.mod)
			rec := env.do(t, http.MethodGet, "/v1/patients/demo-candidate/screening", nil)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d, want 200: %s", rec.Code, rec.Body)
			}
			d := docOf(t, rec.Body.Bytes())
			if d.Stored == nil || *d.Stored || d.ScreeningID != "" || d.Verdict != "potentially-eligible" {
				t.Errorf("stored %v, screening_id %q, verdict %q; want false, none, potentially-eligible", d.Stored, d.ScreeningID, d.Verdict)
			}
			m := env.s.cfg.Metrics.store
			if got := testutil.ToFloat64(m.errors.WithLabelValues(storeOpSave)); got != 1 {
				t.Errorf("trialscreen_store_errors_total{op=save} = %v, want 1", got)
			}
			if got := testutil.ToFloat64(m.up); got != 0 {
				t.Errorf("trialscreen_store_up = %v, want 0", got)
			}
			if !strings.Contains(env.log.String(), "screening answered but not stored") || !strings.Contains(env.log.String(), tt.error) {
				t.Errorf("log lacks the failure (%q):\n%s", tt.error, env.log)
			}
			if strings.Contains(env.log.String(), "demo-candidate") {
				t.Errorf("the log names the patient:\n%s", env.log)
			}
			get := env.do(t, http.MethodGet, "/v1/screenings/AAAAAAAAAAAAAAAAAAAAAA", nil)
			if p := problemOf(t, get); p.Status != http.StatusServiceUnavailable || p.Title != "The screening store is unavailable" {
				t.Errorf("GET stored with the store down: %+v", p)
			}
		})
	}
}

// Two replicas sharing one PostgreSQL database: a screening stored by one is read by id
// and listed on the other, and a CDS Hooks token used on one is refused on the other.
func TestTwoReplicasShareOneDatabase(t *testing.T) {
	url := pg.Database(t)
	key := newCDSTestKeyEC(t, "shared-key")
	client := &CDSClient{Issuer: cdsTestIssuer, JWKS: cdsTestJWKS(key)}
	replica := func() *cdsTestEnv {
		return newCDSTestEnv(t, cdsTestConfig{client: client, mod: withStore(openStore(t, url))})
	}
	a, b := replica(), replica()

	rec := httptestDo(a.h, http.MethodPost, "/v1/screenings", `{"patient_id": "demo-insufficient-data"}`)
	d := docOf(t, rec.Body.Bytes())
	if d.ScreeningID == "" {
		t.Fatalf("replica a stored nothing: %s", rec.Body)
	}
	got := httptestDo(b.h, http.MethodGet, "/v1/screenings/"+d.ScreeningID, "")
	if got.Code != http.StatusOK || docOf(t, got.Body.Bytes()).ScreeningID != d.ScreeningID {
		t.Fatalf("replica b reading a's screening: %d %.200s", got.Code, got.Body)
	}
	list := httptestDo(b.h, http.MethodGet, "/v1/patients/demo-insufficient-data/screenings", "")
	if !strings.Contains(list.Body.String(), d.ScreeningID) {
		t.Errorf("replica b's list lacks a's screening: %s", list.Body)
	}

	tok := key.token(t, nil)
	body := cdsHookBody("demo-candidate", cdsDemoPrefetch(t, "candidate"))
	status, resp, _ := a.post(t, tok, body)
	card := cdsOneCard(t, status, resp)
	status, resp, _ = b.post(t, tok, body)
	if status != http.StatusUnauthorized {
		t.Fatalf("the token replayed to replica b: status %d %s; want 401", status, resp)
	}
	if !strings.Contains(b.logs.String(), "jti was already used (replay)") {
		t.Errorf("replica b's log lacks the replay:\n%s", b.logs)
	}
	// The CDS screening was stored too, with its surface.
	page := httptestDo(b.h, http.MethodGet, "/v1/patients/demo-candidate/screenings", "")
	if !strings.Contains(page.Body.String(), `"surface":"cds-hooks"`) {
		t.Errorf("the card's screening (%s) is not listed as cds-hooks: %s", card.UUID, page.Body)
	}
}

// httptestDo sends one request to h; a body is JSON.
func httptestDo(h http.Handler, method, target, body string) *httptest.ResponseRecorder {
	var req *http.Request
	if body != "" {
		req = httptest.NewRequest(method, target, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
	} else {
		req = httptest.NewRequest(method, target, nil)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// downJTIs is a jti store whose database is down.
type downJTIs struct{}

func (downJTIs) UseJTI(context.Context, string, string, time.Time) error {
	return errors.New("dial tcp 127.0.0.1:5432: connect: connection refused")
}

// With the shared jti store down, EHR calls still work, replays to this replica are still
// refused, and the failure is counted and logged.
func TestCDSJTIStoreDown(t *testing.T) {
	env := newCDSTestEnv(t, cdsTestConfig{mod: func(c *Config) { c.JTIs = downJTIs{} }})
	tok := env.key.token(t, nil)
	body := cdsHookBody("demo-candidate", cdsDemoPrefetch(t, "candidate"))
	status, resp, _ := env.post(t, tok, body)
	cdsOneCard(t, status, resp)
	if status, _, _ = env.post(t, tok, body); status != http.StatusUnauthorized {
		t.Errorf("replay to the same replica with the store down: status %d, want 401", status)
	}
	if got := testutil.ToFloat64(env.s.cfg.Metrics.store.errors.WithLabelValues(storeOpJTI)); got != 2 {
		t.Errorf("trialscreen_store_errors_total{op=jti} = %v, want 2", got)
	}
	if !strings.Contains(env.logs.String(), "cds jti store failed: checking replays on this replica only") {
		t.Errorf("log lacks the store failure:\n%s", env.logs)
	}
}

// A coordinator's report page is a screening too: stored, with its surface.
func TestReportPageScreeningStored(t *testing.T) {
	env := newRESTEnv(t, withStore(openStore(t, "")))
	rec := env.do(t, http.MethodGet, "/v1/patients/demo-candidate/screening", nil, "Accept", "text/html")
	if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("report page: %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	list := env.do(t, http.MethodGet, "/v1/patients/demo-candidate/screenings", nil)
	var l screeningList
	if err := json.Unmarshal(list.Body.Bytes(), &l); err != nil || len(l.Screenings) != 1 || l.Screenings[0].Surface != surfaceReport {
		t.Errorf("list after a report page: %v %s; want one screening, surface report", err, list.Body)
	}
}

// getProblemCase is a GET that must be refused with a problem document: its status, the
// field it names ("" for none) and, when given, its detail word for word.
type getProblemCase struct {
	name   string
	env    *restEnv
	target string
	status int
	field  string
	detail string
}

func runGetProblems(t *testing.T, tests []getProblemCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := tt.env.do(t, http.MethodGet, tt.target, nil)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.status, rec.Body)
			}
			p := problemOf(t, rec)
			if p.Field != tt.field || (tt.detail != "" && p.Detail != tt.detail) {
				t.Errorf("problem %+v; want field %q, detail %q", p, tt.field, tt.detail)
			}
		})
	}
}
