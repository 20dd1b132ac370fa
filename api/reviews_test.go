package api

import (
	"encoding/json"
	"errors"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/trialscreen/trialscreen/review"
	"github.com/trialscreen/trialscreen/screening"
	"github.com/trialscreen/trialscreen/store"
)

// stubAuth authenticates every request as one caller.
type stubAuth struct{ caller Caller }

func (a stubAuth) Authenticate(*http.Request) (Caller, error) {
	if a.caller.ID == "" {
		return Caller{}, errors.New("no token")
	}
	return a.caller, nil
}

// reviewed screens a potentially eligible demo patient with a store, giving the env,
// the screening's id and its review items.
func reviewed(t *testing.T, mod func(*Config)) (*restEnv, string, []string) {
	t.Helper()
	return reviewedOn(t, "", mod)
}

// reviewedOn is reviewed on the store url names ("": SQLite).
func reviewedOn(t *testing.T, url string, mod func(*Config)) (*restEnv, string, []string) {
	t.Helper()
	st := openStore(t, url)
	env := newRESTEnv(t, func(c *Config) {
		withStore(st)(c)
		if mod != nil {
			mod(c)
		}
	})
	rec := env.do(t, http.MethodGet, "/v1/patients/demo-candidate/screening", nil, "Authorization", "Bearer x")
	res := screeningOf(t, rec)
	if res.Verdict != "potentially-eligible" || len(res.ReviewItems) < 2 || res.ScreeningID == "" {
		t.Fatalf("demo-candidate: %s with %d review items, id %q; the tests need a stored potentially eligible screening with review items",
			res.Verdict, len(res.ReviewItems), res.ScreeningID)
	}
	var items []string
	for _, it := range res.ReviewItems {
		items = append(items, it.Criterion)
	}
	return env, res.ScreeningID, items
}

func (e *restEnv) putReview(t *testing.T, patient, criterion, body string) *httptest.ResponseRecorder {
	t.Helper()
	return e.do(t, http.MethodPut, "/v1/patients/"+patient+"/reviews/"+criterion, strings.NewReader(body),
		"Content-Type", "application/json", "Authorization", "Bearer x")
}

// standingIn reads the "review" object of a JSON answer.
func standingIn(t *testing.T, body []byte) review.Standing {
	t.Helper()
	var d struct {
		Review *review.Standing `json:"review"`
	}
	if err := json.Unmarshal(body, &d); err != nil || d.Review == nil {
		t.Fatalf("no review standing (%v) in %.300s", err, body)
	}
	return *d.Review
}

// A decision is recorded, audited without its note, shown in GET .../reviews, in the
// stored screening's document and in the next screening's document.
func TestReviewDecisionRecorded(t *testing.T) {
	env, id, items := reviewed(t, nil)
	rec := env.putReview(t, "demo-candidate", items[0], `{"decision":"met","note":"secret words","screening_id":"`+id+`"}`)
	if rec.Code != http.StatusOK {
		t.Fatalf("PUT: %d %s", rec.Code, rec.Body)
	}
	var ans decisionAnswer
	if err := json.Unmarshal(rec.Body.Bytes(), &ans); err != nil {
		t.Fatal(err)
	}
	if ans.Decision.Decision != "met" || ans.Decision.Note != "secret words" || ans.Decision.DecidedBy != "anonymous" ||
		ans.Decision.DecidedAt.IsZero() || ans.Decision.ScreeningID != id {
		t.Errorf("decision answered: %+v", ans.Decision)
	}
	want := "potentially eligible: 1 of " + strconv.Itoa(len(items)) + " review items met, " + strconv.Itoa(len(items)-1) + " open"
	if ans.Review.Summary != want {
		t.Errorf("standing %q, want %q", ans.Review.Summary, want)
	}
	last := env.auditLines()[len(env.auditLines())-1]
	if !strings.Contains(last, `"review-decision","valueString":"met"`) || !strings.Contains(last, items[0]) || strings.Contains(last, "secret") {
		t.Errorf("audit record of the decision (with its criterion and decision, without its note):\n%s", last)
	}
	if strings.Contains(env.log.String(), "secret") || strings.Contains(env.log.String(), "demo-candidate") {
		t.Errorf("the application log holds the note or the patient id:\n%s", env.log.String())
	}
	if got := testutil.ToFloat64(env.s.cfg.Metrics.desk.decisions.WithLabelValues("met")); got != 1 {
		t.Errorf("trialscreen_review_decisions_total{decision=\"met\"} = %v, want 1", got)
	}

	got := env.do(t, http.MethodGet, "/v1/patients/demo-candidate/reviews", nil)
	if got.Code != http.StatusOK {
		t.Fatalf("GET reviews: %d %s", got.Code, got.Body)
	}
	var list reviewsAnswer
	_ = json.Unmarshal(got.Body.Bytes(), &list)
	if len(list.Decisions) != 1 || list.Decisions[0].Criterion != items[0] || list.ScreeningID != id || list.Review == nil || list.Review.Summary != want {
		t.Errorf("GET reviews: %s", got.Body)
	}
	stored := env.do(t, http.MethodGet, "/v1/screenings/"+id, nil)
	if st := standingIn(t, stored.Body.Bytes()); st.Summary != want {
		t.Errorf("stored screening's standing %q, want %q", st.Summary, want)
	}
	next := env.do(t, http.MethodGet, "/v1/patients/demo-candidate/screening", nil)
	if st := standingIn(t, next.Body.Bytes()); st.Summary != want || st.Items[0].DecidedOn != id || st.Items[0].ToRecheck {
		t.Errorf("next screening's standing: %+v, want %q", st, want)
	}

	// A not-met decision: not eligible by review, the computed verdict unchanged.
	rec = env.putReview(t, "demo-candidate", items[1], `{"decision":"not-met","screening_id":"`+id+`"}`)
	if st := standingIn(t, rec.Body.Bytes()); !st.NotEligible || !strings.HasPrefix(st.Summary, "not eligible by review: "+items[1]) {
		t.Errorf("after not-met: %+v", st)
	}
	next = env.do(t, http.MethodGet, "/v1/patients/demo-candidate/screening", nil)
	if res := screeningOf(t, next); res.Verdict != "potentially-eligible" {
		t.Errorf("the computed verdict changed to %s", res.Verdict)
	}

	// A newer decision supersedes; the history keeps both, oldest first.
	env.putReview(t, "demo-candidate", items[0], `{"decision":"not-applicable","note":"n2","screening_id":"`+id+`"}`)
	rec = env.do(t, http.MethodGet, "/v1/patients/demo-candidate/reviews/"+items[0], nil)
	var h reviewHistory
	_ = json.Unmarshal(rec.Body.Bytes(), &h)
	if rec.Code != http.StatusOK || len(h.Decisions) != 2 || h.Decisions[0].Decision != "met" || h.Decisions[1].Decision != "not-applicable" {
		t.Errorf("history: %d %s", rec.Code, rec.Body)
	}
	if rec := env.do(t, http.MethodGet, "/v1/patients/demo-candidate/reviews/Bad!", nil); rec.Code != http.StatusBadRequest ||
		!strings.Contains(rec.Body.String(), `"field":"criterion"`) {
		t.Errorf("history of a bad criterion: %d %s", rec.Code, rec.Body)
	}
}

// Every refusal names its field, or says why; none stores a decision.
func TestReviewDecisionRefused(t *testing.T) {
	env, id, items := reviewed(t, nil)
	other := screeningOf(t, env.do(t, http.MethodGet, "/v1/patients/demo-ineligible-labs/screening", nil)).ScreeningID
	for _, tc := range []struct {
		name, patient, criterion, body string
		status                         int
		field, detail                  string
	}{
		{"bad decision", "demo-candidate", items[0], `{"decision":"maybe","screening_id":"` + id + `"}`, 400, "decision", "it must be one of met, not-met, not-applicable"},
		{"no decision", "demo-candidate", items[0], `{"screening_id":"` + id + `"}`, 400, "decision", "is required"},
		{"no screening", "demo-candidate", items[0], `{"decision":"met"}`, 400, "screening_id", "is required"},
		{"unknown screening", "demo-candidate", items[0], `{"decision":"met","screening_id":"nope"}`, 400, "screening_id", "no stored screening has this id"},
		{"another patient's screening", "demo-candidate", items[0], `{"decision":"met","screening_id":"` + other + `"}`, 400, "screening_id", "another patient"},
		{"not a review item", "demo-candidate", "age", `{"decision":"met","screening_id":"` + id + `"}`, 400, "criterion", `"age" is not a review item of screening`},
		{"bad criterion", "demo-candidate", "AGE!", `{"decision":"met","screening_id":"` + id + `"}`, 400, "criterion", "is not a criterion id"},
		{"bad patient id", "bad$id", items[0], `{"decision":"met","screening_id":"` + id + `"}`, 400, "id", ""},
		{"unknown field", "demo-candidate", items[0], `{"decision":"met","screening_id":"` + id + `","by":"x"}`, 400, "by", "unknown field"},
		{"note not a string", "demo-candidate", items[0], `{"decision":"met","note":3,"screening_id":"` + id + `"}`, 400, "note", "must be a string"},
		{"note too long", "demo-candidate", items[0], `{"decision":"met","note":"` + strings.Repeat("é", maxNoteChars+1) + `","screening_id":"` + id + `"}`, 400, "note", "is 2001 characters; at most 2000"},
		{"note with an escape sequence", "demo-candidate", items[0], `{"decision":"met","note":"ok\u001b[2J","screening_id":"` + id + `"}`, 400, "note", "contains the control character U+001B"},
		{"note with a bidi override", "demo-candidate", items[0], `{"decision":"met","note":"x \u202e tem ton","screening_id":"` + id + `"}`, 400, "note", "contains the control character U+202E"},
		{"not JSON", "demo-candidate", items[0], `{"decision":`, 400, "body", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := env.putReview(t, tc.patient, tc.criterion, tc.body)
			var p Problem
			_ = json.Unmarshal(rec.Body.Bytes(), &p)
			if rec.Code != tc.status || p.Field != tc.field || !strings.Contains(p.Detail, tc.detail) {
				t.Errorf("%d %s; want %d naming %q with %q", rec.Code, rec.Body, tc.status, tc.field, tc.detail)
			}
		})
	}
	rec := env.do(t, http.MethodPut, "/v1/patients/demo-candidate/reviews/"+items[0], strings.NewReader(`{}`), "Content-Type", "text/plain")
	if rec.Code != http.StatusUnsupportedMediaType {
		t.Errorf("text/plain body: %d, want 415", rec.Code)
	}
	if got := env.do(t, http.MethodGet, "/v1/patients/demo-candidate/reviews", nil); strings.Contains(got.Body.String(), `"decision":"`) {
		t.Errorf("a refused request stored a decision: %s", got.Body)
	}
}

// A viewer may read but not decide (403, JSON and form alike); no credentials is a 401.
func TestReviewDecisionNeedsARoleThatDecides(t *testing.T) {
	auth := stubAuth{caller: Caller{ID: "portal"}}
	env, id, items := reviewed(t, func(c *Config) { c.Auth = &auth })
	auth.caller = Caller{ID: "staff", User: "v1", Role: RoleViewer}
	body := `{"decision":"met","screening_id":"` + id + `"}`
	if rec := env.putReview(t, "demo-candidate", items[0], body); rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), errCannotDecide.Error()) {
		t.Errorf("viewer PUT: %d %s, want 403", rec.Code, rec.Body)
	}
	form := url.Values{"decision": {"met"}, "screening_id": {id}}.Encode()
	rec := env.do(t, http.MethodPost, "/v1/patients/demo-candidate/reviews/"+items[0], strings.NewReader(form),
		"Content-Type", "application/x-www-form-urlencoded")
	if rec.Code != http.StatusForbidden {
		t.Errorf("viewer form: %d %s, want 403", rec.Code, rec.Body)
	}
	if rec := env.do(t, http.MethodGet, "/v1/patients/demo-candidate/reviews", nil); rec.Code != http.StatusOK {
		t.Errorf("viewer GET reviews: %d, want 200", rec.Code)
	}
	auth.caller = Caller{}
	if rec := env.putReview(t, "demo-candidate", items[0], body); rec.Code != http.StatusUnauthorized {
		t.Errorf("no credentials: %d, want 401", rec.Code)
	}
	auth.caller = Caller{ID: "staff", User: "c1", Role: RoleCoordinator}
	if rec := env.putReview(t, "demo-candidate", items[0], body); rec.Code != http.StatusOK {
		t.Errorf("coordinator PUT: %d %s", rec.Code, rec.Body)
	}
}

// A browser's form records the decision as the PUT does and sends the browser back to
// the report (303); a bad form gets the same 400s.
func TestReviewDecisionForm(t *testing.T) {
	env, id, items := reviewed(t, nil)
	post := func(form url.Values, ct string) *httptest.ResponseRecorder {
		return env.do(t, http.MethodPost, "/v1/patients/demo-candidate/reviews/"+items[0], strings.NewReader(form.Encode()), "Content-Type", ct)
	}
	rec := post(url.Values{"decision": {"not-applicable"}, "note": {"n"}, "screening_id": {id}, CSRFField: {"tok"}}, "application/x-www-form-urlencoded")
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/v1/screenings/"+id+"#review-"+items[0] {
		t.Fatalf("form: %d Location %q %s", rec.Code, rec.Header().Get("Location"), rec.Body)
	}
	last := env.auditLines()[len(env.auditLines())-1]
	if !strings.Contains(last, `"surface","valueString":"report"`) || !strings.Contains(last, "not-applicable") {
		t.Errorf("form decision audit: %s", last)
	}
	for _, tc := range []struct {
		name   string
		form   url.Values
		ct     string
		status int
		field  string
	}{
		{"bad decision", url.Values{"decision": {"yes"}, "screening_id": {id}}, "application/x-www-form-urlencoded", 400, "decision"},
		{"unknown field", url.Values{"decision": {"met"}, "screening_id": {id}, "x": {"1"}}, "application/x-www-form-urlencoded", 400, "x"},
		{"field twice", url.Values{"decision": {"met", "not-met"}, "screening_id": {id}}, "application/x-www-form-urlencoded", 400, "decision"},
		{"not a form", url.Values{"decision": {"met"}}, "application/json", 415, ""},
	} {
		rec := post(tc.form, tc.ct)
		var p Problem
		_ = json.Unmarshal(rec.Body.Bytes(), &p)
		if rec.Code != tc.status || p.Field != tc.field {
			t.Errorf("%s: %d %s; want %d naming %q", tc.name, rec.Code, rec.Body, tc.status, tc.field)
		}
	}
}

// Without a store there are no review routes to use: 404s that say why.
func TestReviewsWithoutStore(t *testing.T) {
	env := newRESTEnv(t, nil)
	rec := env.putReview(t, "demo-candidate", "compliance", `{"decision":"met","screening_id":"x"}`)
	if rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), errReviewsNotStored.Error()) {
		t.Errorf("PUT without store: %d %s", rec.Code, rec.Body)
	}
	for _, path := range []string{"/v1/patients/demo-candidate/reviews", "/v1/patients/demo-candidate/reviews/compliance"} {
		if rec := env.do(t, http.MethodGet, path, nil); rec.Code != http.StatusNotFound {
			t.Errorf("GET %s without store: %d", path, rec.Code)
		}
	}
	if res := screeningOf(t, env.do(t, http.MethodGet, "/v1/patients/demo-candidate/screening", nil)); res.Review != nil {
		t.Errorf("a document without a store has a review standing: %v", res.Review)
	}
}

// A store that fails: the decision is a 503 (and audited as failed), GET reviews too.
func TestReviewStoreDown(t *testing.T) {
	st := openStore(t, "")
	env := newRESTEnv(t, withStore(st))
	res := screeningOf(t, env.do(t, http.MethodGet, "/v1/patients/demo-candidate/screening", nil))
	_ = st.Close()
	rec := env.putReview(t, "demo-candidate", res.ReviewItems[0].Criterion, `{"decision":"met","screening_id":"`+res.ScreeningID+`"}`)
	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("PUT with the store down: %d %s", rec.Code, rec.Body)
	}
	for _, path := range []string{"/v1/patients/demo-candidate/reviews", "/v1/patients/demo-candidate/reviews/compliance"} {
		if rec := env.do(t, http.MethodGet, path, nil); rec.Code != http.StatusServiceUnavailable {
			t.Errorf("GET %s with the store down: %d %s", path, rec.Code, rec.Body)
		}
	}
}

// A decision whose evidence is not the current screening's is "to re-check" on it.
func TestReviewToRecheckOnLaterScreening(t *testing.T) {
	st := openStore(t, "")
	env := newRESTEnv(t, withStore(st))
	res := screeningOf(t, env.do(t, http.MethodGet, "/v1/patients/demo-candidate/screening", nil))
	item := res.ReviewItems[0].Criterion
	// As if the decision had judged another version of the record.
	err := st.SaveDecision(t.Context(), store.Decision{PatientID: "demo-candidate", Criterion: item, Decision: "met",
		CallerID: "portal", DecidedAt: testNow, ScreeningID: "earlier", Evidence: []store.EvidenceRef{{Resource: "Observation/old", VersionID: "1"}}})
	if err != nil {
		t.Fatal(err)
	}
	next := env.do(t, http.MethodGet, "/v1/patients/demo-candidate/screening", nil)
	stn := standingIn(t, next.Body.Bytes())
	if stn.ToRecheck != 1 || stn.Met != 0 || !strings.Contains(stn.Summary, "1 to re-check") {
		t.Errorf("standing %+v; want the decision to re-check, not counted as met", stn)
	}
}

// mustDecode reads a stored verdict document.
func mustDecode(t *testing.T, doc []byte) *screening.Screening {
	t.Helper()
	var d screening.Screening
	if err := decodeStored(doc, &d); err != nil {
		t.Fatal(err)
	}
	return &d
}

// On PostgreSQL, where a screening is stored and its patient's decisions read in one
// statement: the decision shows in the next screening's document and in the stored one.
func TestReviewDecisionOnPostgres(t *testing.T) {
	env, id, items := reviewedOn(t, pg.Database(t), nil)
	if rec := env.putReview(t, "demo-candidate", items[0], `{"decision":"met","screening_id":"`+id+`"}`); rec.Code != http.StatusOK {
		t.Fatalf("PUT: %d %s", rec.Code, rec.Body)
	}
	next := env.do(t, http.MethodGet, "/v1/patients/demo-candidate/screening", nil)
	st := standingIn(t, next.Body.Bytes())
	if st.Met != 1 || st.Items[0].Decision != "met" {
		t.Errorf("next screening's standing on PostgreSQL: %+v", st)
	}
	if got := standingIn(t, env.do(t, http.MethodGet, "/v1/screenings/"+id, nil).Body.Bytes()); got.Met != 1 {
		t.Errorf("stored screening's standing on PostgreSQL: %+v", got)
	}
}

// The history of one review item answers the newest maxHistoryDecisions, oldest first,
// and says earlier ones were left out: a caller saving in a loop cannot make one read
// cost without bound.
func TestReviewHistoryBounded(t *testing.T) {
	env, id, items := reviewed(t, nil)
	for i := range maxHistoryDecisions + 2 {
		body := `{"decision":"met","note":"n` + strconv.Itoa(i) + `","screening_id":"` + id + `"}`
		if rec := env.putReview(t, "demo-candidate", items[0], body); rec.Code != http.StatusOK {
			t.Fatalf("PUT %d: %d %s", i, rec.Code, rec.Body)
		}
	}
	rec := env.do(t, http.MethodGet, "/v1/patients/demo-candidate/reviews/"+items[0], nil)
	var h reviewHistory
	if err := json.Unmarshal(rec.Body.Bytes(), &h); err != nil || rec.Code != http.StatusOK {
		t.Fatalf("history: %d %.300s", rec.Code, rec.Body)
	}
	if len(h.Decisions) != maxHistoryDecisions || !h.EarlierOmitted || h.Decisions[0].Note != "n2" ||
		h.Decisions[maxHistoryDecisions-1].Note != "n"+strconv.Itoa(maxHistoryDecisions+1) {
		t.Errorf("history: %d decisions, earlier omitted %v, first %q; want %d, true, the newest (n2 first)",
			len(h.Decisions), h.EarlierOmitted, h.Decisions[0].Note, maxHistoryDecisions)
	}
	if !strings.Contains(rec.Body.String(), `"earlier_omitted":true`) {
		t.Errorf("the answer does not say earlier decisions were left out: %.200s", rec.Body.String()[len(rec.Body.String())-200:])
	}
}

// A PUT's body is bounded by maxReviewBodyBytes, not the service-wide limit for bundles:
// the longest note, escaped as long as JSON allows, fits; more is a 413 before the body
// is read.
func TestReviewDecisionBodyBounded(t *testing.T) {
	env, id, items := reviewed(t, nil)
	if rec := env.putReview(t, "demo-candidate", items[0], `{"decision":"met","note":"`+strings.Repeat(`x`, maxReviewBodyBytes)+`"}`); rec.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("a body over %d bytes: %d, want 413", maxReviewBodyBytes, rec.Code)
	}
	astral := strings.Repeat(`\ud83d\ude42`, maxNoteChars)
	if rec := env.putReview(t, "demo-candidate", items[0], `{"decision":"met","note":"`+astral+`","screening_id":"`+id+`"}`); rec.Code != http.StatusOK {
		t.Errorf("the longest note, fully escaped: %d %.300s", rec.Code, rec.Body)
	}
}
