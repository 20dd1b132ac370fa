package api

import (
	"github.com/prometheus/client_golang/prometheus/testutil"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/trialscreen/trialscreen/store"
)

const reportPath = "/v1/patients/demo-candidate/screening"

func TestSignInCoordinatorReadsReportAndSignsOut(t *testing.T) {
	env := newSignInEnv(t)
	flow, authURL := env.startSignIn(t, reportPath)
	if !flow.HttpOnly || !flow.Secure || flow.SameSite != http.SameSiteLaxMode || flow.Path != "/auth/callback" {
		t.Errorf("flow cookie attributes: %+v", flow)
	}
	au, _ := url.Parse(authURL)
	if !strings.HasPrefix(authURL, env.idp.srv.URL+"/auth?") || au.Query().Get("redirect_uri") != testPublicURL+"/auth/callback" ||
		au.Query().Get("client_id") != env.idp.clientID || au.Query().Get("nonce") == "" {
		t.Errorf("authorization request %s", authURL)
	}
	code, state := env.idp.issue(t, authURL, env.clock.Now(), coordinatorClaims)
	rec := env.callback(t, flow, url.Values{"code": {code}, "state": {state}}.Encode())
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != reportPath {
		t.Fatalf("callback: status %d Location %q %s", rec.Code, rec.Header().Get("Location"), rec.Body)
	}
	ck := cookieNamed(rec, env.s.sessionCookieName())
	if ck == nil || !ck.HttpOnly || !ck.Secure || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" {
		t.Fatalf("session cookie attributes: %+v", ck)
	}
	// The flow is used up: the same callback again finds none.
	if again := env.callback(t, cookieNamed(rec, flowCookie), url.Values{"code": {code}, "state": {state}}.Encode()); again.Code != http.StatusBadRequest {
		t.Errorf("replayed callback: status %d, want 400", again.Code)
	}
	// Operators see sign-ins by outcome, never by person.
	for outcome, want := range map[string]float64{"ok": 1, "refused": 1} {
		if got := testutil.ToFloat64(env.s.cfg.Metrics.desk.signIns.WithLabelValues(outcome)); got != want {
			t.Errorf("trialscreen_signins_total{outcome=%q} = %v, want %v", outcome, got, want)
		}
	}

	page := env.do(t, http.MethodGet, reportPath, nil, "Accept", "text/html", "Cookie", cookieHeader(ck))
	if page.Code != http.StatusOK || !strings.Contains(page.Body.String(), "<table") {
		t.Fatalf("report with the session: status %d %.300s", page.Code, page.Body)
	}
	if audit := env.audit.String(); !strings.Contains(audit, "user:staff-0001") {
		t.Errorf("the report view is not audited under the signed-in user:\n%s", audit)
	}

	out := env.do(t, http.MethodPost, "/signout", strings.NewReader(url.Values{CSRFField: {env.s.csrfFor(ck.Value)}}.Encode()),
		"Content-Type", "application/x-www-form-urlencoded", "Accept", "text/html", "Cookie", cookieHeader(ck))
	if out.Code != http.StatusOK || !strings.Contains(out.Body.String(), "You are signed out") {
		t.Fatalf("sign-out: status %d %s", out.Code, out.Body)
	}
	if cleared := cookieNamed(out, env.s.sessionCookieName()); cleared == nil || cleared.MaxAge >= 0 {
		t.Errorf("sign-out did not clear the cookie: %+v", cleared)
	}
	// The row is gone: the old cookie, replayed, signs nobody in.
	after := env.do(t, http.MethodGet, reportPath, nil, "Accept", "text/html", "Cookie", cookieHeader(ck))
	wantLink := `href="/signin?next=%2Fv1%2Fpatients%2Fdemo-candidate%2Fscreening"`
	if after.Code != http.StatusUnauthorized || !strings.Contains(after.Body.String(), wantLink) || !strings.Contains(after.Body.String(), "Sign in") {
		t.Errorf("after sign-out: status %d, want 401 with a sign-in link %s:\n%s", after.Code, wantLink, after.Body)
	}
}

func TestSignInCallbackRefusals(t *testing.T) {
	env := newSignInEnv(t)
	now := env.clock.Now()
	tests := []struct {
		name   string
		run    func(t *testing.T) (flowCk *http.Cookie, query string)
		status int
		want   string
	}{
		{"wrong state", func(t *testing.T) (*http.Cookie, string) {
			flow, authURL := env.startSignIn(t, "/")
			code, _ := env.idp.issue(t, authURL, now, coordinatorClaims)
			return flow, url.Values{"code": {code}, "state": {"not-the-state"}}.Encode()
		}, http.StatusBadRequest, "the state does not match"},
		{"no flow cookie", func(t *testing.T) (*http.Cookie, string) {
			_, authURL := env.startSignIn(t, "/")
			code, state := env.idp.issue(t, authURL, now, coordinatorClaims)
			return nil, url.Values{"code": {code}, "state": {state}}.Encode()
		}, http.StatusBadRequest, "no sign-in in progress"},
		{"forged flow cookie", func(t *testing.T) (*http.Cookie, string) {
			return &http.Cookie{Name: flowCookie, Value: "bm90IGEgc2VhbGVkIGZsb3cgY29va2llIGF0IGFsbA"}, "code=x&state=y"
		}, http.StatusBadRequest, "no sign-in in progress"},
		{"expired flow cookie", func(t *testing.T) (*http.Cookie, string) {
			return sealedFlow(t, env, signInFlow{State: "s", Nonce: "n", Verifier: "v", Next: "/", Expires: now.Add(-time.Second).Unix()}), "code=x&state=s"
		}, http.StatusBadRequest, "no sign-in in progress"},
		{"missing PKCE verifier", func(t *testing.T) (*http.Cookie, string) {
			_, authURL := env.startSignIn(t, "/")
			code, state := env.idp.issue(t, authURL, now, coordinatorClaims)
			return sealedFlow(t, env, signInFlow{State: state, Nonce: "n", Next: "/", Expires: now.Add(time.Minute).Unix()}),
				url.Values{"code": {code}, "state": {state}}.Encode()
		}, http.StatusBadRequest, "no PKCE verifier"},
		{"another verifier than the challenge's", func(t *testing.T) (*http.Cookie, string) {
			_, authURL := env.startSignIn(t, "/")
			code, state := env.idp.issue(t, authURL, now, coordinatorClaims)
			return sealedFlow(t, env, signInFlow{State: state, Nonce: "n", Verifier: randomToken(), Next: "/", Expires: now.Add(time.Minute).Unix()}),
				url.Values{"code": {code}, "state": {state}}.Encode()
		}, http.StatusBadGateway, "did not accept the sign-in code"},
		{"provider refused", func(t *testing.T) (*http.Cookie, string) {
			flow, authURL := env.startSignIn(t, "/")
			u, _ := url.Parse(authURL)
			return flow, url.Values{"error": {"access_denied"}, "error_description": {"free text <b>"}, "state": {u.Query().Get("state")}}.Encode()
		}, http.StatusForbidden, "refused the sign-in (access_denied)"},
		{"no code", func(t *testing.T) (*http.Cookie, string) {
			flow, authURL := env.startSignIn(t, "/")
			u, _ := url.Parse(authURL)
			return flow, url.Values{"state": {u.Query().Get("state")}}.Encode()
		}, http.StatusBadRequest, "sent no code"},
		{"another sign-in's nonce", func(t *testing.T) (*http.Cookie, string) {
			flow, authURL := env.startSignIn(t, "/")
			code, state := env.idp.issue(t, authURL, now, map[string]any{"sub": "x", "roles": "trial-viewer", "nonce": "other"})
			return flow, url.Values{"code": {code}, "state": {state}}.Encode()
		}, http.StatusBadRequest, "not for this sign-in (nonce)"},
		{"expired ID token", func(t *testing.T) (*http.Cookie, string) {
			flow, authURL := env.startSignIn(t, "/")
			code, state := env.idp.issue(t, authURL, now.Add(-3*time.Hour), coordinatorClaims)
			return flow, url.Values{"code": {code}, "state": {state}}.Encode()
		}, http.StatusBadGateway, "could not be verified"},
		{"no role", func(t *testing.T) (*http.Cookie, string) {
			flow, authURL := env.startSignIn(t, "/")
			code, state := env.idp.issue(t, authURL, now, map[string]any{"sub": "staff-9", "roles": []any{"nurse"}})
			return flow, url.Values{"code": {code}, "state": {state}}.Encode()
		}, http.StatusForbidden, "no trialscreen role"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			flow, query := tt.run(t)
			rec := env.callback(t, flow, query)
			if rec.Code != tt.status || !strings.Contains(rec.Body.String(), tt.want) {
				t.Errorf("status %d, want %d with %q:\n%s", rec.Code, tt.status, tt.want, rec.Body)
			}
			if ck := cookieNamed(rec, env.s.sessionCookieName()); ck != nil {
				t.Errorf("a refused sign-in set a session cookie")
			}
			if strings.Contains(rec.Body.String(), "free text") {
				t.Error("the provider's error description was shown")
			}
		})
	}
}

// sealedFlow is a flow cookie the service itself would have sealed, with f's content.
func sealedFlow(t *testing.T, env *signInEnv, f signInFlow) *http.Cookie {
	t.Helper()
	rec := httptest.NewRecorder()
	env.s.setFlowCookie(env.s.echo.NewContext(httptest.NewRequest(http.MethodGet, "/signin", nil), rec), f)
	return cookieNamed(rec, flowCookie)
}

func TestSessionTimeouts(t *testing.T) {
	env := newSignInEnv(t)
	get := func(ck *http.Cookie) int {
		return env.do(t, http.MethodGet, reportPath, nil, "Cookie", cookieHeader(ck)).Code
	}
	t.Run("idle", func(t *testing.T) {
		ck := env.signIn(t, coordinatorClaims)
		env.clock.advance(20 * time.Minute)
		if code := get(ck); code != http.StatusOK {
			t.Fatalf("after 20 idle minutes: status %d, want 200", code)
		}
		env.clock.advance(31 * time.Minute)
		if code := get(ck); code != http.StatusUnauthorized {
			t.Errorf("after 31 idle minutes: status %d, want 401", code)
		}
	})
	t.Run("absolute", func(t *testing.T) {
		ck := env.signIn(t, coordinatorClaims)
		// Used every 20 minutes, it never idles out, but ends 12 hours after sign-in.
		for range 12*3 - 1 {
			env.clock.advance(20 * time.Minute)
			if code := get(ck); code != http.StatusOK {
				t.Fatalf("an active session refused before its 12 hours: status %d", code)
			}
		}
		env.clock.advance(20 * time.Minute)
		if code := get(ck); code != http.StatusUnauthorized {
			t.Errorf("after 12 hours: status %d, want 401", code)
		}
	})
}

func TestSessionForgedCookieIsUnauthenticated(t *testing.T) {
	env := newSignInEnv(t)
	real := env.signIn(t, coordinatorClaims)
	for name, value := range map[string]string{
		"random id":        randomToken(),
		"the id's hash":    sessionHash(real.Value), // what the store holds is not a credential
		"altered id":       real.Value[:len(real.Value)-2] + "AA",
		"oversized cookie": strings.Repeat("A", 4000),
	} {
		t.Run(name, func(t *testing.T) {
			rec := env.do(t, http.MethodGet, reportPath, nil, "Cookie", env.s.sessionCookieName()+"="+value)
			if p := problemOf(t, rec); p.Status != http.StatusUnauthorized || p.Detail != "authentication required" {
				t.Errorf("problem %+v, want the plain 401", p)
			}
		})
	}
}

func TestSignInNextIsLocalOnly(t *testing.T) {
	env := newSignInEnv(t)
	for next, want := range map[string]string{
		"https://evil.example/x":         "/",
		"//evil.example/x":               "/",
		"/\\evil.example":                "/",
		"javascript:alert(1)":            "/",
		"evil.example":                   "/",
		"/v1/x?y=1\r\nSet-Cookie":        "/",
		"":                               "/",
		reportPath + "?as_of=2026-01-01": reportPath + "?as_of=2026-01-01",
	} {
		t.Run(next, func(t *testing.T) {
			flow, authURL := env.startSignIn(t, next)
			code, state := env.idp.issue(t, authURL, env.clock.Now(), viewerClaims)
			rec := env.callback(t, flow, url.Values{"code": {code}, "state": {state}}.Encode())
			if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != want {
				t.Errorf("status %d Location %q, want %q", rec.Code, rec.Header().Get("Location"), want)
			}
		})
	}
}

func TestSignInLogsNoSecretsOrNames(t *testing.T) {
	env := newSignInEnv(t)
	ck := env.signIn(t, coordinatorClaims)
	env.do(t, http.MethodGet, reportPath, nil, "Accept", "text/html", "Cookie", cookieHeader(ck))
	env.do(t, http.MethodPost, "/signout", nil, "Cookie", cookieHeader(ck)) // refused: no CSRF token
	flow, authURL := env.startSignIn(t, "/")
	code, state := env.idp.issue(t, authURL, env.clock.Now(), map[string]any{"sub": "staff-0003", "name": "Nora Norole"})
	env.callback(t, flow, url.Values{"code": {code}, "state": {state}}.Encode())
	log := env.log.String()
	if !strings.Contains(log, "signed in") {
		t.Fatalf("the log has no sign-in at all (is the test looking at the right log?):\n%s", log)
	}
	for _, secret := range []string{ck.Value, sessionHash(ck.Value), fakeAccessToken, "client-secret-never-logged", code, state,
		"Casey Coordinator", "staff-0001", "Nora Norole", "staff-0003", "demo-candidate"} {
		if strings.Contains(log, secret) {
			t.Errorf("the log holds %q:\n%s", secret, log)
		}
	}
}

// Replicas share sessions through PostgreSQL: signed in on one, a person is signed in on
// all; signed out on one, on none. A sign-in started on one ends on another (the flow
// cookie is sealed with the shared key).
func TestSessionsSharedByReplicas(t *testing.T) {
	idp := newFakeIdP(t)
	url := pg.Database(t)
	key := []byte("a report-link key every replica shares, 32+ bytes")
	a, b := newReplica(t, idp, openStore(t, url), key), newReplica(t, idp, openStore(t, url), key)

	flow, authURL := a.startSignIn(t, reportPath)
	code, state := idp.issue(t, authURL, a.clock.Now(), coordinatorClaims)
	rec := b.callback(t, flow, "code="+code+"&state="+state)
	ck := cookieNamed(rec, b.s.sessionCookieName())
	if rec.Code != http.StatusSeeOther || ck == nil {
		t.Fatalf("a sign-in started on a, ended on b: status %d %s", rec.Code, rec.Body)
	}
	if got := a.do(t, http.MethodGet, reportPath, nil, "Cookie", cookieHeader(ck)); got.Code != http.StatusOK {
		t.Fatalf("the session made on b, used on a: status %d", got.Code)
	}
	out := b.do(t, http.MethodPost, "/signout", nil, "Cookie", cookieHeader(ck), CSRFHeader, a.s.csrfFor(ck.Value))
	if out.Code != http.StatusOK {
		t.Fatalf("sign-out on b with a's CSRF token: status %d %s", out.Code, out.Body)
	}
	if got := a.do(t, http.MethodGet, reportPath, nil, "Cookie", cookieHeader(ck)); got.Code != http.StatusUnauthorized {
		t.Errorf("signed out on b, still signed in on a: status %d", got.Code)
	}
}

// Over https the session cookie is __Host-trialscreen_session: browsers keep it only
// from this host, Secure, for Path=/ and without Domain. A plain trialscreen_session
// cookie (what an application on a sibling subdomain could plant for the parent
// domain) is no session, and a form sent with it needs no token because nothing is
// signed in.
func TestSessionCookieHostPrefix(t *testing.T) {
	env := newSignInEnv(t)
	ck := env.signIn(t, coordinatorClaims)
	if ck.Name != "__Host-trialscreen_session" || !ck.Secure || ck.Path != "/" || ck.Domain != "" {
		t.Errorf("session cookie %q secure %v path %q domain %q; want __Host-trialscreen_session, Secure, / and no Domain",
			ck.Name, ck.Secure, ck.Path, ck.Domain)
	}
	if page := env.do(t, http.MethodGet, reportPath, nil, "Accept", "text/html", "Cookie", cookieHeader(ck)); page.Code != http.StatusOK {
		t.Errorf("report with the __Host- session: status %d", page.Code)
	}
	tossed := "trialscreen_session=" + ck.Value
	if rec := env.do(t, http.MethodGet, reportPath, nil, "Cookie", tossed); rec.Code != http.StatusUnauthorized {
		t.Errorf("report with a plain-named cookie: status %d, want 401", rec.Code)
	}
	plain := &Server{cfg: Config{PublicURL: "http://127.0.0.1:8080"}}
	if got := plain.sessionCookieName(); got != "trialscreen_session" {
		t.Errorf("plain-http cookie name %q, want trialscreen_session (browsers refuse __Host- without https)", got)
	}
}

// A session row whose role is neither coordinator nor viewer signs nobody in: a caller
// without a role is a system caller, which may decide review items, so a row written
// with "" (by hand, or by another version) must not make its holder one.
func TestSessionWithoutAKnownRoleIsRefused(t *testing.T) {
	env := newSignInEnv(t)
	for _, role := range []string{"", "admin", "Coordinator"} {
		t.Run("role "+role, func(t *testing.T) {
			id := newSessionID()
			now := env.clock.Now()
			if err := env.s.cfg.Sessions.CreateSession(t.Context(), store.Session{IDHash: sessionHash(id), Subject: "staff-9",
				Role: role, Created: now, Expires: now.Add(time.Hour), LastSeen: now}); err != nil {
				t.Fatal(err)
			}
			ck := &http.Cookie{Name: env.s.sessionCookieName(), Value: id}
			if rec := env.do(t, http.MethodGet, reportPath, nil, "Cookie", cookieHeader(ck)); rec.Code != http.StatusUnauthorized {
				t.Errorf("report: status %d, want 401", rec.Code)
			}
			rec := env.do(t, http.MethodPut, "/v1/patients/demo-candidate/reviews/life-expectancy", strings.NewReader(`{"decision":"met","screening_id":"x"}`),
				"Content-Type", "application/json", CSRFHeader, env.s.csrfFor(id), "Cookie", cookieHeader(ck))
			if rec.Code != http.StatusUnauthorized {
				t.Errorf("PUT review: status %d %s, want 401", rec.Code, rec.Body)
			}
		})
	}
}

// Signing in again in a browser that holds a session (the previous person's on a shared
// workstation) ends that session: its cookie, replayed, signs nobody in.
func TestSignInEndsTheBrowsersPreviousSession(t *testing.T) {
	env := newSignInEnv(t)
	first := env.signIn(t, coordinatorClaims)
	flow, authURL := env.startSignIn(t, "/")
	code, state := env.idp.issue(t, authURL, env.clock.Now(), viewerClaims)
	rec := env.do(t, http.MethodGet, "/auth/callback?"+url.Values{"code": {code}, "state": {state}}.Encode(), nil,
		"Accept", "text/html", "Cookie", cookieHeader(flow, first))
	second := cookieNamed(rec, env.s.sessionCookieName())
	if rec.Code != http.StatusSeeOther || second == nil || second.Value == first.Value {
		t.Fatalf("second sign-in: status %d, cookie %+v", rec.Code, second)
	}
	if got := env.do(t, http.MethodGet, reportPath, nil, "Cookie", cookieHeader(first)).Code; got != http.StatusUnauthorized {
		t.Errorf("the previous session after a new sign-in: status %d, want 401", got)
	}
	if got := env.do(t, http.MethodGet, reportPath, nil, "Cookie", cookieHeader(second)).Code; got != http.StatusOK {
		t.Errorf("the new session: status %d, want 200", got)
	}
}
