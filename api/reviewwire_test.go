package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// decidingEnv is a sign-in service that stores screenings and decisions, with
// demo-candidate screened once by the portal (bearer): the env and that screening.
func decidingEnv(t *testing.T) (*signInEnv, storedDoc) {
	t.Helper()
	st := openStore(t, "")
	env := newReplica(t, newFakeIdP(t), st, nil, withStore(st))
	rec := env.do(t, http.MethodGet, reportPath, nil, "Authorization", "Bearer "+testPortalToken)
	doc := docOf(t, rec.Body.Bytes())
	if rec.Code != http.StatusOK || doc.ScreeningID == "" || len(env.reviewItems(t, doc.ScreeningID)) == 0 {
		t.Fatalf("screening demo-candidate: %d %.300s", rec.Code, rec.Body)
	}
	return env, doc
}

// reviewItems are the criteria a stored screening asks a person to decide.
func (e *signInEnv) reviewItems(t *testing.T, screeningID string) []string {
	t.Helper()
	rec := e.do(t, http.MethodGet, "/v1/screenings/"+screeningID, nil, "Authorization", "Bearer "+testPortalToken)
	var items []string
	for _, it := range screeningOf(t, rec).ReviewItems {
		items = append(items, it.Criterion)
	}
	return items
}

// page is an HTML page as a browser with the session ck asks for it.
func (e *signInEnv) page(t *testing.T, path string, ck *http.Cookie) *httptest.ResponseRecorder {
	t.Helper()
	return e.do(t, http.MethodGet, path, nil, "Accept", "text/html", "Cookie", cookieHeader(ck))
}

// postDecision posts the review form as a browser with the session ck would.
func (e *signInEnv) postDecision(t *testing.T, criterion string, form url.Values, ck *http.Cookie) *httptest.ResponseRecorder {
	t.Helper()
	h := []string{"Content-Type", "application/x-www-form-urlencoded", "Accept", "text/html"}
	if ck != nil {
		h = append(h, "Cookie", cookieHeader(ck))
	}
	return e.do(t, http.MethodPost, "/v1/patients/demo-candidate/reviews/"+criterion, strings.NewReader(form.Encode()), h...)
}

// A coordinator decides a review item from the stored report's form and is sent back to
// it, where the decision shows; the next screening's report shows it without a form and
// links to its stored report; the header names the person and signs out.
func TestReviewFormOnTheReport(t *testing.T) {
	env, doc := decidingEnv(t)
	items := env.reviewItems(t, doc.ScreeningID)
	ck := env.signIn(t, coordinatorClaims)
	token := env.s.csrfFor(ck.Value)
	stored := "/v1/screenings/" + doc.ScreeningID

	rec := env.page(t, stored, ck)
	body := rec.Body.String()
	if rec.Code != http.StatusOK || !strings.Contains(rec.Header().Get("Content-Security-Policy"), "form-action 'self'") {
		t.Fatalf("stored report: %d, CSP %q", rec.Code, rec.Header().Get("Content-Security-Policy"))
	}
	for _, want := range []string{
		`action="/v1/patients/demo-candidate/reviews/` + items[0] + `"`,
		`name="` + CSRFField + `" value="` + token + `"`,
		`id="review-standing">potentially eligible: 0 of `,
		`<strong id="user-name">Casey Coordinator</strong> (<span id="user-role">coordinator</span>)`,
		`action="/signout"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the stored report lacks %q", want)
		}
	}
	if n := strings.Count(body, `class="decide"`); n != len(items) {
		t.Errorf("%d review forms, want one per review item (%d)", n, len(items))
	}

	rec = env.postDecision(t, items[0], url.Values{"decision": {"met"}, "note": {"seen by the team"}, "screening_id": {doc.ScreeningID}, CSRFField: {token}}, ck)
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != stored+"#review-"+items[0] {
		t.Fatalf("decision: %d Location %q %.300s", rec.Code, rec.Header().Get("Location"), rec.Body)
	}
	body = env.page(t, stored, ck).Body.String()
	for _, want := range []string{`data-decision="met"`, "by Casey Coordinator on", "seen by the team", "potentially eligible: 1 of "} {
		if !strings.Contains(body, want) {
			t.Errorf("after the decision the report lacks %q", want)
		}
	}

	// A fresh screening's report: the decision, no form, a link to where decisions are made.
	rec = env.page(t, reportPath, ck)
	body = rec.Body.String()
	next := screeningIDIn(t, env, ck)
	if !strings.Contains(body, `data-decision="met"`) || strings.Contains(body, `class="decide"`) ||
		!strings.Contains(body, `Decisions are made on the stored report: <a href="/v1/screenings/`+next+`">`) {
		t.Errorf("the fresh report (stored as %s) shows no decision, or a form, or no link to the stored report:\n%.2000s", next, body)
	}
}

// screeningIDIn is the id of the patient's latest stored screening.
func screeningIDIn(t *testing.T, env *signInEnv, ck *http.Cookie) string {
	t.Helper()
	rec := env.do(t, http.MethodGet, "/v1/patients/demo-candidate/screenings?limit=1", nil, "Cookie", cookieHeader(ck))
	var list screeningList
	if err := json.Unmarshal(rec.Body.Bytes(), &list); err != nil {
		t.Fatalf("screenings list: %v %s", err, rec.Body)
	}
	if len(list.Screenings) == 0 {
		t.Fatalf("no stored screening: %s", rec.Body)
	}
	return list.Screenings[0].ID
}

// The form route refuses: a viewer (403, with a valid token), a session without the
// token (403 naming CSRF), no session and no bearer (401); a viewer's report has no form.
func TestReviewFormRefusals(t *testing.T) {
	env, doc := decidingEnv(t)
	item := env.reviewItems(t, doc.ScreeningID)[0]
	viewer := env.signIn(t, viewerClaims)
	coordinator := env.signIn(t, coordinatorClaims)
	form := func(token string) url.Values {
		v := url.Values{"decision": {"met"}, "screening_id": {doc.ScreeningID}}
		if token != "" {
			v.Set(CSRFField, token)
		}
		return v
	}
	for _, tc := range []struct {
		name   string
		form   url.Values
		ck     *http.Cookie
		status int
		detail string
	}{
		{"viewer", form(env.s.csrfFor(viewer.Value)), viewer, http.StatusForbidden, "this needs a coordinator"},
		{"no CSRF token", form(""), coordinator, http.StatusForbidden, "CSRF token missing or invalid"},
		{"another session's token", form(env.s.csrfFor(viewer.Value)), coordinator, http.StatusForbidden, "CSRF token missing or invalid"},
		{"no session, no bearer", form(""), nil, http.StatusUnauthorized, "Unauthorized"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := env.postDecision(t, item, tc.form, tc.ck)
			if rec.Code != tc.status || !strings.Contains(rec.Body.String(), tc.detail) {
				t.Errorf("%d %.300s; want %d naming %q", rec.Code, rec.Body, tc.status, tc.detail)
			}
		})
	}
	rec := env.do(t, http.MethodGet, "/v1/patients/demo-candidate/reviews", nil, "Authorization", "Bearer "+testPortalToken)
	if strings.Contains(rec.Body.String(), `"decision":"`) {
		t.Errorf("a refused form stored a decision: %s", rec.Body)
	}
	body := env.page(t, "/v1/screenings/"+doc.ScreeningID, viewer).Body.String()
	if strings.Contains(body, `class="decide"`) || !strings.Contains(body, `id="review-standing"`) || !strings.Contains(body, `(<span id="user-role">viewer</span>)`) {
		t.Errorf("the viewer's report has a form, or no standing, or no viewer in the header")
	}
}

// A card's report link shows the review standing and the EHR's feedback on that card;
// the link is no session, so it names nobody in the header.
func TestCardReportListsFeedback(t *testing.T) {
	env, _, card := feedbackEnv(t)
	body := `{"feedback":[{"card":"` + card.UUID + `","outcome":"overridden","overrideReason":{"reason":{"code":"c1","system":"https://example.com/r","display":"Not now"}},"outcomeTimestamp":"2030-06-15T09:03:00Z"}]}`
	if rec := env.postFeedback(t, env.feedbackToken(t), body); rec.Code != http.StatusOK {
		t.Fatalf("feedback: %d %s", rec.Code, rec.Body)
	}
	rec := env.get(t, pathOf(t, card.Links[0].URL), "text/html")
	page := rec.Body.String()
	if rec.Code != http.StatusOK || !strings.Contains(page, `<li data-outcome="overridden">Overridden on 2030-06-15 09:03 UTC: Not now</li>`) ||
		!strings.Contains(page, `id="review-standing">potentially eligible: 0 of `) {
		t.Errorf("the card's report lacks the feedback or the standing: %d", rec.Code)
	}
	if strings.Contains(page, `id="signed-in"`) {
		t.Error("a card link's report names a signed-in person")
	}
}

// In demo mode nobody signs in: the stored report offers the forms (no token needed,
// none printed), keeps the demo banner, and a form posted without a session is recorded.
func TestReviewFormInDemoMode(t *testing.T) {
	env, id, items := reviewed(t, nil)
	rec := env.do(t, http.MethodGet, "/v1/screenings/"+id, nil, "Accept", "text/html")
	page := rec.Body.String()
	if n := strings.Count(page, `class="decide"`); n != len(items) || !strings.Contains(page, DemoBanner) || strings.Contains(page, `id="signed-in"`) {
		t.Errorf("demo report: %d forms for %d items, banner %t, signed-in header %t", n, len(items), strings.Contains(page, DemoBanner), strings.Contains(page, `id="signed-in"`))
	}
	form := url.Values{"decision": {"not-met"}, "screening_id": {id}, CSRFField: {""}}
	rec = env.do(t, http.MethodPost, "/v1/patients/demo-candidate/reviews/"+items[0], strings.NewReader(form.Encode()), "Content-Type", "application/x-www-form-urlencoded")
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("demo form: %d %s", rec.Code, rec.Body)
	}
	page = env.do(t, http.MethodGet, "/v1/screenings/"+id, nil, "Accept", "text/html").Body.String()
	if !strings.Contains(page, `class="standing not-eligible" id="review-standing">not eligible by review: `+items[0]+` not met`) {
		t.Errorf("after a not-met decision the demo report does not say not eligible by review")
	}
}
