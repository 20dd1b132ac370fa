package api

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/trialscreen/trialscreen/demo"
	"github.com/trialscreen/trialscreen/protocols"
	"github.com/trialscreen/trialscreen/screening"
)

var demoIDs = []string{"demo-candidate", "demo-ineligible-exclusion", "demo-ineligible-labs", "demo-insufficient-data"} // id order

// newBatchEnv is a demo service whose batches are stopped when the test ends.
func newBatchEnv(t *testing.T, mod func(*Config)) *restEnv {
	t.Helper()
	env := newRESTEnv(t, mod)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := env.s.CloseBatches(ctx); err != nil {
			t.Errorf("CloseBatches: %v", err)
		}
	})
	return env
}

func (e *restEnv) postBatch(t *testing.T, body string, headers ...string) *httptest.ResponseRecorder {
	t.Helper()
	return e.do(t, http.MethodPost, "/v1/batches", strings.NewReader(body), append([]string{"Content-Type", "application/json"}, headers...)...)
}

// batchOf decodes a status document and checks the headers every status answer has.
func batchOf(t *testing.T, rec *httptest.ResponseRecorder, wantCode int) batchStatus {
	t.Helper()
	if rec.Code != wantCode {
		t.Fatalf("status %d, want %d; body %s", rec.Code, wantCode, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q, want application/json", ct)
	}
	var st batchStatus
	dec := json.NewDecoder(bytes.NewReader(rec.Body.Bytes()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&st); err != nil {
		t.Fatalf("not a batch status: %v\n%s", err, rec.Body)
	}
	retry := rec.Header().Get("Retry-After")
	if final := st.State == batchDone || st.State == batchFailed || st.State == batchCancelled; final && retry != "" {
		t.Errorf("state %s with Retry-After %q: a final state is not polled", st.State, retry)
	} else if !final && retry != "2" {
		t.Errorf("state %s with Retry-After %q, want 2", st.State, retry)
	}
	return st
}

// createBatch posts a batch and checks the 202 and its Location.
func createBatch(t *testing.T, env *restEnv, body string, headers ...string) batchStatus {
	t.Helper()
	rec := env.postBatch(t, body, headers...)
	st := batchOf(t, rec, http.StatusAccepted)
	if loc := rec.Header().Get("Location"); loc != "/v1/batches/"+st.ID {
		t.Errorf("Location %q, want /v1/batches/%s", loc, st.ID)
	}
	if !regexp.MustCompile(`^[A-Z2-7]{26}$`).MatchString(st.ID) { // 128 random bits
		t.Errorf("batch id %q is not 26 base32 characters", st.ID)
	}
	if st.State != batchQueued && st.State != batchRunning {
		t.Errorf("state %q right after creation, want queued or running", st.State)
	}
	return st
}

// waitBatch polls a batch until its state is want (failing on another final state).
func waitBatch(t *testing.T, env *restEnv, id, want string, headers ...string) batchStatus {
	t.Helper()
	timeout := time.After(30 * time.Second) // a guard against a hang, not a timing
	for {
		st := batchOf(t, env.do(t, http.MethodGet, "/v1/batches/"+id, nil, headers...), http.StatusOK)
		if st.State == want {
			return st
		}
		if st.State != batchQueued && st.State != batchRunning {
			t.Fatalf("state %s (%s), want %s", st.State, st.Error, want)
		}
		select {
		case <-timeout:
			t.Fatalf("still %s after 30 s, want %s", st.State, want)
		case <-time.After(2 * time.Millisecond):
		}
	}
}

// wantProblem checks a problem answer exactly.
func wantProblem(t *testing.T, rec *httptest.ResponseRecorder, want Problem) {
	t.Helper()
	if rec.Code != want.Status {
		t.Fatalf("status %d, want %d; body %s", rec.Code, want.Status, rec.Body)
	}
	want.Type = "about:blank"
	if got := problemOf(t, rec); got != want {
		t.Errorf("problem\n got %+v\nwant %+v", got, want)
	}
}

// batchAudit is what a test reads of an audit record.
type batchAudit struct {
	Outcome, Caller, Patient string
	Details                  map[string]string
}

func batchAuditRecords(t *testing.T, env *restEnv) []batchAudit {
	t.Helper()
	var out []batchAudit
	for _, line := range env.auditLines() {
		if line == "" {
			continue
		}
		var ev struct {
			Outcome string `json:"outcome"`
			Agent   []struct {
				Who struct {
					Identifier struct{ Value string } `json:"identifier"`
				} `json:"who"`
			} `json:"agent"`
			Entity []struct {
				What   struct{ Reference string } `json:"what"`
				Detail []struct {
					Type        string `json:"type"`
					ValueString string `json:"valueString"`
				} `json:"detail"`
			} `json:"entity"`
		}
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("audit record: %v\n%s", err, line)
		}
		a := batchAudit{Outcome: ev.Outcome, Caller: ev.Agent[0].Who.Identifier.Value, Patient: ev.Entity[0].What.Reference, Details: map[string]string{}}
		for _, d := range ev.Entity[1].Detail {
			a.Details[d.Type] = d.ValueString
		}
		if a.Details["surface"] == surfaceBatch {
			out = append(out, a)
		}
	}
	return out
}

// A batch of the demo patients gives, per patient, exactly the document a single
// screening gives, plus its summary and funnel; every fetch is audited and counted.
func TestBatchScreensLikeSinglePatient(t *testing.T) {
	env := newBatchEnv(t, nil)
	const asOf, ld = "2026-11-21T00:00:00Z", "2026-12-01"
	// Out of order and with a duplicate: results come in id order, each patient once.
	body := `{"patient_ids": ["demo-insufficient-data", "demo-candidate", "demo-ineligible-labs", "demo-ineligible-exclusion", "demo-candidate"],
		"as_of": "` + asOf + `", "lymphodepletion_date": "` + ld + `"}`
	created := createBatch(t, env, body)
	if created.Total != 4 || created.AsOf != asOf || created.LymphodepletionDate != ld {
		t.Errorf("created: total %d, as_of %q, lymphodepletion_date %q; want 4, %s, %s", created.Total, created.AsOf, created.LymphodepletionDate, asOf, ld)
	}
	st := waitBatch(t, env, created.ID, batchDone)
	wantVerdicts := map[string]int{"potentially-eligible": 1, "ineligible": 2, "insufficient-data": 1}
	if st.Total != 4 || st.Done != 4 || st.Screened != 4 || st.Failed.Count != 0 || len(st.Failed.Reasons) != 0 {
		t.Errorf("counts: total %d done %d screened %d failed %+v; want 4 4 4 none", st.Total, st.Done, st.Screened, st.Failed)
	}
	if fmt.Sprint(st.Verdicts) != fmt.Sprint(wantVerdicts) {
		t.Errorf("verdicts %v, want %v", st.Verdicts, wantVerdicts)
	}
	self := "/v1/batches/" + st.ID
	if want := (batchLinks{Self: self, Results: self + "/results", Summary: self + "/summary.csv", Funnel: self + "/funnel"}); st.Links != want {
		t.Errorf("links %+v, want %+v", st.Links, want)
	}
	if st.Started == nil || st.Finished == nil || st.Finished.Before(*st.Started) || st.Started.Before(st.Created) {
		t.Errorf("times: created %v started %v finished %v", st.Created, st.Started, st.Finished)
	}

	rec := env.do(t, http.MethodGet, self+"/results", nil)
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/x-ndjson" || rec.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("results: status %d, Content-Type %q, Cache-Control %q; body %.300s", rec.Code, rec.Header().Get("Content-Type"), rec.Header().Get("Cache-Control"), rec.Body)
	}
	lines := strings.Split(strings.TrimSuffix(rec.Body.String(), "\n"), "\n")
	if len(lines) != len(demoIDs) {
		t.Fatalf("%d result lines, want %d", len(lines), len(demoIDs))
	}
	for i, id := range demoIDs {
		single := env.do(t, http.MethodGet, "/v1/patients/"+id+"/screening?as_of="+asOf+"&lymphodepletion_date="+ld, nil)
		screeningOf(t, single)
		if want := strings.TrimSuffix(single.Body.String(), "\n"); lines[i] != want {
			t.Errorf("line %d differs from GET /v1/patients/%s/screening:\n got %.200s\nwant %.200s", i+1, id, lines[i], want)
		}
	}

	rec = env.do(t, http.MethodGet, self+"/summary.csv", nil)
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "text/csv; charset=utf-8" {
		t.Fatalf("summary: status %d, Content-Type %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	rows, err := csv.NewReader(rec.Body).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 5 || strings.Join(rows[0], ",") != "patient_id,verdict,pass,fail,unknown,review,failing_criteria,unknown_criteria" {
		t.Fatalf("summary rows %q", rows)
	}
	for i, id := range demoIDs {
		var doc screening.Screening
		if err := json.Unmarshal([]byte(lines[i]), &doc); err != nil {
			t.Fatal(err)
		}
		if rows[i+1][0] != id || rows[i+1][1] != string(doc.Verdict) {
			t.Errorf("summary row %d %q, want %s with verdict %s", i+1, rows[i+1], id, doc.Verdict)
		}
	}

	rec = env.do(t, http.MethodGet, self+"/funnel", nil)
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("funnel JSON: status %d, Content-Type %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	var fn struct {
		Patients int            `json:"patients"`
		Verdicts map[string]int `json:"verdicts"`
		Criteria []any          `json:"criteria"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &fn); err != nil {
		t.Fatal(err)
	}
	if fn.Patients != 4 || fn.Verdicts["ineligible"] != 2 || fn.Verdicts["potentially_eligible"] != 1 || len(fn.Criteria) == 0 {
		t.Errorf("funnel %+v", fn)
	}
	rec = env.do(t, http.MethodGet, self+"/funnel", nil, "Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
	page := rec.Body.String()
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "text/html; charset=utf-8" || !strings.Contains(page, "<svg") {
		t.Fatalf("funnel HTML: status %d, Content-Type %q; %.200s", rec.Code, rec.Header().Get("Content-Type"), page)
	}
	if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'; style-src 'sha256-") {
		t.Errorf("funnel page CSP %q, want the style allowed by its hash and nothing else", csp)
	}

	audits := batchAuditRecords(t, env)
	if len(audits) != 4 {
		t.Fatalf("%d batch audit records, want 4 (one per patient)", len(audits))
	}
	var audited []string
	for _, a := range audits {
		audited = append(audited, a.Patient)
		if a.Outcome != "0" || a.Caller != "anonymous" || a.Details["batch"] != st.ID || a.Details["data-source"] != "demo" {
			t.Errorf("audit record %+v: want outcome 0, caller anonymous, batch %s, data-source demo", a, st.ID)
		}
	}
	slices.Sort(audited)
	if want := []string{"Patient/" + demoIDs[0], "Patient/" + demoIDs[1], "Patient/" + demoIDs[2], "Patient/" + demoIDs[3]}; !slices.Equal(audited, want) {
		t.Errorf("audited %v, want %v", audited, want)
	}
	for verdict, n := range wantVerdicts {
		if got := counterValue(t, env.reg, "trialscreen_screenings_total", map[string]string{"surface": "batch", "verdict": verdict}); got != float64(n) {
			t.Errorf("trialscreen_screenings_total{surface=batch,verdict=%s} = %v, want %d", verdict, got, n)
		}
	}
	for _, id := range demoIDs {
		if strings.Contains(env.log.String(), id) {
			t.Errorf("the application log names patient %s:\n%s", id, env.log)
		}
	}
}

// Without as_of, the batch is screened as of the default instant (the demo data's).
func TestBatchDefaultAsOf(t *testing.T) {
	env := newBatchEnv(t, nil)
	st := waitBatch(t, env, createBatch(t, env, `{"patient_ids": ["demo-candidate"]}`).ID, batchDone)
	if want := demo.AsOf().Format(time.RFC3339Nano); st.AsOf != want {
		t.Errorf("as_of %q, want the demo instant %q", st.AsOf, want)
	}
	if st.Verdicts["potentially-eligible"] != 1 {
		t.Errorf("verdicts %v, want the candidate potentially eligible", st.Verdicts)
	}
}

// A patient born after the batch's as_of is not screened: counted as failed, by its
// own reason; the patients born before it are screened.
func TestBatchAsOfBeforeBirthFails(t *testing.T) {
	env := newBatchEnv(t, nil)
	// Born 1958-01-17, 1964-05-02 and 1968-09-30.
	st := createBatch(t, env, `{"patient_ids": ["demo-ineligible-exclusion", "demo-candidate", "demo-ineligible-labs"], "as_of": "1965-01-01T00:00:00Z"}`)
	st = waitBatch(t, env, st.ID, batchDone)
	if st.Total != 3 || st.Done != 3 || st.Screened != 2 || st.Failed.Count != 1 || fmt.Sprint(st.Failed.Reasons) != "map[as_of_before_birth:1]" {
		t.Errorf("total %d done %d screened %d failed %+v; want 3 3 2 {1 map[as_of_before_birth:1]}", st.Total, st.Done, st.Screened, st.Failed)
	}
}

// A patient the source does not have is counted as failed, by reason, and the others
// are screened; the log says how many, never who.
func TestBatchUnknownPatientFails(t *testing.T) {
	env := newBatchEnv(t, nil)
	st := createBatch(t, env, `{"patient_ids": ["demo-candidate", "no-such-patient-7", "demo-ineligible-labs"]}`)
	st = waitBatch(t, env, st.ID, batchDone)
	if st.Total != 3 || st.Done != 3 || st.Screened != 2 || st.Failed.Count != 1 || fmt.Sprint(st.Failed.Reasons) != "map[not_found:1]" {
		t.Errorf("total %d done %d screened %d failed %+v; want 3 3 2 {1 map[not_found:1]}", st.Total, st.Done, st.Screened, st.Failed)
	}
	rec := env.do(t, http.MethodGet, "/v1/batches/"+st.ID+"/results", nil)
	lines := strings.Split(strings.TrimSpace(rec.Body.String()), "\n")
	if rec.Code != http.StatusOK || len(lines) != 2 || !strings.Contains(lines[0], `"demo-candidate"`) || !strings.Contains(lines[1], `"demo-ineligible-labs"`) {
		t.Errorf("results: status %d, %d lines; want the two known patients\n%.300s", rec.Code, len(lines), rec.Body)
	}
	outcomes := map[string]string{}
	for _, a := range batchAuditRecords(t, env) {
		outcomes[a.Patient] = a.Outcome
	}
	if want := "map[Patient/demo-candidate:0 Patient/demo-ineligible-labs:0 Patient/no-such-patient-7:4]"; fmt.Sprint(outcomes) != want {
		t.Errorf("audit outcomes %v, want %s", outcomes, want)
	}
	if log := env.log.String(); strings.Contains(log, "no-such-patient-7") || !strings.Contains(log, `"not_screened":1`) {
		t.Errorf("the log must count the failure without naming the patient:\n%s", log)
	}
}

// Every refused body is a 400 naming its field (or a 415), and starts nothing.
func TestBatchBadRequests(t *testing.T) {
	many := make([]string, defaultMaxBatchIDs+1)
	for i := range many {
		many[i] = fmt.Sprintf(`"p-%d"`, i)
	}
	idRule := "is not a FHIR resource id (1-64 characters of A-Z, a-z, 0-9, '-', '.', and not '.' or '..' alone; got %d bytes)"
	cases := []struct {
		name, target, ct, body string
		want                   Problem
	}{
		{"no ids", "", "", `{"as_of": "2026-11-21T00:00:00Z"}`,
			Problem{Title: "Invalid request", Status: 400, Field: "patient_ids", Detail: "patient_ids: is required: a list of 1 to 10000 patient ids"}},
		{"null ids", "", "", `{"patient_ids": null}`,
			Problem{Title: "Invalid request", Status: 400, Field: "patient_ids", Detail: "patient_ids: is required: a list of 1 to 10000 patient ids"}},
		{"empty list", "", "", `{"patient_ids": []}`,
			Problem{Title: "Invalid request", Status: 400, Field: "patient_ids", Detail: "patient_ids: is empty: give 1 to 10000 patient ids"}},
		{"too many", "", "", `{"patient_ids": [` + strings.Join(many, ",") + `]}`,
			Problem{Title: "Invalid request", Status: 400, Field: "patient_ids", Detail: "patient_ids: holds 10001 ids; a batch takes at most 10000 (split the list)"}},
		{"bad id", "", "", `{"patient_ids": ["demo-candidate", "Patient/demo-candidate"]}`,
			Problem{Title: "Invalid request", Status: 400, Field: "patient_ids", Detail: "patient_ids: item 1 (from 0) " + fmt.Sprintf(idRule, 22)}},
		{"empty id", "", "", `{"patient_ids": [""]}`,
			Problem{Title: "Invalid request", Status: 400, Field: "patient_ids", Detail: "patient_ids: item 0 (from 0) " + fmt.Sprintf(idRule, 0)}},
		{"id not a string", "", "", `{"patient_ids": [42]}`,
			Problem{Title: "Invalid request", Status: 400, Field: "patient_ids", Detail: "patient_ids: item 0 (from 0) must be a string"}},
		{"null id", "", "", `{"patient_ids": [null]}`,
			Problem{Title: "Invalid request", Status: 400, Field: "patient_ids", Detail: "patient_ids: item 0 (from 0) must be a string"}},
		{"ids not a list", "", "", `{"patient_ids": "demo-candidate"}`,
			Problem{Title: "Invalid request", Status: 400, Field: "patient_ids", Detail: "patient_ids: must be an array of patient ids (strings)"}},
		{"unknown field", "", "", `{"patient_ids": ["demo-candidate"], "asOf": "2026-11-21T00:00:00Z"}`,
			Problem{Title: "Invalid request", Status: 400, Field: "asOf", Detail: "asOf: unknown field (the fields are patient_ids, as_of, lymphodepletion_date)"}},
		{"bad as_of", "", "", `{"patient_ids": ["demo-candidate"], "as_of": "2026-11-21"}`,
			Problem{Title: "Invalid request", Status: 400, Field: "as_of", Detail: `as_of: "2026-11-21" is not an RFC 3339 instant (e.g. 2026-11-20T12:00:00Z)`}},
		{"as_of the zero time", "", "", `{"patient_ids": ["demo-candidate"], "as_of": "0001-01-01T00:00:00Z"}`,
			Problem{Title: "Invalid request", Status: 400, Field: "as_of", Detail: "as_of: 0001-01-01T00:00:00Z is not a usable instant (it is the zero time, which stands for no instant at all)"}},
		{"as_of not a string", "", "", `{"patient_ids": ["demo-candidate"], "as_of": 1}`,
			Problem{Title: "Invalid request", Status: 400, Field: "as_of", Detail: "as_of: must be a string"}},
		{"bad lymphodepletion_date", "", "", `{"patient_ids": ["demo-candidate"], "lymphodepletion_date": "1 Dec"}`,
			Problem{Title: "Invalid request", Status: 400, Field: "lymphodepletion_date", Detail: `lymphodepletion_date: "1 Dec" is not a date (YYYY-MM-DD)`}},
		{"as_of in the query", "/v1/batches?as_of=2026-11-21T00:00:00Z", "", `{"patient_ids": ["demo-candidate"]}`,
			Problem{Title: "Invalid request", Status: 400, Field: "as_of", Detail: "as_of: give as_of in the JSON body, not as a query parameter"}},
		{"empty body", "", "", ``,
			Problem{Title: "Invalid request", Status: 400, Field: "body", Detail: `body: the body is empty; send {"patient_ids": [...]}`}},
		{"not an object", "", "", `["demo-candidate"]`,
			Problem{Title: "Invalid request", Status: 400, Field: "body", Detail: "body: must be a JSON object, not array"}},
		{"malformed", "", "", `{"patient_ids": [}`,
			Problem{Title: "Invalid request", Status: 400, Field: "body", Detail: "body: malformed JSON at byte 18: invalid character '}' looking for beginning of value"}},
		{"trailing data", "", "", `{"patient_ids": ["demo-candidate"]} {}`,
			Problem{Title: "Invalid request", Status: 400, Field: "body", Detail: "body: data follows the JSON object"}},
		{"not JSON", "", "text/plain", `{"patient_ids": ["demo-candidate"]}`,
			Problem{Title: "Unsupported Media Type", Status: 415, Detail: `Content-Type must be application/json (got "text/plain"): send {"patient_ids": [...]}`}},
	}
	env := newBatchEnv(t, nil)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			target, ct := tc.target, tc.ct
			if target == "" {
				target = "/v1/batches"
			}
			if ct == "" {
				ct = "application/json"
			}
			wantProblem(t, env.do(t, http.MethodPost, target, strings.NewReader(tc.body), "Content-Type", ct), tc.want)
		})
	}
	if n := len(env.s.batches.jobs); n != 0 {
		t.Errorf("%d batches created by refused requests", n)
	}
	if a := batchAuditRecords(t, env); len(a) != 0 {
		t.Errorf("refused requests read patient data: %v", a)
	}
}

// A batch is its creator's: another caller gets the same 404 as for an id that never
// existed, on every route, and cannot cancel it.
func TestBatchOtherCallerGets404(t *testing.T) {
	tokens, err := NewStaticTokens(map[string]string{"portal-a": "token-a-0000000000001", "portal-b": "token-b-0000000000002"})
	if err != nil {
		t.Fatal(err)
	}
	env := newBatchEnv(t, func(c *Config) { c.Auth = tokens })
	a := []string{"Authorization", "Bearer token-a-0000000000001"}
	b := []string{"Authorization", "Bearer token-b-0000000000002"}
	id := createBatch(t, env, `{"patient_ids": ["demo-candidate"]}`, a...).ID
	waitBatch(t, env, id, batchDone, a...)
	notFound := Problem{Title: "Not Found", Status: 404, Detail: "no such batch (it may have expired or been deleted)"}
	for _, route := range []struct{ method, path string }{
		{"GET", "/v1/batches/" + id}, {"GET", "/v1/batches/" + id + "/results"}, {"GET", "/v1/batches/" + id + "/summary.csv"},
		{"GET", "/v1/batches/" + id + "/funnel"}, {"DELETE", "/v1/batches/" + id},
		{"GET", "/v1/batches/AAAAAAAAAAAAAAAAAAAAAAAAAA"}, {"DELETE", "/v1/batches/AAAAAAAAAAAAAAAAAAAAAAAAAA"},
	} {
		t.Run(route.method+" "+route.path, func(t *testing.T) {
			wantProblem(t, env.do(t, route.method, route.path, nil, b...), notFound)
		})
	}
	batchOf(t, env.do(t, http.MethodGet, "/v1/batches/"+id, nil, a...), http.StatusOK) // still there for its creator
	t.Run("no token", func(t *testing.T) {
		rec := env.do(t, http.MethodGet, "/v1/batches/"+id, nil)
		wantProblem(t, rec, Problem{Title: "Unauthorized", Status: 401, Detail: "authentication required"})
		if rec.Header().Get("WWW-Authenticate") != "Bearer" {
			t.Errorf("WWW-Authenticate %q, want Bearer", rec.Header().Get("WWW-Authenticate"))
		}
		wantProblem(t, env.postBatch(t, `{"patient_ids": ["demo-candidate"]}`), Problem{Title: "Unauthorized", Status: 401, Detail: "authentication required"})
	})
	for _, au := range batchAuditRecords(t, env) {
		if au.Caller != "portal-a" {
			t.Errorf("audit caller %q, want portal-a", au.Caller)
		}
	}
}

// gateSource holds every fetch until released (or its context ends), so that a test
// sees a batch while it runs.
type gateSource struct {
	inner   screening.Source
	started chan struct{} // one value per fetch that began, up to its capacity
	release chan struct{}
	once    sync.Once
}

func newGateSource(t *testing.T) *gateSource {
	t.Helper()
	p, err := protocols.LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	src, err := demo.NewSource(p)
	if err != nil {
		t.Fatal(err)
	}
	g := &gateSource{inner: src, started: make(chan struct{}, 64), release: make(chan struct{})}
	t.Cleanup(g.open)
	return g
}

func (g *gateSource) open() { g.once.Do(func() { close(g.release) }) }

func (g *gateSource) Record(ctx context.Context, id string) (*screening.Record, error) {
	select {
	case g.started <- struct{}{}:
	default:
	}
	select {
	case <-g.release:
		return g.inner.Record(ctx, id)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// waitFetch waits until a fetch has begun.
func (g *gateSource) waitFetch(t *testing.T) {
	t.Helper()
	select {
	case <-g.started:
	case <-time.After(10 * time.Second):
		t.Fatal("no fetch began within 10 s")
	}
}

// DELETE cancels a running batch: it stays visible as cancelled, without results,
// until a second DELETE removes it.
func TestBatchCancel(t *testing.T) {
	gate := newGateSource(t)
	env := newBatchEnv(t, sourceOf(gate))
	id := createBatch(t, env, `{"patient_ids": ["demo-candidate", "demo-ineligible-labs"]}`).ID
	gate.waitFetch(t)
	st := batchOf(t, env.do(t, http.MethodGet, "/v1/batches/"+id, nil), http.StatusOK)
	if st.State != batchRunning || st.Done != 0 || st.Links.Results != "" {
		t.Errorf("while held: state %s, done %d, results link %q; want running, 0, none", st.State, st.Done, st.Links.Results)
	}
	for _, route := range []string{"/results", "/summary.csv", "/funnel"} {
		wantProblem(t, env.do(t, http.MethodGet, "/v1/batches/"+id+route, nil),
			Problem{Title: "Conflict", Status: 409, Detail: "the batch is running; its results are ready when its state is done"})
	}

	st = batchOf(t, env.do(t, http.MethodDelete, "/v1/batches/"+id, nil), http.StatusOK)
	if st.State != batchCancelled || st.Error != "cancelled by the caller" || st.Finished == nil {
		t.Errorf("DELETE answered state %s, error %q, finished %v; want cancelled by the caller", st.State, st.Error, st.Finished)
	}
	gate.open() // a cancelled batch does not come back to life when its fetches could go on
	st = batchOf(t, env.do(t, http.MethodGet, "/v1/batches/"+id, nil), http.StatusOK)
	if st.State != batchCancelled {
		t.Errorf("after DELETE: state %s, want cancelled", st.State)
	}
	wantProblem(t, env.do(t, http.MethodGet, "/v1/batches/"+id+"/results", nil),
		Problem{Title: "Conflict", Status: 409, Detail: "the batch is cancelled and has no results"})

	rec := env.do(t, http.MethodDelete, "/v1/batches/"+id, nil)
	if rec.Code != http.StatusNoContent || rec.Body.Len() != 0 {
		t.Fatalf("second DELETE: status %d, body %q; want 204", rec.Code, rec.Body)
	}
	wantProblem(t, env.do(t, http.MethodGet, "/v1/batches/"+id, nil),
		Problem{Title: "Not Found", Status: 404, Detail: "no such batch (it may have expired or been deleted)"})
}

// Deleting a done batch removes its results from disk.
func TestBatchDeleteDone(t *testing.T) {
	env := newBatchEnv(t, nil)
	id := waitBatch(t, env, createBatch(t, env, `{"patient_ids": ["demo-candidate"]}`).ID, batchDone).ID
	dir := env.s.batches.jobs[id].dir
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("results directory of a done batch: %v", err)
	}
	if rec := env.do(t, http.MethodDelete, "/v1/batches/"+id, nil); rec.Code != http.StatusNoContent {
		t.Fatalf("DELETE: status %d, want 204; body %s", rec.Code, rec.Body)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("results directory after DELETE: %v, want it gone", err)
	}
	wantProblem(t, env.do(t, http.MethodGet, "/v1/batches/"+id+"/results", nil),
		Problem{Title: "Not Found", Status: 404, Detail: "no such batch (it may have expired or been deleted)"})
}

// Batches beyond the running limit queue, and start as others finish.
func TestBatchQueue(t *testing.T) {
	gate := newGateSource(t)
	env := newBatchEnv(t, sourceOf(gate))
	env.s.batches.maxRunning = 1
	first := createBatch(t, env, `{"patient_ids": ["demo-candidate"]}`)
	second := createBatch(t, env, `{"patient_ids": ["demo-ineligible-labs"]}`)
	if second.State != batchQueued || second.Started != nil {
		t.Errorf("second batch: state %s, started %v; want queued, not started", second.State, second.Started)
	}
	gate.waitFetch(t)
	if st := batchOf(t, env.do(t, http.MethodGet, "/v1/batches/"+first.ID, nil), http.StatusOK); st.State != batchRunning {
		t.Errorf("first batch: state %s, want running", st.State)
	}
	gate.open()
	for _, id := range []string{first.ID, second.ID} {
		if st := waitBatch(t, env, id, batchDone); st.Screened != 1 {
			t.Errorf("batch %s screened %d, want 1", id, st.Screened)
		}
	}
}

// Cancelling a queued batch takes it out of the queue: it never fetches anything.
func TestBatchCancelQueued(t *testing.T) {
	gate := newGateSource(t)
	env := newBatchEnv(t, sourceOf(gate))
	env.s.batches.maxRunning = 1
	first := createBatch(t, env, `{"patient_ids": ["demo-candidate"]}`)
	second := createBatch(t, env, `{"patient_ids": ["demo-ineligible-labs"]}`)
	if st := batchOf(t, env.do(t, http.MethodDelete, "/v1/batches/"+second.ID, nil), http.StatusOK); st.State != batchCancelled {
		t.Fatalf("DELETE of a queued batch: state %s, want cancelled", st.State)
	}
	gate.open()
	waitBatch(t, env, first.ID, batchDone)
	for _, a := range batchAuditRecords(t, env) {
		if a.Details["batch"] == second.ID {
			t.Errorf("the cancelled queued batch read %s", a.Patient)
		}
	}
}

// The store holds a bounded number of batches: a finished one makes room (the oldest
// first); with none finished, a new batch is a 429.
func TestBatchStoreBound(t *testing.T) {
	gate := newGateSource(t)
	env := newBatchEnv(t, sourceOf(gate))
	env.s.batches.maxBatches = 2
	first := createBatch(t, env, `{"patient_ids": ["demo-candidate"]}`)
	second := createBatch(t, env, `{"patient_ids": ["demo-candidate"]}`)
	wantProblem(t, env.postBatch(t, `{"patient_ids": ["demo-candidate"]}`), Problem{Title: "Too Many Requests", Status: 429,
		Detail: "the service already holds 2 unfinished batches; wait for one to finish or cancel one"})
	gate.open()
	a, b := waitBatch(t, env, first.ID, batchDone), waitBatch(t, env, second.ID, batchDone)
	if b.Finished.Before(*a.Finished) || b.Finished.Equal(*a.Finished) && b.Created.Before(a.Created) {
		a, b = b, a // a finished first
	}
	third := createBatch(t, env, `{"patient_ids": ["demo-candidate"]}`)
	wantProblem(t, env.do(t, http.MethodGet, "/v1/batches/"+a.ID, nil),
		Problem{Title: "Not Found", Status: 404, Detail: "no such batch (it may have expired or been deleted)"})
	batchOf(t, env.do(t, http.MethodGet, "/v1/batches/"+b.ID, nil), http.StatusOK)
	waitBatch(t, env, third.ID, batchDone)
}

// A finished batch expires 24 hours after it finished.
func TestBatchExpires(t *testing.T) {
	env := newBatchEnv(t, nil)
	id := waitBatch(t, env, createBatch(t, env, `{"patient_ids": ["demo-candidate"]}`).ID, batchDone).ID
	env.clock.advance(23 * time.Hour)
	batchOf(t, env.do(t, http.MethodGet, "/v1/batches/"+id, nil), http.StatusOK)
	env.clock.advance(time.Hour + time.Minute)
	wantProblem(t, env.do(t, http.MethodGet, "/v1/batches/"+id, nil),
		Problem{Title: "Not Found", Status: 404, Detail: "no such batch (it may have expired or been deleted)"})
}

// CloseBatches cancels what runs, removes every result, and refuses new batches.
func TestBatchClose(t *testing.T) {
	gate := newGateSource(t)
	env := newBatchEnv(t, sourceOf(gate))
	id := createBatch(t, env, `{"patient_ids": ["demo-candidate"]}`).ID
	gate.waitFetch(t)
	root := env.s.batches.root
	if err := env.s.CloseBatches(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(root); !os.IsNotExist(err) {
		t.Errorf("results directory after CloseBatches: %v, want it gone", err)
	}
	wantProblem(t, env.do(t, http.MethodGet, "/v1/batches/"+id, nil),
		Problem{Title: "Not Found", Status: 404, Detail: "no such batch (it may have expired or been deleted)"})
	wantProblem(t, env.postBatch(t, `{"patient_ids": ["demo-candidate"]}`),
		Problem{Title: "Service Unavailable", Status: 503, Detail: "the service is shutting down and takes no new batches"})
	if a := batchAuditRecords(t, env); len(a) != 1 || a[0].Outcome != "4" {
		t.Errorf("audit %+v: want the one interrupted fetch, as a failure", a)
	}
}

// The batch routes' real answers, errors included, validate against openapi.json.
func TestBatchOpenAPIResponses(t *testing.T) {
	doc := loadOpenAPI(t)
	strictSchemas(doc, "BatchStatus", "Problem")
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := NewStaticTokens(map[string]string{"portal": "portal-secret-00001"})
	if err != nil {
		t.Fatal(err)
	}
	env := newBatchEnv(t, nil)
	authed := newBatchEnv(t, func(c *Config) { c.Auth = tokens })
	gate := newGateSource(t)
	held := newBatchEnv(t, sourceOf(gate))
	capGate := newGateSource(t)
	capped := newBatchEnv(t, func(c *Config) { c.Source, c.MaxBatchesPerCaller = capGate, 1 })
	ct := "application/json"
	body := `{"patient_ids": ["demo-candidate", "demo-ineligible-labs", "nobody"], "as_of": "2026-11-21T00:00:00Z", "lymphodepletion_date": "2026-12-01"}`

	ex := []exchange{send(t, env, "202", 202, "POST", "/v1/batches", body, "Content-Type", ct)}
	id := ex[0].rec.Header().Get("Location")
	waitBatch(t, env, strings.TrimPrefix(id, "/v1/batches/"), batchDone)
	heldID := createBatch(t, held, `{"patient_ids": ["demo-candidate"]}`).ID
	gate.waitFetch(t)
	ex = append(ex,
		send(t, env, "status done", 200, "GET", id, ""),
		send(t, env, "results", 200, "GET", id+"/results", ""),
		send(t, env, "summary", 200, "GET", id+"/summary.csv", ""),
		send(t, env, "funnel JSON", 200, "GET", id+"/funnel", ""),
		send(t, env, "funnel HTML", 200, "GET", id+"/funnel", "", "Accept", "text/html"),
		send(t, held, "status running", 200, "GET", "/v1/batches/"+heldID, ""),
		send(t, held, "409", 409, "GET", "/v1/batches/"+heldID+"/results", ""),
		send(t, held, "cancel", 200, "DELETE", "/v1/batches/"+heldID, ""),
		send(t, held, "delete", 204, "DELETE", "/v1/batches/"+heldID, ""),
		send(t, env, "400", 400, "POST", "/v1/batches", `{"patient_ids": []}`, "Content-Type", ct),
		send(t, env, "415", 415, "POST", "/v1/batches", body, "Content-Type", "text/plain"),
		send(t, authed, "401", 401, "GET", id, ""),
		send(t, env, "404", 404, "GET", "/v1/batches/AAAAAAAAAAAAAAAAAAAAAAAAAA", ""),
	)
	createBatch(t, capped, `{"patient_ids": ["demo-candidate"]}`)
	ex = append(ex, send(t, capped, "429 per caller", 429, "POST", "/v1/batches", `{"patient_ids": ["demo-candidate"]}`, "Content-Type", ct))
	for _, x := range ex {
		t.Run(x.name, func(t *testing.T) {
			if x.rec.Code != x.want {
				t.Fatalf("status %d, want %d; body %.300s", x.rec.Code, x.want, x.rec.Body)
			}
			route, params, err := router.FindRoute(x.req)
			if err != nil {
				t.Fatalf("%s %s: %v", x.req.Method, x.req.URL, err)
			}
			in := &openapi3filter.RequestValidationInput{Request: x.req, PathParams: params, Route: route,
				Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, IncludeResponseStatus: true}}
			if x.want == http.StatusAccepted { // what the service accepts, the document accepts too
				vr := httptest.NewRequest(x.req.Method, x.req.URL.String(), bytes.NewReader(x.body))
				vr.Header.Set("Content-Type", ct)
				vin := *in
				vin.Request = vr
				if err := openapi3filter.ValidateRequest(context.Background(), &vin); err != nil {
					t.Errorf("the document refuses a request the service accepts: %v", err)
				}
			}
			opts := *in.Options
			if mt := strings.Split(x.rec.Header().Get("Content-Type"), ";")[0]; mt == mimeNDJSON || mt == "text/html" {
				// Bodies kin-openapi cannot decode: the media type must be documented.
				opts.ExcludeResponseBody = true
				if route.Operation.Responses.Status(x.rec.Code).Value.Content.Get(mt) == nil {
					t.Errorf("%s is not documented for status %d", mt, x.rec.Code)
				}
			}
			out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: x.rec.Code, Header: x.rec.Header(), Options: &opts}
			out.SetBodyBytes(x.rec.Body.Bytes())
			if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
				t.Errorf("status %d does not match the document: %v\nbody: %.500s", x.rec.Code, err, x.rec.Body)
			}
		})
	}
}
