package api

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// reviewedItem is the review item the browser test decides: the ECG, a person's
// reading of one Observation, whose version a newer record changes.
const (
	reviewedItem     = "ecg"
	reviewedResource = "demo-candidate-obs-11"
)

// browserSignIn opens start without a session, follows the 401 page's sign-in link,
// fills in the provider's login form and consents, and waits until the browser is back
// at the service showing ready.
func browserSignIn(t *testing.T, ctx context.Context, start, login, ready string) {
	t.Helper()
	if _, err := chromedp.Call(ctx, network.ClearBrowserCookies, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx,
		chromedp.Navigate(start),
		chromedp.Click(chromedp.ID("page-link")),
		chromedp.WaitVisible(chromedp.CSS(`input[name="login"]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name="login"]`), login),
		chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), "any password"),
		chromedp.Submit(chromedp.CSS(`input[name="login"]`)),
		chromedp.WaitReady(chromedp.CSS(`input[name="prompt"][value="consent"]`)),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
		chromedp.WaitReady(chromedp.CSS(ready+`, #message`)),
	); err != nil {
		t.Fatalf("signing in as %s: %v", login, err)
	}
	if msg, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector("#message")||{}).textContent||""`)); err != nil || msg != "" {
		t.Fatalf("signing in as %s ended on an error page: %q (%v)", login, msg, err)
	}
}

// restCall sends a portal's request (bearer token) and decodes the verdict document.
func restCall(t *testing.T, method, target, body string) storedDoc {
	t.Helper()
	req, err := http.NewRequest(method, target, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testPortalToken)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: %d %.300s", method, target, resp.StatusCode, data)
	}
	return docOf(t, data)
}

// newerRecord is demo-candidate's record with the judged Observation at a newer
// meta.versionId: the evidence behind the decision changed.
func newerRecord(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile("../demo/patients/candidate.json")
	if err != nil {
		t.Fatal(err)
	}
	var bundle map[string]any
	if err := json.Unmarshal(data, &bundle); err != nil {
		t.Fatal(err)
	}
	changed := false
	for _, e := range bundle["entry"].([]any) {
		r := e.(map[string]any)["resource"].(map[string]any)
		if r["id"] == reviewedResource {
			r["meta"], changed = map[string]any{"versionId": "2"}, true
		}
	}
	if !changed {
		t.Fatalf("the demo record has no %s", reviewedResource)
	}
	out, _ := json.Marshal(map[string]any{"bundle": bundle})
	return string(out)
}

// TestReviewDecisionInBrowser is the coordinator's desk end to end in headless Chromium
// with a real OpenID provider: sign in, the worklist, a patient's report, a decision
// recorded from its form and shown there; the next screening's report shows it; a
// record with a newer version of the judged resource makes it "to re-check"; a viewer
// sees it without a form, and the viewer's forged POST is refused.
func TestReviewDecisionInBrowser(t *testing.T) {
	ln, publicURL, issuer, si := providerSignIn(t)
	tokens, err := NewStaticTokens(map[string]string{"portal": testPortalToken})
	if err != nil {
		t.Fatal(err)
	}
	st := openStore(t, "")
	env := newRESTEnv(t, func(c *Config) {
		withStore(st)(c)
		c.Demo, c.PublicURL, c.SignIn, c.Sessions, c.Auth, c.Now = false, publicURL, si, st, tokens, providerClock(t, issuer)
	})
	srv := serveOn(t, ln, env.s.Handler())

	first := restCall(t, http.MethodGet, srv.URL+reportPath, "") // a portal screened the patient
	ctx := newBrowser(t)
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("reading %s: %v", sel, err)
		}
		return strings.TrimSpace(s)
	}
	count := func(sel string) int {
		t.Helper()
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll(`+strconvQuote(sel)+`).length`))
		if err != nil {
			t.Fatalf("counting %s: %v", sel, err)
		}
		return n
	}
	item := "#review-" + reviewedItem

	// The coordinator signs in at the worklist and opens the patient's report from it.
	browserSignIn(t, ctx, srv.URL+"/", "coordinator", "#worklist")
	if name, role := text("#user-name"), text("#user-role"); name != "Casey Coordinator" || role != "coordinator" {
		t.Errorf("the worklist's header names %q (%q)", name, role)
	}
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`#worklist a[href="/v1/screenings/`+first.ScreeningID+`"]`)),
		chromedp.WaitReady(chromedp.CSS(item+" form.decide")),
	); err != nil {
		t.Fatalf("opening the report from the worklist: %v", err)
	}
	if got := text("#user-name"); got != "Casey Coordinator" {
		t.Errorf("the report's header names %q", got)
	}

	// Deciding: met, with a note; the browser comes back to the report, showing it.
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(item+` input[name="decision"][value="met"]`)),
		chromedp.SendKeys(chromedp.CSS(item+` textarea[name="note"]`), "sinus rhythm, read by cardiology"),
		chromedp.Click(chromedp.CSS(item+` button[type="submit"]`)),
		// Back on the report with the decision, or on an error page: never a wait for
		// something that cannot come.
		chromedp.WaitReady(chromedp.CSS(item+`[data-decision="met"], #message`)),
	); err != nil {
		t.Fatalf("deciding %s: %v", reviewedItem, err)
	}
	if n := count(item + `[data-decision="met"]`); n != 1 {
		t.Fatalf("after deciding, the browser shows no decision: %q", text("main"))
	}
	if note, who := text(item+" .note"), text(item+" .who"); note != "sinus rhythm, read by cardiology" || !strings.HasPrefix(who, "by Casey Coordinator on ") {
		t.Errorf("the decision shows note %q, %q", note, who)
	}
	if standing := text("#review-standing"); !strings.Contains(standing, "potentially eligible: 1 of ") || !strings.Contains(standing, " review items met") {
		t.Errorf("the standing says %q", standing)
	}

	// The next screening (a portal's) shows the decision, not to re-check.
	second := restCall(t, http.MethodGet, srv.URL+reportPath, "")
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/v1/screenings/"+second.ScreeningID), chromedp.WaitReady(chromedp.CSS(item))); err != nil {
		t.Fatal(err)
	}
	if count(item+`[data-decision="met"]`) != 1 || count(item+"[data-recheck]") != 0 {
		t.Errorf("the next screening's report shows the decision as %q, want met and not to re-check", text(item))
	}

	// A record with a newer version of the judged ECG: to re-check.
	third := restCall(t, http.MethodPost, srv.URL+"/v1/screenings", newerRecord(t))
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/v1/screenings/"+third.ScreeningID), chromedp.WaitReady(chromedp.CSS(item))); err != nil {
		t.Fatal(err)
	}
	if count(item+`[data-recheck="true"] .recheck`) != 1 || !strings.Contains(text(item), "to re-check") {
		t.Errorf("after the evidence changed the decision shows as %q, want to re-check", text(item))
	}
	if standing := text("#review-standing"); !strings.Contains(standing, "1 to re-check") {
		t.Errorf("the standing says %q", standing)
	}

	// A viewer: the decision, no form; a POST made with the viewer's session and a valid
	// CSRF token is refused all the same.
	third3 := srv.URL + "/v1/screenings/" + third.ScreeningID
	browserSignIn(t, ctx, third3, "viewer", item)
	if n, role := count("form.decide"), text("#user-role"); n != 0 || role != "viewer" {
		t.Errorf("the viewer (%q) sees %d review forms", role, n)
	}
	if got := text(item + " .decided"); !strings.HasPrefix(got, "Met") {
		t.Errorf("the viewer sees the decision as %q", got)
	}
	cookies, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{srv.URL + "/"}})
	if err != nil {
		t.Fatal(err)
	}
	var session string
	for _, ck := range cookies.Cookies {
		if ck.Name == sessionCookie {
			session = ck.Value
		}
	}
	form := url.Values{"decision": {"not-met"}, "screening_id": {third.ScreeningID}, CSRFField: {env.s.csrfFor(session)}}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/patients/demo-candidate/reviews/"+reviewedItem, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(&http.Cookie{Name: sessionCookie, Value: session})
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if session == "" || resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "this needs a coordinator") {
		t.Errorf("the viewer's forged POST: %d %.300s (session cookie found: %t)", resp.StatusCode, body, session != "")
	}
	for _, secret := range []string{"Casey Coordinator", "Val Viewer", "sinus rhythm", "demo-candidate"} {
		if strings.Contains(env.log.String(), secret) {
			t.Errorf("the log holds %q", secret)
		}
	}
}

// strconvQuote quotes a CSS selector as a JavaScript string.
func strconvQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
