package api

import (
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// linkToken is the token of a report link, checked to be for that patient's page.
func linkToken(t *testing.T, link, patientID string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	if want := cdsTestPublicURL + "/v1/patients/" + patientID + "/screening"; u.Scheme+"://"+u.Host+u.Path != want {
		t.Fatalf("link %q is not for %s", link, want)
	}
	return u.Query().Get("link")
}

func TestReportLink(t *testing.T) {
	env := newCDSTestEnv(t, cdsTestConfig{})
	s := env.s
	t0 := time.Unix(1_800_000_000, 0)
	tok := linkToken(t, s.reportLinkAt("demo-candidate", t0), "demo-candidate")
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(raw) != 40 {
		t.Fatalf("token %q is not 40 bytes of base64url", tok)
	}
	flip := func(i int) string {
		b := append([]byte(nil), raw...)
		b[i] ^= 1
		return base64.RawURLEncoding.EncodeToString(b)
	}
	tampered := flip(len(raw) - 1) // the MAC
	extended := flip(6)            // the expiry, about a minute later, MAC kept

	tests := []struct {
		name, patient, token string
		at                   time.Time
		want                 bool
	}{
		{"valid", "demo-candidate", tok, t0, true},
		{"valid just before expiry", "demo-candidate", tok, t0.Add(reportLinkTTL - time.Second), true},
		{"expired", "demo-candidate", tok, t0.Add(reportLinkTTL), false},
		{"other patient", "demo-ineligible-labs", tok, t0, false},
		{"patient id prefix", "demo-candidat", tok, t0, false},
		{"tampered MAC", "demo-candidate", tampered, t0, false},
		{"tampered expiry", "demo-candidate", extended, t0, false},
		{"truncated", "demo-candidate", tok[:len(tok)-4], t0, false},
		{"not base64url", "demo-candidate", tok[:10] + "+/" + tok[12:], t0, false},
		{"empty", "demo-candidate", "", t0, false},
		{"no patient", "", tok, t0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := s.verifyReportLinkAt(tt.patient, tt.token, tt.at); got != tt.want {
				t.Errorf("verify = %v, want %v", got, tt.want)
			}
		})
	}
}

// A link signed with another key (another deployment, or before a key change) fails,
// and without a configured key a random one signs (links still verify in-process).
func TestReportLinkKeys(t *testing.T) {
	a := newCDSTestEnv(t, cdsTestConfig{}).s
	b := newCDSTestEnv(t, cdsTestConfig{}).s
	a.cfg.ReportLinkKey = []byte("key A, 32 bytes long, for tests.")
	b.cfg.ReportLinkKey = []byte("key B, 32 bytes long, for tests.")
	now := time.Unix(1_800_000_000, 0)
	tok := linkToken(t, a.reportLinkAt("demo-candidate", now), "demo-candidate")
	if !a.verifyReportLinkAt("demo-candidate", tok, now) {
		t.Fatal("own link refused")
	}
	if b.verifyReportLinkAt("demo-candidate", tok, now) {
		t.Fatal("a link signed with another key was accepted")
	}
	c := newCDSTestEnv(t, cdsTestConfig{}).s // no key configured
	tok = linkToken(t, c.reportLinkAt("demo-candidate", now), "demo-candidate")
	if !c.verifyReportLinkAt("demo-candidate", tok, now) {
		t.Fatal("link with the process key refused")
	}
	if a.verifyReportLinkAt("demo-candidate", tok, now) {
		t.Fatal("a configured key accepted a process-key link")
	}
}

// verifyReportLink reads the patient from the :id path parameter and the token from
// ?link=, on the real clock.
func TestVerifyReportLinkFromRequest(t *testing.T) {
	s := newCDSTestEnv(t, cdsTestConfig{}).s
	link := s.reportLink("demo-candidate")
	u, _ := url.Parse(link)
	for _, tt := range []struct {
		name, path string
		want       bool
	}{
		{"its patient", u.Path + "?" + u.RawQuery, true},
		{"another patient", strings.Replace(u.Path, "demo-candidate", "demo-ineligible-labs", 1) + "?" + u.RawQuery, false},
		{"no link", u.Path, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := s.echo.NewContext(httptest.NewRequest(http.MethodGet, tt.path, nil), httptest.NewRecorder())
			c.SetParamNames("id")
			c.SetParamValues(strings.Split(strings.TrimPrefix(c.Request().URL.Path, "/v1/patients/"), "/")[0])
			if got := s.verifyReportLink(c); got != tt.want {
				t.Errorf("verifyReportLink = %v, want %v", got, tt.want)
			}
		})
	}
}

type cdsRefuseAll struct{}

func (cdsRefuseAll) Authenticate(*http.Request) (Caller, error) {
	return Caller{}, errors.New("no credentials")
}

// The card's link opens the patient's screening without a REST token; the same link
// for another patient does not.
func TestReportLinkOpensScreening(t *testing.T) {
	env := newCDSTestEnv(t, cdsTestConfig{})
	env.s.cfg.Auth = cdsRefuseAll{}
	status, body, _ := env.post(t, env.key.token(t, nil), cdsHookBody("demo-candidate", cdsDemoPrefetch(t, "candidate")))
	link := cdsOneCard(t, status, body).Links[0].URL
	u, _ := url.Parse(link)
	get := func(path string) int {
		rr := httptest.NewRecorder()
		env.h.ServeHTTP(rr, httptest.NewRequest(http.MethodGet, path, nil))
		return rr.Code
	}
	if code := get(u.Path + "?" + u.RawQuery); code != http.StatusOK {
		t.Errorf("the card's link: status %d, want 200", code)
	}
	other := strings.Replace(u.Path, "demo-candidate", "demo-ineligible-labs", 1)
	if code := get(other + "?" + u.RawQuery); code != http.StatusUnauthorized {
		t.Errorf("the link for another patient: status %d, want 401", code)
	}
}
