package api

import (
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
)

func TestCSRFRefusesFormsWithoutTheSessionsToken(t *testing.T) {
	env := newSignInEnv(t)
	ck := env.signIn(t, coordinatorClaims)
	other := env.signIn(t, viewerClaims)
	form := func(token string) *strings.Reader {
		return strings.NewReader(url.Values{CSRFField: {token}, "patient_id": {"demo-candidate"}}.Encode())
	}
	const formType = "application/x-www-form-urlencoded"
	tests := []struct {
		name, target, token string
		headers             []string
	}{
		{"sign-out without a token", "/signout", "", nil},
		{"sign-out with another session's token", "/signout", env.s.csrfFor(other.Value), nil},
		{"sign-out with a made-up token", "/signout", "AAAA", nil},
		{"a REST POST made with the session cookie", "/v1/screenings", "", nil},
		{"a token in the header, but the wrong one", "/signout", "", []string{CSRFHeader, env.s.csrfFor(other.Value)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := append([]string{"Content-Type", formType, "Cookie", cookieHeader(ck)}, tt.headers...)
			rec := env.do(t, http.MethodPost, tt.target, form(tt.token), h...)
			if p := problemOf(t, rec); p.Status != http.StatusForbidden || !strings.Contains(p.Detail, "CSRF token missing or invalid") {
				t.Errorf("problem %+v, want 403 naming CSRF", p)
			}
		})
	}
	// The session is still there: the refused sign-outs did nothing.
	if rec := env.do(t, http.MethodGet, reportPath, nil, "Cookie", cookieHeader(ck)); rec.Code != http.StatusOK {
		t.Fatalf("the session did not survive the refused sign-outs: status %d", rec.Code)
	}
	t.Run("the page's token in the header is accepted", func(t *testing.T) {
		rec := env.do(t, http.MethodPost, "/signout", nil, "Cookie", cookieHeader(other), CSRFHeader, env.s.csrfFor(other.Value))
		if rec.Code != http.StatusOK {
			t.Errorf("status %d %s", rec.Code, rec.Body)
		}
	})
	t.Run("a bearer caller needs no token", func(t *testing.T) {
		rec := env.postJSON(t, `{"patient_id":"demo-candidate"}`, "Authorization", "Bearer "+testPortalToken)
		if rec.Code != http.StatusOK {
			t.Errorf("status %d %s", rec.Code, rec.Body)
		}
	})
}

func TestCSRFTokenAccessor(t *testing.T) {
	env := newSignInEnv(t)
	ck := env.signIn(t, coordinatorClaims)
	with := env.s.echo.NewContext(httptestRequest("Cookie", cookieHeader(ck)), nil)
	if tok := env.s.csrfToken(with); tok == "" || tok != env.s.csrfFor(ck.Value) {
		t.Errorf("csrfToken = %q, want the session's token", tok)
	}
	if tok := env.s.csrfToken(env.s.echo.NewContext(httptestRequest(), nil)); tok != "" {
		t.Errorf("csrfToken without a session = %q, want empty", tok)
	}
}

// The CSRF check runs before authentication, for anyone sending a cookie of the
// session's name: it parses only a URL-encoded form of at most maxCSRFFormBytes. A
// larger form, or a multipart one, is refused even with the right token (the service's
// own forms are URL-encoded and a few KiB), so a forged cookie cannot make it parse a
// 16 MiB body the memory limiter never sees.
func TestCSRFParsesOnlySmallURLEncodedForms(t *testing.T) {
	env := newSignInEnv(t)
	ck := env.signIn(t, coordinatorClaims)
	token := env.s.csrfFor(ck.Value)
	big := url.Values{"pad": {strings.Repeat("x", maxCSRFFormBytes)}, CSRFField: {token}}.Encode()
	var mp strings.Builder
	w := multipart.NewWriter(&mp)
	_ = w.WriteField(CSRFField, token)
	_ = w.Close()
	for name, tc := range map[string]struct{ body, contentType string }{
		"a form over the bound": {big, "application/x-www-form-urlencoded"},
		"a multipart form":      {mp.String(), w.FormDataContentType()},
	} {
		t.Run(name, func(t *testing.T) {
			rec := env.do(t, http.MethodPost, "/signout", strings.NewReader(tc.body), "Content-Type", tc.contentType, "Cookie", cookieHeader(ck))
			if p := problemOf(t, rec); p.Status != http.StatusForbidden || !strings.Contains(p.Detail, "CSRF token missing or invalid") {
				t.Errorf("problem %+v, want 403 naming CSRF", p)
			}
		})
	}
	small := url.Values{CSRFField: {token}, "note": {strings.Repeat("é", maxNoteChars)}}.Encode()
	if rec := env.do(t, http.MethodPost, "/signout", strings.NewReader(small), "Content-Type", "application/x-www-form-urlencoded; charset=utf-8",
		"Cookie", cookieHeader(ck)); rec.Code != http.StatusOK {
		t.Errorf("a form with the longest note and the token: status %d %s", rec.Code, rec.Body)
	}
}

// The CSRF check reads a form's token without taking the body from the route's handler:
// the handler reads the body as it was sent, to parse it with its own checks.
func TestCSRFLeavesTheFormBodyToTheHandler(t *testing.T) {
	env := newSignInEnv(t)
	ck := env.signIn(t, coordinatorClaims)
	env.s.echo.POST("/test/form", func(c echo.Context) error {
		b, err := io.ReadAll(c.Request().Body)
		if err != nil {
			return err
		}
		return c.String(http.StatusOK, string(b))
	})
	body := url.Values{CSRFField: {env.s.csrfFor(ck.Value)}, "decision": {"met"}, "note": {"a & b"}}.Encode()
	rec := env.do(t, http.MethodPost, "/test/form", strings.NewReader(body), "Content-Type", "application/x-www-form-urlencoded", "Cookie", cookieHeader(ck))
	if rec.Code != http.StatusOK || rec.Body.String() != body {
		t.Errorf("the handler read %d %q; want 200 and the body as sent, %q", rec.Code, rec.Body, body)
	}
}
