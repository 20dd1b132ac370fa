package api

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"
)

// httptestRequest is a GET with headers given as name, value pairs.
func httptestRequest(headers ...string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Add(headers[i], headers[i+1])
	}
	return r
}

func TestRequireDecider(t *testing.T) {
	env := newSignInEnv(t)
	// A page that records decisions, as the review helpers' routes will be.
	env.s.echo.GET("/test/decide", func(c echo.Context) error { return c.String(http.StatusOK, "decided") },
		env.s.authenticate(), env.s.requireDecider())
	tests := []struct {
		name    string
		headers []string
		status  int
	}{
		{"viewer", []string{"Cookie", cookieHeader(env.signIn(t, viewerClaims))}, http.StatusForbidden},
		{"coordinator", []string{"Cookie", cookieHeader(env.signIn(t, coordinatorClaims))}, http.StatusOK},
		{"portal (bearer)", []string{"Authorization", "Bearer " + testPortalToken}, http.StatusOK},
		{"nobody", nil, http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := env.do(t, http.MethodGet, "/test/decide", nil, tt.headers...)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.status, rec.Body)
			}
			if tt.status == http.StatusForbidden {
				if p := problemOf(t, rec); p.Detail != "this needs a coordinator: your role lets you read reports but not decide review items" {
					t.Errorf("problem %+v", p)
				}
			}
		})
	}
	t.Run("the demo's caller is a coordinator", func(t *testing.T) {
		demo := newRESTEnv(t, nil)
		demo.s.echo.GET("/test/decide", func(c echo.Context) error { return c.String(http.StatusOK, "decided") },
			demo.s.authenticate(), demo.s.requireDecider())
		if rec := demo.do(t, http.MethodGet, "/test/decide", nil); rec.Code != http.StatusOK {
			t.Errorf("status %d %s", rec.Code, rec.Body)
		}
	})
}
