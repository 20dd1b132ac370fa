package api

import (
	"net/http"
	"strings"
	"testing"
)

func TestBrowsersGetErrorPagesJSONCallersProblems(t *testing.T) {
	env := newSignInEnv(t)
	const unknown = "/v1/patients/no-such-patient/screening"
	bearer := []string{"Authorization", "Bearer " + testPortalToken}
	t.Run("404 page", func(t *testing.T) {
		rec := env.do(t, http.MethodGet, unknown, nil, append(bearer, "Accept", "text/html,application/xhtml+xml,*/*;q=0.8")...)
		body := rec.Body.String()
		if rec.Code != http.StatusNotFound || rec.Header().Get("Content-Type") != "text/html; charset=utf-8" ||
			!strings.Contains(body, "<h1>Patient not found</h1>") || rec.Header().Get("Content-Security-Policy") != pageCSP {
			t.Errorf("status %d %q:\n%s", rec.Code, rec.Header().Get("Content-Type"), body)
		}
		if strings.Contains(body, "data-demo-banner") {
			t.Error("a service not in demo mode shows the demo banner")
		}
	})
	t.Run("404 problem for JSON callers, as before", func(t *testing.T) {
		for _, accept := range []string{"", "application/json", "*/*"} {
			rec := env.do(t, http.MethodGet, unknown, nil, append(bearer, "Accept", accept)...)
			if p := problemOf(t, rec); p.Status != http.StatusNotFound || p.Title != "Patient not found" {
				t.Errorf("Accept %q: problem %+v", accept, p)
			}
		}
	})
	t.Run("401 page offers sign-in back to the page", func(t *testing.T) {
		rec := env.do(t, http.MethodGet, reportPath+"?as_of=2026-01-01", nil, "Accept", "text/html")
		want := `href="/signin?next=%2Fv1%2Fpatients%2Fdemo-candidate%2Fscreening%3Fas_of%3D2026-01-01"`
		if rec.Code != http.StatusUnauthorized || !strings.Contains(rec.Body.String(), want) {
			t.Errorf("status %d, want 401 with %s:\n%s", rec.Code, want, rec.Body)
		}
	})
	t.Run("401 problem for JSON callers, as before", func(t *testing.T) {
		rec := env.do(t, http.MethodGet, reportPath, nil)
		if p := problemOf(t, rec); p.Status != http.StatusUnauthorized || rec.Header().Get("WWW-Authenticate") != "Bearer" {
			t.Errorf("problem %+v, WWW-Authenticate %q", p, rec.Header().Get("WWW-Authenticate"))
		}
	})
	t.Run("401 page without sign-in configured has no sign-in link", func(t *testing.T) {
		tokens, err := NewStaticTokens(map[string]string{"portal": testPortalToken})
		if err != nil {
			t.Fatal(err)
		}
		plain := newRESTEnv(t, func(c *Config) { c.Demo, c.Auth = false, tokens })
		rec := plain.do(t, http.MethodGet, reportPath, nil, "Accept", "text/html")
		if rec.Code != http.StatusUnauthorized || strings.Contains(rec.Body.String(), "/signin") ||
			!strings.Contains(rec.Body.String(), "no sign-in configured") {
			t.Errorf("status %d:\n%s", rec.Code, rec.Body)
		}
	})
}

func TestDemoBannerOnEveryPage(t *testing.T) {
	env := newRESTEnv(t, nil) // demo mode
	for name, target := range map[string]string{
		"report":   reportPath,
		"404 page": "/v1/patients/no-such-patient/screening",
		"no route": "/no-such-page",
	} {
		t.Run(name, func(t *testing.T) {
			rec := env.do(t, http.MethodGet, target, nil, "Accept", "text/html")
			body := rec.Body.String()
			if n := strings.Count(body, DemoBanner); n != 1 {
				t.Errorf("status %d: the banner shows %d times, want once:\n%.600s", rec.Code, n, body)
			}
			if i, j := strings.Index(body, "<body"), strings.Index(body, DemoBanner); i < 0 || j < i {
				t.Errorf("the banner is not inside the body:\n%.600s", body)
			}
		})
	}
	t.Run("JSON untouched", func(t *testing.T) {
		rec := env.do(t, http.MethodGet, reportPath, nil, "Accept", "application/json")
		if rec.Code != http.StatusOK || strings.Contains(rec.Body.String(), DemoBanner) {
			t.Errorf("status %d %.300s", rec.Code, rec.Body)
		}
	})
}
