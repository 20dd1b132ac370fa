package api

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/trialscreen/trialscreen/screening"
)

// linkToken is the token of a report link, checked to be for that card's report.
func linkToken(t *testing.T, link, cardUUID string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	if want := cdsTestPublicURL + "/v1/reports/" + cardUUID; u.Scheme+"://"+u.Host+u.Path != want {
		t.Fatalf("link %q is not for %s", link, want)
	}
	return u.Query().Get("link")
}

func TestReportLink(t *testing.T) {
	env := newCDSTestEnv(t, cdsTestConfig{})
	s := env.s
	t0 := time.Unix(1_800_000_000, 0)
	card, other := newCardUUID(), newCardUUID()
	tok := linkToken(t, s.reportLinkAt(card, reportLinkClaims{}, t0), card)
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(raw) != 42 {
		t.Fatalf("token %q is not 42 bytes of base64url (nonce, expiry, three empty fields, tag)", tok)
	}
	flip := func(i int) string {
		b := append([]byte(nil), raw...)
		b[i] ^= 1
		return base64.RawURLEncoding.EncodeToString(b)
	}

	tests := []struct {
		name, card, token string
		at                time.Time
		want              bool
	}{
		{"valid", card, tok, t0, true},
		{"valid just before expiry", card, tok, t0.Add(reportLinkTTL - time.Second), true},
		{"expired", card, tok, t0.Add(reportLinkTTL), false},
		{"other card", other, tok, t0, false},
		{"uuid prefix", card[:35], tok, t0, false},
		{"tampered tag", card, flip(len(raw) - 1), t0, false},
		{"tampered expiry", card, flip(12 + 6), t0, false}, // about a minute later if it opened
		{"tampered nonce", card, flip(0), t0, false},
		{"truncated", card, tok[:len(tok)-4], t0, false},
		{"not base64url", card, tok[:10] + "+/" + tok[12:], t0, false},
		{"empty", card, "", t0, false},
		{"no uuid", "", tok, t0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := s.verifyReportLinkAt(tt.card, tt.token, tt.at); got != tt.want {
				t.Errorf("verify = %v, want %v", got, tt.want)
			}
		})
	}
}

// A link carries the stored screening's id, the EHR's user and its FHIR server, sealed:
// none shows in the URL, and none can be changed or grafted onto another card's token.
func TestReportLinkSealsClaims(t *testing.T) {
	s := newCDSTestEnv(t, cdsTestConfig{}).s
	t0 := time.Unix(1_800_000_000, 0)
	card := newCardUUID()
	want := reportLinkClaims{ScreeningID: "Q2xhaW1lZFNjcmVlbmluZw", User: "Practitioner/dr-who", FHIRBase: "https://ehr.example.org/fhir"}
	link := s.reportLinkAt(card, want, t0)
	tok := linkToken(t, link, card)
	if got, ok := s.openReportLinkAt(card, tok, t0); !ok || got != want {
		t.Fatalf("open = %+v, %v; want %+v", got, ok, want)
	}
	raw, _ := base64.RawURLEncoding.DecodeString(tok)
	for _, secret := range []string{want.ScreeningID, "dr-who", "ehr.example.org"} {
		if strings.Contains(link, secret) || bytes.Contains(raw, []byte(secret)) {
			t.Errorf("%q shows in the link %q", secret, link)
		}
	}
	for i := 12; i < len(raw)-16; i++ { // every byte of the sealed expiry and fields
		b := append([]byte(nil), raw...)
		b[i] ^= 0x01
		if got, ok := s.openReportLinkAt(card, base64.RawURLEncoding.EncodeToString(b), t0); ok {
			t.Fatalf("byte %d altered, token still opens (%+v)", i, got)
		}
	}
	if _, ok := s.openReportLinkAt(newCardUUID(), tok, t0); ok {
		t.Error("the token opened for another card")
	}
	// A FHIR server too long for a link is left out: its evidence shows as plain text.
	long := reportLinkClaims{ScreeningID: "id", FHIRBase: "https://ehr.example.org/" + strings.Repeat("x", maxLinkField)}
	if got, ok := s.openReportLinkAt(card, linkToken(t, s.reportLinkAt(card, long, t0), card), t0); !ok || got.FHIRBase != "" || got.ScreeningID != "id" {
		t.Errorf("a long FHIR server: open = %+v, %v; want the id without the server", got, ok)
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
	card := newCardUUID()
	tok := linkToken(t, a.reportLinkAt(card, reportLinkClaims{}, now), card)
	if !a.verifyReportLinkAt(card, tok, now) {
		t.Fatal("own link refused")
	}
	if b.verifyReportLinkAt(card, tok, now) {
		t.Fatal("a link signed with another key was accepted")
	}
	c := newCDSTestEnv(t, cdsTestConfig{}).s // no key configured
	tok = linkToken(t, c.reportLinkAt(card, reportLinkClaims{}, now), card)
	if !c.verifyReportLinkAt(card, tok, now) {
		t.Fatal("link with the process key refused")
	}
	if a.verifyReportLinkAt(card, tok, now) {
		t.Fatal("a configured key accepted a process-key link")
	}
}

type cdsRefuseAll struct{}

func (cdsRefuseAll) Authenticate(*http.Request) (Caller, error) {
	return Caller{}, errors.New("no credentials")
}

// The REST screening route no longer takes a link in place of a token: a link opened a
// new screening from the service's own source, not the card's record. Even a token
// signed over the patient id in the path is refused.
func TestReportLinkDoesNotOpenRESTScreening(t *testing.T) {
	env := newCDSTestEnv(t, cdsTestConfig{})
	env.s.cfg.Auth = cdsRefuseAll{}
	tok := linkToken(t, env.s.reportLink("demo-candidate", reportLinkClaims{}), "demo-candidate")
	rr := httptest.NewRecorder()
	env.h.ServeHTTP(rr, httptest.NewRequest(http.MethodGet, "/v1/patients/demo-candidate/screening?link="+tok, nil))
	if rr.Code != http.StatusUnauthorized {
		t.Errorf("status %d, want 401: %s", rr.Code, rr.Body)
	}
	if strings.Contains(env.audit.String(), "demo-candidate") {
		t.Errorf("the refused request read the patient:\n%s", env.audit.String())
	}
}

// countingSource counts the records it is asked for.
type countingSource struct {
	screening.Source
	calls *int
}

func (c countingSource) Record(ctx context.Context, id string) (*screening.Record, error) {
	*c.calls++
	return c.Source.Record(ctx, id)
}

// cdsGet opens a path on the service with an optional Accept header.
func (e *cdsTestEnv) get(t *testing.T, target, accept string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	rr := httptest.NewRecorder()
	e.h.ServeHTTP(rr, req)
	return rr
}

func pathOf(t testing.TB, link string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	return u.Path + "?" + u.RawQuery
}

// The card's link opens the very screening the card was built from, from the EHR's
// prefetch, without a REST token and without reading the service's own source: here the
// prefetch (no Observations) gives insufficient data, where the service's demo source
// would say potentially eligible. Each view is audited under the EHR and its user.
func TestReportLinkOpensCardsScreening(t *testing.T) {
	env := newCDSTestEnv(t, cdsTestConfig{})
	env.s.cfg.Auth = cdsRefuseAll{}
	calls := 0
	env.s.cfg.Source = countingSource{env.s.cfg.Source, &calls}
	pf := cdsDemoPrefetch(t, "candidate")
	pf["Observation"] = json.RawMessage("null")
	status, body, _ := env.post(t, env.key.token(t, nil), cdsHookBody("demo-candidate", pf))
	card := cdsOneCard(t, status, body)
	if !strings.Contains(card.Summary, "insufficient data") {
		t.Fatalf("card summary %q, want insufficient data", card.Summary)
	}
	target := pathOf(t, card.Links[0].URL)
	auditBefore := len(env.audit.String())

	tests := []struct {
		name, accept, wantType string
	}{
		{"browser", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "text/html; charset=utf-8"},
		{"no Accept", "", "text/html; charset=utf-8"},
		{"JSON", "application/json", "application/json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rr := env.get(t, target, tt.accept)
			if rr.Code != http.StatusOK {
				t.Fatalf("status %d, want 200: %s", rr.Code, rr.Body)
			}
			if ct := rr.Header().Get("Content-Type"); !strings.HasPrefix(ct, tt.wantType) {
				t.Errorf("Content-Type %q, want %q", ct, tt.wantType)
			}
			if cc := rr.Header().Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control %q", cc)
			}
			if tt.wantType == "application/json" {
				var res screening.Screening
				if err := json.Unmarshal(rr.Body.Bytes(), &res); err != nil {
					t.Fatal(err)
				}
				if res.Verdict != screening.InsufficientData || res.Patient.ID != "demo-candidate" {
					t.Errorf("verdict %s for %s, want the card's insufficient-data for demo-candidate", res.Verdict, res.Patient.ID)
				}
				return
			}
			checkReportHeaders(t, rr.Header(), rr.Body.Bytes())
			doc, err := html.Parse(bytes.NewReader(rr.Body.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			if text := nodeText(doc); !strings.Contains(text, "Insufficient data") || !strings.Contains(text, "Patient/demo-candidate") {
				t.Errorf("the page does not show the card's verdict for the patient:\n%.600s", text)
			}
		})
	}
	if calls != 0 {
		t.Errorf("the service's own source was read %d times; the report must be the card's", calls)
	}
	var views []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(env.audit.String()[auditBefore:]), "\n") {
		var ev map[string]any
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("audit line %q: %v", line, err)
		}
		views = append(views, ev)
	}
	if len(views) != len(tests) {
		t.Fatalf("%d audit records for %d views", len(views), len(tests))
	}
	audit := env.audit.String()[auditBefore:]
	for _, want := range []string{"Patient/demo-candidate", cdsTestIssuer, "Practitioner/example", `"valueString":"report"`,
		`"valueString":"cds-card"`, `{"type":"cds-card-uuid","valueString":"` + card.UUID + `"}`} {
		if !strings.Contains(audit, want) {
			t.Errorf("the views' audit records lack %q:\n%s", want, audit)
		}
	}
}

// A link that cannot be served is a 404 problem telling the clinician to reopen the
// chart, whatever the reason, and reads nothing.
func TestReportLinkRefused(t *testing.T) {
	env := newCDSTestEnv(t, cdsTestConfig{})
	status, body, _ := env.post(t, env.key.token(t, nil), cdsHookBody("demo-candidate", cdsDemoPrefetch(t, "candidate")))
	card := cdsOneCard(t, status, body)
	status, body, _ = env.post(t, env.key.token(t, nil), cdsHookBody("demo-ineligible-labs", cdsDemoPrefetch(t, "ineligible-labs")))
	other := cdsOneCard(t, status, body)
	tok := linkToken(t, card.Links[0].URL, card.UUID)
	never := newCardUUID() // a valid link for a card the service never made (or has evicted)
	neverTok := linkToken(t, env.s.reportLink(never, reportLinkClaims{}), never)
	auditBefore := len(env.audit.String())

	tests := []struct{ name, target string }{
		{"no token", "/v1/reports/" + card.UUID},
		{"tampered token", "/v1/reports/" + card.UUID + "?link=" + tok[:len(tok)-2] + "AA"},
		{"another card's token", "/v1/reports/" + other.UUID + "?link=" + tok},
		{"not a uuid", "/v1/reports/demo-candidate?link=" + tok},
		{"upper-case uuid", "/v1/reports/" + strings.ToUpper(card.UUID) + "?link=" + tok},
		{"valid link, report not held", "/v1/reports/" + never + "?link=" + neverTok},
		{"expired token", "/v1/reports/" + card.UUID + "?link=" + linkToken(t, env.s.reportLinkAt(card.UUID, reportLinkClaims{}, env.s.cfg.Now().Add(-2*reportLinkTTL)), card.UUID)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rr := env.get(t, tt.target, "text/html")
			if rr.Code != http.StatusNotFound {
				t.Fatalf("status %d, want 404: %s", rr.Code, rr.Body)
			}
			// A browser gets the error as a page (htmlerrors.go), with the same words.
			if ct := rr.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			if cc := rr.Header().Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control %q", cc)
			}
			if body := rr.Body.String(); !strings.Contains(body, "expired") || !strings.Contains(body, "reopen the patient&#39;s chart") {
				t.Errorf("page = %s", body)
			}
		})
	}
	if a := env.audit.String()[auditBefore:]; a != "" {
		t.Errorf("refused links left audit records:\n%s", a)
	}
	if rr := env.get(t, pathOf(t, card.Links[0].URL), ""); rr.Code != http.StatusOK {
		t.Errorf("the card's own link: status %d after the refusals", rr.Code)
	}
}

// Evidence in a card's report links to the EHR's FHIR server when the record came from
// it, and stays plain text for prefetched data (no server a browser could open).
func TestReportLinkEvidenceLinks(t *testing.T) {
	fhir := newCDSFakeFHIR(t, "candidate")
	env := newCDSTestEnv(t, cdsTestConfig{fhirServers: []string{fhir.srv.URL}})
	fetched := cdsHookBody("demo-candidate", nil)
	fetched["fhirServer"] = fhir.srv.URL + "/"
	fetched["fhirAuthorization"] = map[string]any{"access_token": "tok", "token_type": "Bearer"}
	tests := []struct {
		name       string
		body       map[string]any
		wantPrefix string // "" for plain text
	}{
		{"from fhirServer", fetched, fhir.srv.URL + "/"},
		{"from the prefetch", cdsHookBody("demo-candidate", cdsDemoPrefetch(t, "candidate")), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body, _ := env.post(t, env.key.token(t, nil), tt.body)
			card := cdsOneCard(t, status, body)
			rr := env.get(t, pathOf(t, card.Links[0].URL), "text/html")
			if rr.Code != http.StatusOK {
				t.Fatalf("status %d: %s", rr.Code, rr.Body)
			}
			doc, err := html.Parse(bytes.NewReader(rr.Body.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			table := nodeWhere(t, doc, func(n *html.Node) bool { return nodeAttr(n, "id") == "criteria" })
			refs := nodesWhere(table, nodeClass("ref"))
			if len(refs) < 20 {
				t.Fatalf("%d evidence references, want the candidate's (more than 20)", len(refs))
			}
			for _, r := range refs {
				switch {
				case tt.wantPrefix == "" && r.Data == "a":
					t.Errorf("%s links to %q; prefetched evidence has no server to link to", nodeText(r), nodeAttr(r, "href"))
				case tt.wantPrefix != "" && (r.Data != "a" || nodeAttr(r, "href") != tt.wantPrefix+nodeText(r)):
					t.Errorf("evidence %s: <%s href=%q>, want a link to %q", nodeText(r), r.Data, nodeAttr(r, "href"), tt.wantPrefix+nodeText(r))
				}
			}
		})
	}
}
