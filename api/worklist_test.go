package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/trialscreen/trialscreen/store"
)

// worklistOf decodes a 200 GET /v1/worklist.
func worklistOf(t *testing.T, env *restEnv, target string) worklistJSON {
	t.Helper()
	rec := env.do(t, http.MethodGet, target, nil)
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("GET %s: %d %q %s", target, rec.Code, rec.Header().Get("Content-Type"), rec.Body)
	}
	var w worklistJSON
	if err := json.Unmarshal(rec.Body.Bytes(), &w); err != nil {
		t.Fatal(err)
	}
	return w
}

func worklistIDs(w worklistJSON) []string {
	out := []string{}
	for _, p := range w.Patients {
		out = append(out, p.Patient.ID)
	}
	return out
}

// worklistEnv is a demo service with a store, three demo patients screened over REST
// (in this order) and one patient saved with a name that HTML must escape.
func worklistEnv(t *testing.T) (*restEnv, *store.Store) {
	t.Helper()
	st := openStore(t, "")
	env := newRESTEnv(t, withStore(st))
	for _, id := range []string{"demo-ineligible-labs", "demo-insufficient-data", "demo-candidate"} {
		if rec := env.do(t, http.MethodGet, "/v1/patients/"+id+"/screening", nil); rec.Code != http.StatusOK {
			t.Fatalf("screen %s: %d %s", id, rec.Code, rec.Body)
		}
	}
	err := st.Save(context.Background(), store.Screening{ID: "named-1", PatientID: "p-named", Created: testNow.AddDate(-1, 0, 0),
		Surface: "batch", Verdict: "ineligible", Document: []byte(`{}`), PatientName: `Zoë <b>O'Hara</b>`, PatientGender: "female", PatientBirthDate: "1961-04-05"})
	if err != nil {
		t.Fatal(err)
	}
	return env, st
}

// GET /v1/worklist lists each screened patient once, with the latest verdict, what to
// obtain, the review count and the report's link; it filters and pages; each read is
// one audit record, and the application log names no patient.
func TestWorklistJSON(t *testing.T) {
	env, _ := worklistEnv(t)
	env.do(t, http.MethodGet, "/v1/patients/demo-candidate/screening", nil) // screened again: still one row
	auditsBefore := len(env.auditLines())

	all := worklistOf(t, env, "/v1/worklist")
	if d := cmp.Diff([]string{"demo-candidate", "demo-insufficient-data", "demo-ineligible-labs", "p-named"}, worklistIDs(all)); d != "" || all.NextCursor != "" {
		t.Fatalf("worklist (-want +got):\n%s next %q", d, all.NextCursor)
	}
	cand, insuff := all.Patients[0], all.Patients[1]
	if cand.Verdict != "potentially-eligible" || cand.PotentiallyEligibleSince == nil || cand.PreviousVerdict != "potentially-eligible" ||
		cand.ReviewItems == 0 || len(cand.ToObtain) != 0 || cand.Surface != surfaceREST {
		t.Errorf("candidate %+v", cand)
	}
	if insuff.Verdict != "insufficient-data" || len(insuff.ToObtain) == 0 || insuff.ToObtain[0].Criterion == "" || insuff.ToObtain[0].What == "" ||
		insuff.PotentiallyEligibleSince != nil || insuff.PreviousVerdict != "" {
		t.Errorf("insufficient-data patient %+v", insuff)
	}
	if p := all.Patients[3].Patient; p.Name != `Zoë <b>O'Hara</b>` || p.Gender != "female" || p.BirthDate != "1961-04-05" || p.Reference != "Patient/p-named" {
		t.Errorf("named patient %+v", p)
	}
	if rec := env.do(t, http.MethodGet, cand.Report, nil); rec.Code != http.StatusOK || docOf(t, rec.Body.Bytes()).ScreeningID != cand.ScreeningID {
		t.Errorf("the report link %s: %d", cand.Report, rec.Code)
	}

	for _, tt := range []struct{ query, want string }{
		{"verdict=ineligible", "demo-ineligible-labs p-named"},
		{"waits_for_data=true", "demo-insufficient-data"},
		{"eligible_since=2020-01-01", "demo-candidate"},
		{"eligible_since=2099-01-01", ""},
		{"q=demo-in", "demo-insufficient-data demo-ineligible-labs"},
		{"q=" + url.QueryEscape("zoë"), "p-named"},
		{"verdict=&eligible_since=&waits_for_data=&q=", "demo-candidate demo-insufficient-data demo-ineligible-labs p-named"}, // an empty form
	} {
		got := strings.Join(worklistIDs(worklistOf(t, env, "/v1/worklist?"+tt.query)), " ")
		if got != tt.want {
			t.Errorf("%s: %q, want %q", tt.query, got, tt.want)
		}
	}

	var paged []string
	target := "/v1/worklist?limit=3"
	for range 3 {
		w := worklistOf(t, env, target)
		paged = append(paged, worklistIDs(w)...)
		if w.NextCursor == "" {
			break
		}
		target = "/v1/worklist?limit=3&cursor=" + w.NextCursor
	}
	if d := cmp.Diff(worklistIDs(all), paged); d != "" {
		t.Errorf("paged (-want +got):\n%s", d)
	}

	lines := env.auditLines()[auditsBefore:]
	if len(lines) != 1+1+7+2 { // the report read is one too
		t.Fatalf("%d audit records for 10 worklist reads and a report", len(lines))
	}
	if l := lines[0]; !strings.Contains(l, `"valueString":"demo-candidate demo-insufficient-data demo-ineligible-labs p-named"`) ||
		strings.Contains(l, `"Patient/`) || strings.Contains(l, "O'Hara") || !strings.Contains(l, `"surface","valueString":"worklist"`) {
		t.Errorf("audit record of a worklist read:\n%s", l)
	}
	if l := lines[7]; !strings.Contains(l, `"worklist-filters","valueString":"q"`) || strings.Contains(l, "zo") {
		t.Errorf("audit record of a search names the filter, never its text:\n%s", l)
	}
	for _, secret := range []string{"demo-candidate", "p-named", "Hara", "1961-04-05"} {
		if strings.Contains(env.log.String(), secret) {
			t.Errorf("the application log names %q", secret)
		}
	}
}

// GET / is the worklist page: HTML that needs no script, escapes what the record says,
// keeps its filters in the form and the next link, and links each patient's report.
func TestWorklistPage(t *testing.T) {
	env, _ := worklistEnv(t)
	rec := env.do(t, http.MethodGet, "/?verdict=ineligible&limit=1&q=", nil, "Accept", "text/html")
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("GET /: %d %q %s", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
	}
	h := rec.Header()
	if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self'") || strings.Contains(csp, "script-src") ||
		h.Get("Cache-Control") != "no-store" || h.Get("X-Frame-Options") != "DENY" {
		t.Errorf("headers %v", h)
	}
	body := rec.Body.String()
	for _, want := range []string{
		`<form class="filters" method="get" action="/"`,
		`<option value="ineligible" selected>Ineligible</option>`,
		`data-patient="demo-ineligible-labs"`,
		`<a href="/v1/screenings/`,
		`<a href="/?cursor=`, `&amp;limit=1&amp;verdict=ineligible" rel="next">Next page</a>`,
		`<a class="clear" href="/">Clear filters</a>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	if strings.Contains(body, "<script") || strings.Contains(body, "p-named") {
		t.Error("the page has a script, or a patient beyond its one row")
	}
	next := body[strings.Index(body, `<a href="/?cursor=`)+len(`<a href="`):]
	next = strings.ReplaceAll(next[:strings.Index(next, `"`)], "&amp;", "&")
	rec = env.do(t, http.MethodGet, next, nil)
	body = rec.Body.String()
	if rec.Code != http.StatusOK || !strings.Contains(body, `Zoë &lt;b&gt;O&#39;Hara&lt;/b&gt;`) || !strings.Contains(body, "female, born 1961-04-05") ||
		strings.Contains(body, `rel="next"`) {
		t.Errorf("second page: %d\n%s", rec.Code, body)
	}
	empty := env.do(t, http.MethodGet, "/?q=nobody", nil).Body.String()
	if !strings.Contains(empty, "No screened patient matches these filters.") {
		t.Errorf("a search that finds nobody:\n%s", empty)
	}
}

// The worklist's failures: a 400 naming the parameter, 401 without credentials, 404
// without a store, 503 when the store fails.
func TestWorklistErrors(t *testing.T) {
	st := openStore(t, "")
	env := newRESTEnv(t, withStore(st))
	tokens, err := NewStaticTokens(map[string]string{"portal": "portal-secret-00001"})
	if err != nil {
		t.Fatal(err)
	}
	authed := newRESTEnv(t, func(c *Config) { withStore(st)(c); c.Auth = tokens; c.Demo = false })
	unstored := newRESTEnv(t, nil)
	broken := openStore(t, "")
	_ = broken.Close()
	down := newRESTEnv(t, withStore(broken))
	tests := []getProblemCase{
		{"verdict", env, "/v1/worklist?verdict=eligible", 400, "verdict", "verdict: is not potentially-eligible, insufficient-data or ineligible"},
		{"date", env, "/v1/worklist?eligible_since=01/02/2026", 400, "eligible_since", "eligible_since: is not a date (YYYY-MM-DD)"},
		{"waits for data", env, "/?waits_for_data=yes", 400, "waits_for_data", "waits_for_data: is not true or false"},
		{"waits for data and another verdict", env, "/v1/worklist?waits_for_data=true&verdict=ineligible", 400, "waits_for_data",
			"waits_for_data: lists insufficient-data verdicts, and verdict asks for ineligible"},
		{"search too long", env, "/v1/worklist?q=" + strings.Repeat("a", 101), 400, "q", ""},
		{"search with a control character", env, "/v1/worklist?q=a%00b", 400, "q", ""},
		{"limit", env, "/v1/worklist?limit=101", 400, "limit", "limit: is not a whole number from 1 to 100"},
		{"cursor", env, "/?cursor=%21%21", 400, "cursor", "cursor: is not a cursor a previous page gave (next_cursor)"},
		{"unauthenticated JSON", authed, "/v1/worklist", 401, "", ""},
		{"unauthenticated page", authed, "/", 401, "", ""},
		{"no store: JSON", unstored, "/v1/worklist", 404, "", "this service does not store screenings"},
		{"no store: page", unstored, "/", 404, "", "this service does not store screenings"},
		{"bad filter before no store", unstored, "/?verdict=x", 400, "verdict", ""},
		{"store down", down, "/v1/worklist", 503, "", ""},
	}
	runGetProblems(t, tests)
	// A token gets in.
	if rec := authed.do(t, http.MethodGet, "/v1/worklist", nil, "Authorization", "Bearer portal-secret-00001"); rec.Code != http.StatusOK {
		t.Errorf("with a token: %d %s", rec.Code, rec.Body)
	}
}
