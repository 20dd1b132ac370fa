package api

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/trialscreen/trialscreen/demo"
	"github.com/trialscreen/trialscreen/fhirbundle"
	"github.com/trialscreen/trialscreen/fhirclient"
	"github.com/trialscreen/trialscreen/protocols"
	"github.com/trialscreen/trialscreen/screening"
)

const (
	cdsTestIssuer    = "https://ehr.example.org"
	cdsTestPublicURL = "https://trialscreen.example.org"
	cdsTestAudience  = cdsTestPublicURL + "/cds-services/trialscreen-patient-view"
	cdsTestPath      = "/cds-services/trialscreen-patient-view"
)

var cdsTestProtocol = sync.OnceValues(protocols.LoadDefault)

func cdsProtocol(t testing.TB) *screening.Protocol {
	t.Helper()
	p, err := cdsTestProtocol()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// cdsSyncBuffer is a log sink that the handler goroutines and the test share.
type cdsSyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *cdsSyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *cdsSyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// cdsTestKey is an EHR's signing key and its public JWK.
type cdsTestKey struct {
	kid    string
	method jwt.SigningMethod
	priv   crypto.Signer
	jwk    map[string]any
}

func cdsB64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func newCDSTestKeyEC(t testing.TB, kid string) *cdsTestKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := k.PublicKey.ECDH()
	if err != nil {
		t.Fatal(err)
	}
	pt := pub.Bytes()[1:] // 0x04 || X || Y
	return &cdsTestKey{kid: kid, method: jwt.SigningMethodES384, priv: k, jwk: map[string]any{
		"kty": "EC", "crv": "P-384", "kid": kid, "use": "sig", "alg": "ES384",
		"x": cdsB64(pt[:48]), "y": cdsB64(pt[48:]),
	}}
}

func newCDSTestKeyRSA(t testing.TB, kid string) *cdsTestKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return &cdsTestKey{kid: kid, method: jwt.SigningMethodRS384, priv: k, jwk: map[string]any{
		"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS384",
		"n": cdsB64(k.N.Bytes()), "e": cdsB64(big.NewInt(int64(k.E)).Bytes()),
	}}
}

func cdsTestJWKS(keys ...*cdsTestKey) []byte {
	var ks []any
	for _, k := range keys {
		ks = append(ks, k.jwk)
	}
	b, _ := json.Marshal(map[string]any{"keys": ks})
	return b
}

// token signs a valid hook-call JWT, issued when the test clocks start (testNow); edit
// changes its claims or header first.
func (k *cdsTestKey) token(t testing.TB, edit func(c jwt.MapClaims, h map[string]any)) string {
	t.Helper()
	now := testNow
	c := jwt.MapClaims{
		"iss": cdsTestIssuer, "aud": cdsTestAudience, "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
		"jti": newCardUUID(), "tenant": "t1",
	}
	tok := jwt.NewWithClaims(k.method, c)
	tok.Header["kid"] = k.kid
	if edit != nil {
		edit(c, tok.Header)
	}
	s, err := tok.SignedString(k.priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// cdsTestEnv is a Server with one EHR allowed, whose key signs the tests' JWTs.
type cdsTestEnv struct {
	s          *Server
	h          http.Handler
	key        *cdsTestKey
	audit      *cdsSyncBuffer
	logs       *cdsSyncBuffer
	clock      *testClock
	newSources atomic.Int32
}

type cdsTestConfig struct {
	client       *CDSClient // nil: the test issuer with the key inline
	fhirServers  []string
	noNewSource  bool
	fhirSource   screening.Source // non-nil: the source NewSource gives for any allowed server
	maxBodyBytes int64            // 0: the default
	mod          func(*Config)    // non-nil: changes the configuration last
}

func newCDSTestEnv(t testing.TB, tc cdsTestConfig) *cdsTestEnv {
	t.Helper()
	p := cdsProtocol(t)
	src, err := demo.NewSource(p)
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	env := &cdsTestEnv{key: newCDSTestKeyEC(t, "ehr-key-1"), audit: &cdsSyncBuffer{}, logs: &cdsSyncBuffer{}, clock: &testClock{}}
	client := CDSClient{Issuer: cdsTestIssuer, JWKS: cdsTestJWKS(env.key), FHIRServers: tc.fhirServers}
	if tc.client != nil {
		client = *tc.client
	}
	cds := CDSConfig{Clients: []CDSClient{client}}
	if !tc.noNewSource {
		cds.NewSource = func(base string) (screening.Source, error) {
			env.newSources.Add(1)
			if tc.fhirSource != nil {
				return tc.fhirSource, nil
			}
			c, err := fhirclient.New(fhirclient.Config{BaseURL: base, Token: fhirclient.ContextToken(), Attempts: 1})
			if err != nil {
				return nil, err
			}
			return fhirclient.NewRecordSource(c, p)
		}
	}
	cfg := Config{
		Protocol: p, Source: src, Demo: true, PublicURL: cdsTestPublicURL, DefaultAsOf: demo.DefaultAsOf, Now: env.clock.Now,
		Audit: NewAuditLog(env.audit, "test"), Metrics: m, CDS: cds, MaxBodyBytes: tc.maxBodyBytes,
		Logger: slog.New(slog.NewJSONHandler(env.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if tc.mod != nil {
		tc.mod(&cfg)
	}
	env.s, err = New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	env.h = env.s.Handler()
	return env
}

// post calls the hook with body (marshalled unless it is a string) and the bearer token.
func (e *cdsTestEnv) post(t testing.TB, token string, body any) (int, []byte, http.Header) {
	t.Helper()
	var data []byte
	switch b := body.(type) {
	case string:
		data = []byte(b)
	default:
		var err error
		if data, err = json.Marshal(b); err != nil {
			t.Fatal(err)
		}
	}
	req := httptest.NewRequest(http.MethodPost, cdsTestPath, bytes.NewReader(data))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rr := httptest.NewRecorder()
	e.h.ServeHTTP(rr, req)
	return rr.Code, rr.Body.Bytes(), rr.Header()
}

// cdsHookBody is a patient-view call; fields are set by the caller.
func cdsHookBody(patientID string, prefetch map[string]json.RawMessage) map[string]any {
	b := map[string]any{
		"hook": "patient-view", "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
		"context": map[string]any{"patientId": patientID, "userId": "Practitioner/example"},
	}
	if prefetch != nil {
		b["prefetch"] = prefetch
	}
	return b
}

// cdsDemoResources splits a demo patient's bundle by resource type.
func cdsDemoResources(t testing.TB, name string) map[string][]json.RawMessage {
	t.Helper()
	data, err := demo.Bundle(name)
	if err != nil {
		t.Fatal(err)
	}
	b, err := fhirbundle.SplitBundle(data)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]json.RawMessage{}
	for _, e := range b.Entries {
		var h resourceHead
		if err := json.Unmarshal(e.Resource, &h); err != nil {
			t.Fatal(err)
		}
		out[h.ResourceType] = append(out[h.ResourceType], e.Resource)
	}
	return out
}

func cdsSearchset(resources []json.RawMessage, links ...map[string]string) json.RawMessage {
	entries := []any{}
	for _, r := range resources {
		var h resourceHead
		_ = json.Unmarshal(r, &h)
		entries = append(entries, map[string]any{
			"fullUrl": "https://ehr.example.org/fhir/" + h.ResourceType + "/" + h.ID, "resource": r,
			"search": map[string]string{"mode": "match"},
		})
	}
	b := map[string]any{"resourceType": "Bundle", "type": "searchset", "total": len(resources), "entry": entries}
	if len(links) > 0 {
		b["link"] = links
	}
	data, _ := json.Marshal(b)
	return data
}

// cdsDemoPrefetch is what an EHR would prefetch for a demo patient from the discovery
// templates: the Patient, and one searchset per needed type.
func cdsDemoPrefetch(t testing.TB, name string) map[string]json.RawMessage {
	t.Helper()
	res := cdsDemoResources(t, name)
	pf := map[string]json.RawMessage{"patient": res["Patient"][0]}
	for _, typ := range cdsProtocol(t).NeededTypes() {
		pf[typ] = cdsSearchset(res[typ])
	}
	return pf
}

type cdsCardsResponse struct {
	Cards []cdsCard `json:"cards"`
}

func cdsOneCard(t testing.TB, status int, body []byte) cdsCard {
	t.Helper()
	if status != http.StatusOK {
		t.Fatalf("status %d, body %s", status, body)
	}
	var r cdsCardsResponse
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	if len(r.Cards) != 1 {
		t.Fatalf("%d cards, want 1: %s", len(r.Cards), body)
	}
	return r.Cards[0]
}

func cdsProblem(t testing.TB, body []byte) Problem {
	t.Helper()
	var p Problem
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("not a problem document: %v: %s", err, body)
	}
	return p
}

func TestCDSDiscovery(t *testing.T) {
	env := newCDSTestEnv(t, cdsTestConfig{})
	rr := httptest.NewRecorder()
	env.h.ServeHTTP(rr, httptest.NewRequest(http.MethodGet, "/cds-services", nil))
	if rr.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rr.Code, rr.Body)
	}
	var d struct {
		Services []struct {
			Hook, ID, Title, Description string
			Prefetch                     map[string]string
		}
	}
	if err := json.Unmarshal(rr.Body.Bytes(), &d); err != nil {
		t.Fatal(err)
	}
	if len(d.Services) != 1 {
		t.Fatalf("%d services, want 1", len(d.Services))
	}
	svc := d.Services[0]
	if svc.ID != "trialscreen-patient-view" || svc.Hook != "patient-view" || svc.Title == "" || svc.Description == "" {
		t.Errorf("service = %+v", svc)
	}
	want := map[string]string{
		"patient":                  "Patient/{{context.patientId}}",
		"Observation":              "Observation?patient={{context.patientId}}",
		"Condition":                "Condition?patient={{context.patientId}}",
		"Procedure":                "Procedure?patient={{context.patientId}}",
		"AllergyIntolerance":       "AllergyIntolerance?patient={{context.patientId}}",
		"MedicationRequest":        "MedicationRequest?patient={{context.patientId}}&_include=MedicationRequest:medication",
		"MedicationStatement":      "MedicationStatement?patient={{context.patientId}}&_include=MedicationStatement:medication",
		"MedicationAdministration": "MedicationAdministration?patient={{context.patientId}}&_include=MedicationAdministration:medication",
		"MedicationDispense":       "MedicationDispense?patient={{context.patientId}}&_include=MedicationDispense:medication",
	}
	for _, typ := range cdsProtocol(t).NeededTypes() {
		if _, ok := svc.Prefetch[typ]; !ok {
			t.Errorf("no prefetch for needed type %s", typ)
		}
	}
	if len(svc.Prefetch) != len(want) {
		t.Errorf("prefetch has %d keys, want %d: %v", len(svc.Prefetch), len(want), svc.Prefetch)
	}
	for k, v := range want {
		if svc.Prefetch[k] != v {
			t.Errorf("prefetch[%s] = %q, want %q", k, svc.Prefetch[k], v)
		}
	}
}

// A full prefetch gives, criterion by criterion, what the demo source gives.
func TestCDSPrefetchMatchesDemoSource(t *testing.T) {
	env := newCDSTestEnv(t, cdsTestConfig{})
	p := cdsProtocol(t)
	src, _ := demo.NewSource(p)
	for _, name := range demo.Names() {
		t.Run(name, func(t *testing.T) {
			id := "demo-" + name
			rec, err := src.Record(t.Context(), id)
			if err != nil {
				t.Fatal(err)
			}
			want := p.Evaluate(rec, screening.Settings{AsOf: demo.AsOf(), Location: time.UTC})

			pf := cdsDemoPrefetch(t, name)
			got, err := env.s.recordFromPrefetch(pf, id)
			if err != nil {
				t.Fatal(err)
			}
			res := p.Evaluate(got, screening.Settings{AsOf: demo.AsOf(), Location: time.UTC})
			if res.Verdict != want.Verdict {
				t.Errorf("verdict %s from the prefetch, %s from the demo source", res.Verdict, want.Verdict)
			}
			for i, r := range res.Criteria {
				w := want.Criteria[i]
				if r.ID != w.ID || r.Outcome != w.Outcome || r.Reason != w.Reason {
					t.Errorf("%s: %s/%s from the prefetch, %s/%s from the demo source", w.ID, r.Outcome, r.Reason, w.Outcome, w.Reason)
				}
			}

			// And through the hook: one card whose summary says the verdict.
			status, body, _ := env.post(t, env.key.token(t, nil), cdsHookBody(id, pf))
			card := cdsOneCard(t, status, body)
			phrase := map[screening.Verdict]string{
				screening.PotentiallyEligible: "potentially eligible",
				screening.Ineligible:          "ineligible",
				screening.InsufficientData:    "insufficient data",
			}[want.Verdict]
			if !strings.Contains(card.Summary, phrase) {
				t.Errorf("summary %q does not say %q", card.Summary, phrase)
			}
			wantIndicator := map[screening.Verdict]string{screening.PotentiallyEligible: "warning"}[want.Verdict]
			if wantIndicator == "" {
				wantIndicator = "info"
			}
			if card.Indicator != wantIndicator {
				t.Errorf("indicator %q, want %q", card.Indicator, wantIndicator)
			}
			if len(card.Links) != 1 || card.Links[0].Type != "absolute" ||
				card.Links[0].URL != cdsTestPublicURL+"/v1/reports/"+card.UUID+"?link="+linkToken(t, card.Links[0].URL, card.UUID) {
				t.Errorf("links = %+v, want one to the card's report", card.Links)
			}
		})
	}
}

// A null prefetch value is the spec's "the query found no data": the same as an empty
// searchset, so the type counts as fetched in full.
func TestCDSNullPrefetchMeansNoData(t *testing.T) {
	env := newCDSTestEnv(t, cdsTestConfig{})
	p := cdsProtocol(t)
	withNull, withEmpty := cdsDemoPrefetch(t, "candidate"), cdsDemoPrefetch(t, "candidate")
	withNull["Procedure"] = json.RawMessage("null")
	withEmpty["Procedure"] = cdsSearchset(nil)
	st := screening.Settings{AsOf: demo.AsOf(), Location: time.UTC}
	a, err := env.s.recordFromPrefetch(withNull, "demo-candidate")
	if err != nil {
		t.Fatal(err)
	}
	b, err := env.s.recordFromPrefetch(withEmpty, "demo-candidate")
	if err != nil {
		t.Fatal(err)
	}
	if a.Sources["Procedure"].State != screening.FetchComplete {
		t.Errorf("a null Procedure prefetch is %s; want complete", a.Sources["Procedure"].State)
	}
	ra, rb := p.Evaluate(a, st), p.Evaluate(b, st)
	for i := range ra.Criteria {
		if ra.Criteria[i].Outcome != rb.Criteria[i].Outcome || ra.Criteria[i].Reason != rb.Criteria[i].Reason {
			t.Errorf("%s: %s/%s with null, %s/%s with an empty searchset", ra.Criteria[i].ID,
				ra.Criteria[i].Outcome, ra.Criteria[i].Reason, rb.Criteria[i].Outcome, rb.Criteria[i].Reason)
		}
	}
	status, body, _ := env.post(t, env.key.token(t, nil), cdsHookBody("demo-candidate", withNull))
	cdsOneCard(t, status, body)
}

// The card's uuid is logged with the verdict, the patient id never; the audit record
// names the patient, the issuer and the prefetch as the data source.
func TestCDSCardLoggedForAudit(t *testing.T) {
	env := newCDSTestEnv(t, cdsTestConfig{})
	status, body, _ := env.post(t, env.key.token(t, nil), cdsHookBody("demo-candidate", cdsDemoPrefetch(t, "candidate")))
	card := cdsOneCard(t, status, body)
	logs := env.logs.String()
	if !strings.Contains(logs, `"msg":"cds card"`) || !strings.Contains(logs, `"uuid":"`+card.UUID+`"`) ||
		!strings.Contains(logs, `"verdict":"potentially-eligible"`) {
		t.Errorf("no cds card log line with the uuid and verdict:\n%s", logs)
	}
	if strings.Contains(logs, "demo-candidate") {
		t.Errorf("the application log names the patient:\n%s", logs)
	}
	audit := env.audit.String()
	for _, want := range []string{"Patient/demo-candidate", cdsTestIssuer, `"valueString":"prefetch"`, `"valueString":"cds-hooks"`, "Practitioner/example",
		`{"type":"cds-card-uuid","valueString":"` + card.UUID + `"}`, `{"type":"cds-hook-instance","valueString":"d1577c69-dfbe-44ad-ba6d-3e05e953b2ea"}`} {
		if !strings.Contains(audit, want) {
			t.Errorf("audit record lacks %q:\n%s", want, audit)
		}
	}
}

// cdsFakeFHIR serves a demo patient as a FHIR server would, counting requests and
// recording the Authorization headers.
type cdsFakeFHIR struct {
	srv      *httptest.Server
	requests atomic.Int32
	mu       sync.Mutex
	auth     []string
}

func newCDSFakeFHIR(t testing.TB, name string) *cdsFakeFHIR {
	t.Helper()
	res := cdsDemoResources(t, name)
	patient := res["Patient"][0]
	var ph resourceHead
	_ = json.Unmarshal(patient, &ph)
	f := &cdsFakeFHIR{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.requests.Add(1)
		f.mu.Lock()
		f.auth = append(f.auth, r.Header.Get("Authorization"))
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/fhir+json")
		typ := strings.Trim(r.URL.Path, "/")
		switch {
		case typ == "Patient/"+ph.ID:
			_, _ = w.Write(patient)
		case typ == "metadata" || strings.Contains(typ, "/"):
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"not-found"}]}`))
		case r.URL.Query().Get("patient") != "Patient/"+ph.ID:
			_, _ = w.Write(cdsSearchset(nil))
		default:
			_, _ = w.Write(cdsSearchset(res[typ]))
		}
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *cdsFakeFHIR) authHeaders() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.auth)
}

// Without prefetch, the record comes from an allowed fhirServer with the EHR's token.
func TestCDSFetchesFromAllowedFHIRServer(t *testing.T) {
	fhir := newCDSFakeFHIR(t, "ineligible-labs")
	env := newCDSTestEnv(t, cdsTestConfig{fhirServers: []string{fhir.srv.URL}})
	body := cdsHookBody("demo-ineligible-labs", nil)
	body["fhirServer"] = fhir.srv.URL + "/"
	body["fhirAuthorization"] = map[string]any{
		"access_token": "ehr-issued-token-123", "token_type": "Bearer", "expires_in": 300,
		"scope": "user/Patient.read user/Observation.read", "subject": "trialscreen",
	}
	status, respBody, _ := env.post(t, env.key.token(t, nil), body)
	card := cdsOneCard(t, status, respBody)
	if !strings.Contains(card.Summary, "ineligible") {
		t.Errorf("summary %q, want ineligible", card.Summary)
	}
	auth := fhir.authHeaders()
	if len(auth) < 1+len(cdsProtocol(t).NeededTypes()) {
		t.Errorf("%d requests reached the FHIR server, want the Patient and every search", len(auth))
	}
	for _, a := range auth {
		if a != "Bearer ehr-issued-token-123" {
			t.Errorf("Authorization %q, want the fhirAuthorization token", a)
		}
	}
	if strings.Contains(env.logs.String(), "ehr-issued-token-123") {
		t.Error("the access token is in the log")
	}
	if !strings.Contains(env.audit.String(), `"valueString":"fhir:`+fhir.srv.URL+`/"`) {
		t.Errorf("audit record does not name the FHIR server:\n%s", env.audit.String())
	}
}

// A patient the FHIR server does not have cannot be screened: 412, as the spec says
// for data the service cannot obtain.
func TestCDSFetchFailureIs412(t *testing.T) {
	fhir := newCDSFakeFHIR(t, "candidate")
	env := newCDSTestEnv(t, cdsTestConfig{fhirServers: []string{fhir.srv.URL}})
	body := cdsHookBody("not-there", nil)
	body["fhirServer"] = fhir.srv.URL
	body["fhirAuthorization"] = map[string]any{"access_token": "tok", "token_type": "Bearer"}
	status, respBody, h := env.post(t, env.key.token(t, nil), body)
	if status != http.StatusPreconditionFailed {
		t.Fatalf("status %d, want 412: %s", status, respBody)
	}
	if ct := h.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("Content-Type %q", ct)
	}
	p := cdsProblem(t, respBody)
	if p.Status != 412 || !strings.Contains(p.Detail, "could not be read from fhirServer") {
		t.Errorf("problem = %+v", p)
	}
}

// Every way the record cannot be obtained is a 412 with a detail saying why, and a
// server not on the EHR's allow-list is never contacted.
func TestCDSPreconditionFailed(t *testing.T) {
	allowed := newCDSFakeFHIR(t, "candidate")
	other := newCDSFakeFHIR(t, "candidate")
	partial := cdsDemoPrefetch(t, "candidate")
	delete(partial, "Observation")
	withNull := cdsDemoPrefetch(t, "candidate")
	withNull["patient"] = json.RawMessage("null")
	ooPatient := cdsDemoPrefetch(t, "candidate")
	ooPatient["patient"] = json.RawMessage(`{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"exception"}]}`)
	token := map[string]any{"access_token": "tok", "token_type": "Bearer"}

	tests := []struct {
		name        string
		prefetch    map[string]json.RawMessage
		fhirServer  string
		auth        map[string]any
		noNewSource bool
		detail      string
	}{
		{name: "no prefetch, no fhirServer", detail: "the prefetch lacks patient, AllergyIntolerance"},
		{name: "one key missing, no fhirServer", prefetch: partial, detail: "the prefetch lacks Observation, and the request names no fhirServer"},
		{name: "null patient, no fhirServer", prefetch: withNull, detail: "the prefetch lacks patient,"},
		{name: "Patient prefetch failed", prefetch: ooPatient, detail: "the prefetch lacks patient,"},
		{name: "server not allowed", fhirServer: other.srv.URL, auth: token, detail: "is not a server this service may fetch from"},
		{name: "allowed server's path prefix", fhirServer: allowed.srv.URL + "/evil", auth: token, detail: "is not a server this service may fetch from"},
		{name: "no access token", fhirServer: allowed.srv.URL, detail: "no fhirAuthorization.access_token"},
		{name: "prefetch-only service", fhirServer: allowed.srv.URL, auth: token, noNewSource: true, detail: "prefetched data only"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newCDSTestEnv(t, cdsTestConfig{fhirServers: []string{allowed.srv.URL}, noNewSource: tt.noNewSource})
			body := cdsHookBody("demo-candidate", tt.prefetch)
			if tt.fhirServer != "" {
				body["fhirServer"] = tt.fhirServer
			}
			if tt.auth != nil {
				body["fhirAuthorization"] = tt.auth
			}
			status, respBody, _ := env.post(t, env.key.token(t, nil), body)
			if status != http.StatusPreconditionFailed {
				t.Fatalf("status %d, want 412: %s", status, respBody)
			}
			if p := cdsProblem(t, respBody); p.Status != 412 || !strings.Contains(p.Detail, tt.detail) {
				t.Errorf("detail %q, want it to contain %q", p.Detail, tt.detail)
			}
			if n := env.newSources.Load(); n != 0 {
				t.Errorf("NewSource called %d times", n)
			}
		})
	}
	if n := other.requests.Load(); n != 0 {
		t.Errorf("the server not on the allow-list got %d requests", n)
	}
	if n := allowed.requests.Load(); n != 0 {
		t.Errorf("the allowed server got %d requests when none should be made", n)
	}
}

// Bad requests are 400s naming the field.
func TestCDSBadRequests(t *testing.T) {
	env := newCDSTestEnv(t, cdsTestConfig{fhirServers: []string{"https://fhir.example.org"}})
	with := func(edit func(b map[string]any)) map[string]any {
		b := cdsHookBody("demo-candidate", cdsDemoPrefetch(t, "candidate"))
		edit(b)
		return b
	}
	pfEdit := func(key string, v string) map[string]any {
		return with(func(b map[string]any) { b["prefetch"].(map[string]json.RawMessage)[key] = json.RawMessage(v) })
	}
	tests := []struct {
		name  string
		body  any
		field string
	}{
		{"not JSON", "{", "body"},
		{"no hook", with(func(b map[string]any) { delete(b, "hook") }), "hook"},
		{"other hook", with(func(b map[string]any) { b["hook"] = "order-sign" }), "hook"},
		{"no hookInstance", with(func(b map[string]any) { delete(b, "hookInstance") }), "hookInstance"},
		{"hookInstance with spaces", with(func(b map[string]any) { b["hookInstance"] = "a b" }), "hookInstance"},
		{"no context", with(func(b map[string]any) { delete(b, "context") }), "context"},
		{"no patientId", with(func(b map[string]any) { b["context"] = map[string]any{} }), "context.patientId"},
		{"patientId not a FHIR id", with(func(b map[string]any) { b["context"] = map[string]any{"patientId": "a/b"} }), "context.patientId"},
		{"patientId a number", with(func(b map[string]any) { b["context"] = map[string]any{"patientId": 12} }), "context.patientId"},
		{"fhirServer relative", with(func(b map[string]any) { b["fhirServer"] = "/fhir" }), "fhirServer"},
		{"token without fhirServer", with(func(b map[string]any) { b["fhirAuthorization"] = map[string]any{"access_token": "x"} }), "fhirServer"},
		{"empty access_token", with(func(b map[string]any) {
			b["fhirServer"] = "https://fhir.example.org"
			b["fhirAuthorization"] = map[string]any{"access_token": ""}
		}), "fhirAuthorization.access_token"},
		{"token_type not Bearer", with(func(b map[string]any) {
			b["fhirServer"] = "https://fhir.example.org"
			b["fhirAuthorization"] = map[string]any{"access_token": "x", "token_type": "MAC"}
		}), "fhirAuthorization.token_type"},
		{"prefetched Patient is another", pfEdit("patient", `{"resourceType":"Patient","id":"someone-else"}`), "prefetch.patient"},
		{"prefetched Patient is an Observation", pfEdit("patient", `{"resourceType":"Observation","id":"demo-candidate"}`), "prefetch.patient"},
		{"prefetched search not a Bundle", pfEdit("Observation", `{"resourceType":"Observation","id":"x"}`), "prefetch.Observation"},
		{"prefetched search a collection", pfEdit("Condition", `{"resourceType":"Bundle","type":"collection"}`), "prefetch.Condition"},
		{"prefetched search an array", pfEdit("Procedure", `[]`), "prefetch.Procedure"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body, h := env.post(t, env.key.token(t, nil), tt.body)
			if status != http.StatusBadRequest {
				t.Fatalf("status %d, want 400: %s", status, body)
			}
			if ct := h.Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("Content-Type %q", ct)
			}
			if p := cdsProblem(t, body); p.Field != tt.field {
				t.Errorf("field %q, want %q (%s)", p.Field, tt.field, p.Detail)
			}
		})
	}
}

// Unknown service ids are 404s; the hook answers POST only.
func TestCDSRoutes(t *testing.T) {
	env := newCDSTestEnv(t, cdsTestConfig{})
	for _, tt := range []struct {
		method, path string
		want         int
	}{
		{http.MethodPost, "/cds-services/other-service", http.StatusNotFound},
		{http.MethodGet, cdsTestPath, http.StatusMethodNotAllowed},
	} {
		t.Run(fmt.Sprint(tt.method, " ", tt.path), func(t *testing.T) {
			rr := httptest.NewRecorder()
			env.h.ServeHTTP(rr, httptest.NewRequest(tt.method, tt.path, strings.NewReader("{}")))
			if rr.Code != tt.want {
				t.Errorf("status %d, want %d", rr.Code, tt.want)
			}
		})
	}
}

// A hook body over the service's limit is a 413 problem, whether the EHR declared its
// length or streamed it (then the limit is met while the body is read).
func TestCDSBodyTooLarge(t *testing.T) {
	env := newCDSTestEnv(t, cdsTestConfig{maxBodyBytes: 1 << 10})
	body := cdsHookBody("demo-candidate", map[string]json.RawMessage{"patient": json.RawMessage(`{"resourceType":"Patient","id":"demo-candidate","text":"` + strings.Repeat("x", 4<<10) + `"}`)})
	data, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name     string
		declared bool
	}{{"Content-Length", true}, {"streamed", false}} {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, cdsTestPath, bytes.NewReader(data))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+env.key.token(t, nil))
			if !tt.declared {
				req.ContentLength = -1
			}
			rr := httptest.NewRecorder()
			env.h.ServeHTTP(rr, req)
			if rr.Code != http.StatusRequestEntityTooLarge {
				t.Fatalf("status %d, want 413: %s", rr.Code, rr.Body)
			}
			if ct := rr.Header().Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("Content-Type %q", ct)
			}
			if p := cdsProblem(t, rr.Body.Bytes()); p.Status != 413 || p.Field != "" {
				t.Errorf("problem = %+v, want a 413 naming no field", p)
			}
		})
	}
}
