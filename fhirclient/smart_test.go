package fhirclient_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/trialscreen/trialscreen/fhirclient"
)

const (
	smartClientID = "trialscreen-backend"
	smartKID      = "key-2024-1"
	smartScope    = "system/Patient.rs system/Observation.rs"
)

// testKeys are generated once per test binary: RSA generation is slow under -race.
var testKeys = sync.OnceValue(func() (k struct {
	rsa   *rsa.PrivateKey
	ec    *ecdsa.PrivateKey
	ec256 *ecdsa.PrivateKey
}) {
	var err error
	if k.rsa, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		panic(err)
	}
	if k.ec, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader); err != nil {
		panic(err)
	}
	if k.ec256, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		panic(err)
	}
	return k
})

func pemOf(t *testing.T, typ string, der []byte, err error) []byte {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func pkcs8(t *testing.T, key any) []byte {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	return pemOf(t, "PRIVATE KEY", der, err)
}

func pkcs1(t *testing.T, key *rsa.PrivateKey) []byte {
	return pemOf(t, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(key), nil)
}

func sec1(t *testing.T, key *ecdsa.PrivateKey) []byte {
	der, err := x509.MarshalECPrivateKey(key)
	return pemOf(t, "EC PRIVATE KEY", der, err)
}

// fakeClock is a settable clock for SMARTConfig.Now.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// tokenServer is a SMART token endpoint on 127.0.0.1 that verifies each client assertion
// as a real authorization server would, then answers with respond.
type tokenServer struct {
	*httptest.Server
	t       *testing.T
	pub     crypto.PublicKey
	alg     string
	clock   *fakeClock
	respond func(w http.ResponseWriter, n int32)

	hits        atomic.Int32
	mu          sync.Mutex
	jtis        map[string]bool
	assertions  []string
	verifyFails []string
}

func newTokenServer(t *testing.T, pub crypto.PublicKey, alg string, clock *fakeClock, respond func(w http.ResponseWriter, n int32)) *tokenServer {
	t.Helper()
	ts := &tokenServer{t: t, pub: pub, alg: alg, clock: clock, respond: respond, jtis: map[string]bool{}}
	if ts.respond == nil {
		ts.respond = func(w http.ResponseWriter, n int32) {
			writeJSON(w, http.StatusOK, fmt.Sprintf(`{"access_token":"tok-%d","token_type":"Bearer","expires_in":300,"scope":%q}`, n, smartScope))
		}
	}
	ts.Server = httptest.NewServer(http.HandlerFunc(ts.handle))
	t.Cleanup(func() {
		ts.Close()
		ts.mu.Lock()
		defer ts.mu.Unlock()
		for _, f := range ts.verifyFails {
			t.Errorf("token endpoint: %s", f)
		}
	})
	return ts
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

func (ts *tokenServer) tokenURL() string { return ts.URL + "/auth/token" }

func (ts *tokenServer) handle(w http.ResponseWriter, r *http.Request) {
	n := ts.hits.Add(1)
	if err := ts.verify(r); err != nil {
		ts.mu.Lock()
		ts.verifyFails = append(ts.verifyFails, err.Error())
		ts.mu.Unlock()
		writeJSON(w, http.StatusBadRequest, `{"error":"invalid_request"}`)
		return
	}
	ts.respond(w, n)
}

func (ts *tokenServer) verify(r *http.Request) error {
	if r.Method != http.MethodPost || r.URL.Path != "/auth/token" {
		return fmt.Errorf("got %s %s; want POST /auth/token", r.Method, r.URL.Path)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
		return fmt.Errorf("Content-Type %q", ct)
	}
	if r.Header.Get("Authorization") != "" {
		return errors.New("an Authorization header was sent to the token endpoint")
	}
	if err := r.ParseForm(); err != nil {
		return err
	}
	for k, want := range map[string]string{
		"grant_type":            "client_credentials",
		"scope":                 smartScope,
		"client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
	} {
		if got := r.PostForm[k]; len(got) != 1 || got[0] != want {
			return fmt.Errorf("form %s = %q; want %q", k, got, want)
		}
	}
	if len(r.PostForm["client_assertion"]) != 1 {
		return errors.New("no single client_assertion")
	}
	if len(r.PostForm) != 4 {
		return fmt.Errorf("form has %d fields; want 4", len(r.PostForm))
	}
	raw := r.PostForm.Get("client_assertion")
	ts.mu.Lock()
	ts.assertions = append(ts.assertions, raw)
	ts.mu.Unlock()

	now := ts.clock.Now()
	tok, err := jwt.Parse(raw, func(*jwt.Token) (any, error) { return ts.pub, nil },
		jwt.WithValidMethods([]string{ts.alg}),
		jwt.WithIssuer(smartClientID),
		jwt.WithSubject(smartClientID),
		jwt.WithAudience(ts.tokenURL()),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithTimeFunc(func() time.Time { return now }),
	)
	if err != nil {
		return fmt.Errorf("the assertion does not verify: %v", err)
	}
	if tok.Header["alg"] != ts.alg || tok.Header["kid"] != smartKID {
		return fmt.Errorf("header alg %v kid %v", tok.Header["alg"], tok.Header["kid"])
	}
	c := tok.Claims.(jwt.MapClaims)
	if _, ok := c["aud"].(string); !ok {
		return fmt.Errorf("aud is %T; want a string", c["aud"])
	}
	exp, _ := c.GetExpirationTime()
	iat, _ := c.GetIssuedAt()
	if iat == nil || !iat.Time.Equal(now) {
		return fmt.Errorf("iat %v; want %v", iat, now)
	}
	if life := exp.Sub(now); life <= 0 || life > 5*time.Minute {
		return fmt.Errorf("exp is %s after now; want at most 5m", life)
	}
	jti, _ := c["jti"].(string)
	if b, err := hex.DecodeString(jti); err != nil || len(b) != 16 {
		return fmt.Errorf("jti %q is not 16 bytes of hex", jti)
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.jtis[jti] {
		return fmt.Errorf("jti %q used twice", jti)
	}
	ts.jtis[jti] = true
	return nil
}

func (ts *tokenServer) lastAssertion() string {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if len(ts.assertions) == 0 {
		return ""
	}
	return ts.assertions[len(ts.assertions)-1]
}

func smartConfig(ts *tokenServer, alg string, keyPEM []byte) fhirclient.SMARTConfig {
	return fhirclient.SMARTConfig{
		TokenURL:      ts.tokenURL(),
		ClientID:      smartClientID,
		Scopes:        strings.Fields(smartScope),
		PrivateKeyPEM: keyPEM,
		KeyID:         smartKID,
		Alg:           alg,
		HTTPClient:    ts.Client(),
		Now:           ts.clock.Now,
	}
}

func newBackend(t *testing.T, cfg fhirclient.SMARTConfig) *fhirclient.SMARTBackend {
	t.Helper()
	b, err := fhirclient.NewSMARTBackend(cfg)
	if err != nil {
		t.Fatalf("NewSMARTBackend: %v", err)
	}
	t.Cleanup(b.CloseIdleConnections)
	return b
}

// rsBackend is a backend with an RS384 key against a token endpoint giving respond.
func rsBackend(t *testing.T, respond func(http.ResponseWriter, int32)) (*fhirclient.SMARTBackend, *tokenServer, *fakeClock) {
	t.Helper()
	k := testKeys().rsa
	clock := newFakeClock()
	ts := newTokenServer(t, &k.PublicKey, "RS384", clock, respond)
	return newBackend(t, smartConfig(ts, "RS384", pkcs8(t, k))), ts, clock
}

func TestSMARTFetchesTokenWithVerifiedAssertion(t *testing.T) {
	keys := testKeys()
	for _, tc := range []struct {
		name string
		alg  string
		pub  crypto.PublicKey
		pem  func(t *testing.T) []byte
	}{
		{"RS384 PKCS#8", "RS384", &keys.rsa.PublicKey, func(t *testing.T) []byte { return pkcs8(t, keys.rsa) }},
		{"RS384 PKCS#1", "RS384", &keys.rsa.PublicKey, func(t *testing.T) []byte { return pkcs1(t, keys.rsa) }},
		{"ES384 PKCS#8", "ES384", &keys.ec.PublicKey, func(t *testing.T) []byte { return pkcs8(t, keys.ec) }},
		{"ES384 SEC1", "ES384", &keys.ec.PublicKey, func(t *testing.T) []byte { return sec1(t, keys.ec) }},
		{"ES384 SEC1 after EC PARAMETERS", "ES384", &keys.ec.PublicKey, func(t *testing.T) []byte {
			params := pem.EncodeToMemory(&pem.Block{Type: "EC PARAMETERS", Bytes: []byte{0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22}})
			return append(params, sec1(t, keys.ec)...)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := newFakeClock()
			ts := newTokenServer(t, tc.pub, tc.alg, clock, nil)
			b := newBackend(t, smartConfig(ts, tc.alg, tc.pem(t)))
			tok, err := b.Token(context.Background())
			if err != nil {
				t.Fatalf("Token: %v", err)
			}
			if tok != "tok-1" {
				t.Errorf("Token = %q; want tok-1", tok)
			}
			if got := ts.hits.Load(); got != 1 {
				t.Errorf("%d token requests; want 1", got)
			}
			if got := b.GrantedScope(); got != smartScope {
				t.Errorf("GrantedScope = %q; want %q", got, smartScope)
			}
		})
	}
}

func TestSMARTCachesToken(t *testing.T) {
	b, ts, clock := rsBackend(t, nil)
	ctx := context.Background()
	for i := range 3 {
		tok, err := b.Token(ctx)
		if err != nil || tok != "tok-1" {
			t.Fatalf("Token #%d = %q, %v; want tok-1", i+1, tok, err)
		}
		clock.Advance(time.Minute)
	}
	if got := ts.hits.Load(); got != 1 {
		t.Errorf("%d token requests for 3 Token calls within the token's life; want 1", got)
	}
}

func TestSMARTRenewsBeforeExpiry(t *testing.T) {
	b, ts, clock := rsBackend(t, nil)
	ctx := context.Background()
	if tok, err := b.Token(ctx); err != nil || tok != "tok-1" {
		t.Fatalf("Token = %q, %v", tok, err)
	}
	// expires_in 300, RenewBefore 60s by default: good until 240s after the request.
	clock.Advance(239 * time.Second)
	if tok, err := b.Token(ctx); err != nil || tok != "tok-1" {
		t.Fatalf("at 239s: Token = %q, %v; want the cached tok-1", tok, err)
	}
	clock.Advance(time.Second)
	if tok, err := b.Token(ctx); err != nil || tok != "tok-2" {
		t.Fatalf("at 240s: Token = %q, %v; want a renewed tok-2", tok, err)
	}
	if got := ts.hits.Load(); got != 2 {
		t.Errorf("%d token requests; want 2", got)
	}
	// The renewal's assertion is fresh: the server checks iat against the advanced clock
	// and refuses a reused jti.
}

func TestSMARTRenewBeforeConfigurable(t *testing.T) {
	k := testKeys().ec
	clock := newFakeClock()
	ts := newTokenServer(t, &k.PublicKey, "ES384", clock, nil)
	cfg := smartConfig(ts, "ES384", pkcs8(t, k))
	cfg.RenewBefore = 200 * time.Second
	b := newBackend(t, cfg)
	ctx := context.Background()
	if _, err := b.Token(ctx); err != nil {
		t.Fatal(err)
	}
	clock.Advance(100 * time.Second)
	if tok, err := b.Token(ctx); err != nil || tok != "tok-2" {
		t.Fatalf("100s into a 300s token with RenewBefore 200s: Token = %q, %v; want tok-2", tok, err)
	}
}

func TestSMARTConcurrentCallersShareOneRequest(t *testing.T) {
	release := make(chan struct{})
	b, ts, _ := rsBackend(t, func(w http.ResponseWriter, n int32) {
		<-release
		writeJSON(w, http.StatusOK, fmt.Sprintf(`{"access_token":"tok-%d","token_type":"bearer","expires_in":300}`, n))
	})
	const callers = 16
	var wg sync.WaitGroup
	toks := make([]string, callers)
	errs := make([]error, callers)
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			toks[i], errs[i] = b.Token(context.Background())
		}()
	}
	// Whatever the order, the first request is answered only now; a caller coming after
	// it finds the token cached, one before it waits on it.
	for ts.hits.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond)
	close(release)
	wg.Wait()
	for i := range callers {
		if errs[i] != nil || toks[i] != "tok-1" {
			t.Errorf("caller %d: %q, %v; want tok-1", i, toks[i], errs[i])
		}
	}
	if got := ts.hits.Load(); got != 1 {
		t.Errorf("%d token requests for %d concurrent callers; want 1", got, callers)
	}
}

func TestSMARTWaiterOutlivesCancelledLeader(t *testing.T) {
	first := make(chan struct{})
	b, ts, _ := rsBackend(t, func(w http.ResponseWriter, n int32) {
		if n == 1 {
			close(first)
			time.Sleep(100 * time.Millisecond) // the leader gives up meanwhile
		}
		writeJSON(w, http.StatusOK, fmt.Sprintf(`{"access_token":"tok-%d","token_type":"Bearer","expires_in":300}`, n))
	})
	leaderCtx, cancel := context.WithCancel(context.Background())
	leaderErr := make(chan error, 1)
	go func() {
		_, err := b.Token(leaderCtx)
		leaderErr <- err
	}()
	<-first
	waiter := make(chan string, 1)
	go func() {
		tok, err := b.Token(context.Background())
		if err != nil {
			t.Errorf("waiter: %v", err)
		}
		waiter <- tok
	}()
	time.Sleep(10 * time.Millisecond)
	cancel()
	if err := <-leaderErr; !errors.Is(err, context.Canceled) {
		t.Errorf("leader: %v; want context.Canceled", err)
	}
	if tok := <-waiter; tok == "" {
		t.Errorf("waiter got no token")
	}
	if got := ts.hits.Load(); got > 2 {
		t.Errorf("%d token requests; want at most 2", got)
	}
}

func TestSMARTWaiterHonoursItsContext(t *testing.T) {
	release := make(chan struct{})
	b, ts, _ := rsBackend(t, func(w http.ResponseWriter, n int32) {
		<-release
		writeJSON(w, http.StatusOK, `{"access_token":"tok","token_type":"Bearer","expires_in":300}`)
	})
	defer close(release)
	go func() { _, _ = b.Token(context.Background()) }()
	for ts.hits.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := b.Token(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("waiter past its deadline: %v; want context.DeadlineExceeded", err)
	}
}

func TestSMARTOAuthErrorNamesFieldsNotAssertion(t *testing.T) {
	var ts *tokenServer
	b, ts, _ := rsBackend(t, func(w http.ResponseWriter, n int32) {
		a := ts.lastAssertion()
		sig := a[strings.LastIndexByte(a, '.')+1:]
		body, _ := json.Marshal(map[string]string{
			"error":             "invalid_client",
			"error_description": "no key for kid; assertion was " + a + " signature " + sig,
		})
		writeJSON(w, http.StatusBadRequest, string(body))
	})
	_, err := b.Token(context.Background())
	if err == nil {
		t.Fatal("Token succeeded; want an error")
	}
	msg := err.Error()
	host := strings.TrimPrefix(ts.URL, "http://")
	for _, want := range []string{host, "400", "invalid_client", "no key for kid"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not contain %q", msg, want)
		}
	}
	a := ts.lastAssertion()
	for i, part := range strings.Split(a, ".") {
		if strings.Contains(msg, part) {
			t.Errorf("error %q contains part %d of the assertion", msg, i)
		}
	}
	var te *fhirclient.TokenError
	if !errors.As(err, &te) || te.Status != 400 || te.Code != "invalid_client" {
		t.Errorf("error %#v; want a *TokenError with Status 400, Code invalid_client", err)
	}
	if !errors.Is(err, fhirclient.KindAuth) {
		t.Errorf("errors.Is(err, KindAuth) is false")
	}
	// A failure is not cached: the next call asks again.
	_, _ = b.Token(context.Background())
	if got := ts.hits.Load(); got != 2 {
		t.Errorf("%d token requests after two failing calls; want 2", got)
	}
}

func TestSMARTBadTokenResponses(t *testing.T) {
	const secret = "at-very-secret"
	for _, tc := range []struct {
		name   string
		status int
		body   string
		want   string
	}{
		{"token_type mac", 200, `{"access_token":"` + secret + `","token_type":"mac","expires_in":300}`, "token_type"},
		{"no token_type", 200, `{"access_token":"` + secret + `","expires_in":300}`, "token_type"},
		{"no access_token", 200, `{"token_type":"Bearer","expires_in":300}`, "access_token"},
		{"empty access_token", 200, `{"access_token":"","token_type":"Bearer","expires_in":300}`, "access_token"},
		{"malformed JSON", 200, `{"access_token":"` + secret + `","token_type":"Bearer",`, "not a JSON token response"},
		{"not JSON", 200, `<html>` + secret + `</html>`, "not a JSON token response"},
		{"expires_in not a number", 200, `{"access_token":"` + secret + `","token_type":"Bearer","expires_in":"soon"}`, "expires_in"},
		{"oversized", 200, `{"access_token":"` + secret + `","token_type":"Bearer","expires_in":300,"pad":"` + strings.Repeat("x", 64<<10) + `"}`, "64 KiB"},
		{"500 without JSON", 500, `internal error ` + secret, "HTTP 500"},
		{"redirect", 307, ``, "HTTP 307"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, ts, _ := rsBackend(t, func(w http.ResponseWriter, n int32) {
				if tc.status == 307 {
					w.Header().Set("Location", "https://elsewhere.example/token")
				}
				writeJSON(w, tc.status, tc.body)
			})
			tok, err := b.Token(context.Background())
			if err == nil {
				t.Fatalf("Token = %q; want an error", tok)
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.want) {
				t.Errorf("error %q does not mention %q", msg, tc.want)
			}
			if !strings.Contains(msg, strings.TrimPrefix(ts.URL, "http://")) {
				t.Errorf("error %q does not name the token endpoint's host", msg)
			}
			if strings.Contains(msg, secret) {
				t.Errorf("error %q contains the access token", msg)
			}
			if a := ts.lastAssertion(); a == "" || strings.Contains(msg, a) {
				t.Errorf("error %q contains the assertion (or none was sent)", msg)
			}
			if got := ts.hits.Load(); got != 1 {
				t.Errorf("%d requests; want 1 (no redirect followed)", got)
			}
		})
	}
}

func TestSMARTTransportErrorNamesHost(t *testing.T) {
	k := testKeys().rsa
	clock := newFakeClock()
	ts := newTokenServer(t, &k.PublicKey, "RS384", clock, nil)
	cfg := smartConfig(ts, "RS384", pkcs8(t, k))
	ts.Close() // nothing listens there now
	b := newBackend(t, cfg)
	_, err := b.Token(context.Background())
	if err == nil {
		t.Fatal("Token succeeded against a closed server")
	}
	if host := strings.TrimPrefix(ts.URL, "http://"); !strings.Contains(err.Error(), host) {
		t.Errorf("error %q does not name %s", err, host)
	}
}

func TestSMARTTokenWorksWithClient(t *testing.T) {
	b, _, _ := rsBackend(t, nil)
	var auth atomic.Value
	fhir := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth.Store(r.Header.Get("Authorization"))
		w.Header().Set("Content-Type", "application/fhir+json")
		_, _ = w.Write([]byte(`{"resourceType":"Patient","id":"p1"}`))
	}))
	defer fhir.Close()
	c, err := fhirclient.New(fhirclient.Config{BaseURL: fhir.URL, HTTPClient: fhir.Client(), Token: b})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseIdleConnections()
	if _, err := c.Read(context.Background(), "Patient", "p1"); err != nil {
		t.Fatalf("Read: %v", err)
	}
	if got := auth.Load(); got != "Bearer tok-1" {
		t.Errorf("Authorization %q; want Bearer tok-1", got)
	}
}

func TestNewSMARTBackendRefusesBadConfig(t *testing.T) {
	keys := testKeys()
	rsaPEM, ecPEM := pkcs8(t, keys.rsa), pkcs8(t, keys.ec)
	good := fhirclient.SMARTConfig{
		TokenURL:      "https://auth.hospital.example/oauth2/token",
		ClientID:      smartClientID,
		Scopes:        strings.Fields(smartScope),
		PrivateKeyPEM: rsaPEM,
		KeyID:         smartKID,
		Alg:           "RS384",
	}
	if _, err := fhirclient.NewSMARTBackend(good); err != nil {
		t.Fatalf("the good config is refused: %v", err)
	}
	for _, u := range []string{"http://127.0.0.1:8080/token", "http://localhost/token", "http://[::1]:9/token"} {
		cfg := good
		cfg.TokenURL = u
		if _, err := fhirclient.NewSMARTBackend(cfg); err != nil {
			t.Errorf("TokenURL %s refused: %v", u, err)
		}
	}
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		edit  func(*fhirclient.SMARTConfig)
		field string
	}{
		{"RS384 with an EC key", func(c *fhirclient.SMARTConfig) { c.PrivateKeyPEM = ecPEM }, "Alg"},
		{"ES384 with an RSA key", func(c *fhirclient.SMARTConfig) { c.Alg = "ES384" }, "Alg"},
		{"ES384 with a P-256 key", func(c *fhirclient.SMARTConfig) { c.Alg, c.PrivateKeyPEM = "ES384", sec1(t, keys.ec256) }, "Alg"},
		{"HS256", func(c *fhirclient.SMARTConfig) { c.Alg = "HS256" }, "Alg"},
		{"no Alg", func(c *fhirclient.SMARTConfig) { c.Alg = "" }, "Alg"},
		{"http on another host", func(c *fhirclient.SMARTConfig) { c.TokenURL = "http://auth.hospital.example/token" }, "TokenURL"},
		{"http on a lookalike of localhost", func(c *fhirclient.SMARTConfig) { c.TokenURL = "http://localhost.evil.example/token" }, "TokenURL"},
		{"relative TokenURL", func(c *fhirclient.SMARTConfig) { c.TokenURL = "/token" }, "TokenURL"},
		{"ftp TokenURL", func(c *fhirclient.SMARTConfig) { c.TokenURL = "ftp://auth.hospital.example/token" }, "TokenURL"},
		{"credentials in TokenURL", func(c *fhirclient.SMARTConfig) { c.TokenURL = "https://u:p@auth.hospital.example/token" }, "TokenURL"},
		{"no TokenURL", func(c *fhirclient.SMARTConfig) { c.TokenURL = "" }, "TokenURL"},
		{"no ClientID", func(c *fhirclient.SMARTConfig) { c.ClientID = "" }, "ClientID"},
		{"no Scopes", func(c *fhirclient.SMARTConfig) { c.Scopes = nil }, "Scopes"},
		{"scope with a space", func(c *fhirclient.SMARTConfig) { c.Scopes = []string{"system/Patient.rs system/Observation.rs"} }, "Scopes"},
		{"no KeyID", func(c *fhirclient.SMARTConfig) { c.KeyID = "" }, "KeyID"},
		{"no key", func(c *fhirclient.SMARTConfig) { c.PrivateKeyPEM = nil }, "PrivateKeyPEM"},
		{"not PEM", func(c *fhirclient.SMARTConfig) { c.PrivateKeyPEM = []byte("not a key") }, "PrivateKeyPEM"},
		{"a certificate", func(c *fhirclient.SMARTConfig) {
			c.PrivateKeyPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1, 2, 3}})
		}, "PrivateKeyPEM"},
		{"corrupt key", func(c *fhirclient.SMARTConfig) {
			c.PrivateKeyPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{0x30, 0x03, 1, 2, 3}})
		}, "PrivateKeyPEM"},
		{"RSA 1024", func(c *fhirclient.SMARTConfig) { c.PrivateKeyPEM = pkcs1(t, small) }, "PrivateKeyPEM"},
		{"negative RenewBefore", func(c *fhirclient.SMARTConfig) { c.RenewBefore = -time.Second }, "RenewBefore"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := good
			tc.edit(&cfg)
			b, err := fhirclient.NewSMARTBackend(cfg)
			if err == nil {
				t.Fatalf("NewSMARTBackend = %v; want an error", b)
			}
			if !strings.Contains(err.Error(), "SMARTConfig."+tc.field) {
				t.Errorf("error %q does not name SMARTConfig.%s", err, tc.field)
			}
			if body := pemBody(cfg.PrivateKeyPEM); body != "" && strings.Contains(err.Error(), body) {
				t.Errorf("error %q quotes the key", err)
			}
		})
	}
}

// pemBody is the first base64 line of a PEM block, "" if none.
func pemBody(p []byte) string {
	lines := strings.Split(string(p), "\n")
	if len(lines) < 2 || len(lines[1]) < 16 {
		return ""
	}
	return lines[1]
}

func TestSMARTStringsRedactKeyAndToken(t *testing.T) {
	k := testKeys().rsa
	clock := newFakeClock()
	ts := newTokenServer(t, &k.PublicKey, "RS384", clock, nil)
	cfg := smartConfig(ts, "RS384", pkcs1(t, k))
	b := newBackend(t, cfg)
	tok, err := b.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	secrets := []string{pemBody(cfg.PrivateKeyPEM), k.D.String(), k.Primes[0].String(), fmt.Sprint(cfg.PrivateKeyPEM[:40]), tok}
	var ts2 fhirclient.TokenSource = b
	for _, out := range []string{
		fmt.Sprint(b), fmt.Sprintf("%v %+v %#v %s", b, b, b, b),
		fmt.Sprintf("%v %+v %#v", ts2, ts2, ts2),
		fmt.Sprintf("%v %+v %#v %s", cfg, cfg, cfg, cfg),
		fmt.Sprintf("%v %+v", &cfg, &cfg),
		fmt.Sprintf("%+v", fhirclient.Config{Token: b}),
	} {
		for _, s := range secrets {
			if strings.Contains(out, s) {
				t.Errorf("%q shows a secret (%.20s…)", out, s)
			}
		}
	}
	if s := b.String(); !strings.Contains(s, smartClientID) || !strings.Contains(s, "RS384") {
		t.Errorf("String() = %q; want the client id and alg", s)
	}
}

func TestSMARTInvalidateDropsOnlyTheCachedToken(t *testing.T) {
	b, ts, _ := rsBackend(t, nil)
	ctx := context.Background()
	steps := []struct {
		name       string
		invalidate string // "" for none
		want       string
		issued     int32
	}{
		{"first token", "", "tok-1", 1},
		{"another token refused: the cached one stays", "tok-other", "tok-1", 1},
		{"an empty token: nothing dropped", "", "tok-1", 1},
		{"the cached token refused: a new one", "tok-1", "tok-2", 2},
		{"a token already replaced: the new one stays", "tok-1", "tok-2", 2},
	}
	for _, st := range steps {
		b.Invalidate(st.invalidate)
		tok, err := b.Token(ctx)
		if err != nil || tok != st.want || ts.hits.Load() != st.issued {
			t.Errorf("%s: Token = %q, %v after %d token requests; want %q after %d", st.name, tok, err, ts.hits.Load(), st.want, st.issued)
		}
	}
}

// TestSMARTRefusedTokenIsRenewed: a FHIR server that refuses a token with 401 (revoked
// before its expiry) makes the client drop it; the request is tried once more with a new
// token, and a later call never sends the refused one again.
func TestSMARTRefusedTokenIsRenewed(t *testing.T) {
	type call struct {
		err string // what the error says; "" for success
	}
	tests := []struct {
		name    string
		refused map[string]int // token -> the status the FHIR server answers it with
		issue   func(w http.ResponseWriter, n int32)
		calls   []call
		sent    []string // tokens the FHIR server saw, in order
		issued  int32    // tokens the token endpoint issued
	}{
		{name: "revoked token replaced, the request retried once",
			refused: map[string]int{"tok-1": 401},
			calls:   []call{{""}, {""}},
			sent:    []string{"tok-1", "tok-2", "tok-2"}, issued: 2},
		{name: "the new token refused too: no third try, the next call has a new token",
			refused: map[string]int{"tok-1": 401, "tok-2": 401},
			calls:   []call{{"not authorized (HTTP 401, 2 attempts); the server says: error: token [redacted] revoked"}, {""}},
			sent:    []string{"tok-1", "tok-2", "tok-3"}, issued: 3},
		{name: "403 is about scopes: the token is kept, no retry",
			refused: map[string]int{"tok-1": 403},
			calls:   []call{{"not authorized (HTTP 403)"}, {"not authorized (HTTP 403)"}},
			sent:    []string{"tok-1", "tok-1"}, issued: 1},
		{name: "no new token to be had: the 401 says why",
			refused: map[string]int{"tok-1": 401},
			issue: func(w http.ResponseWriter, n int32) {
				if n > 1 {
					writeJSON(w, http.StatusServiceUnavailable, `{"error":"temporarily_unavailable"}`)
					return
				}
				writeJSON(w, http.StatusOK, `{"access_token":"tok-1","token_type":"Bearer","expires_in":300}`)
			},
			calls: []call{{"not authorized (HTTP 401): a new token could not be had: fhirclient: SMART backend: token request to 127.0.0.1:"}},
			sent:  []string{"tok-1"}, issued: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, ts, _ := rsBackend(t, tt.issue)
			var mu sync.Mutex
			var sent []string
			fhir := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
				mu.Lock()
				sent = append(sent, tok)
				mu.Unlock()
				w.Header().Set("Content-Type", "application/fhir+json")
				if status, ok := tt.refused[tok]; ok {
					w.WriteHeader(status)
					fmt.Fprintf(w, `{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"security","diagnostics":"token %s revoked"}]}`, tok)
					return
				}
				_, _ = w.Write([]byte(`{"resourceType":"Patient","id":"p1"}`))
			}))
			defer fhir.Close()
			c, err := fhirclient.New(fhirclient.Config{BaseURL: fhir.URL, HTTPClient: fhir.Client(), Token: b, BreakerFailures: -1})
			if err != nil {
				t.Fatal(err)
			}
			defer c.CloseIdleConnections()
			for i, want := range tt.calls {
				_, err := c.Read(context.Background(), "Patient", "p1")
				switch {
				case want.err == "" && err != nil:
					t.Errorf("call %d: %v", i+1, err)
				case want.err != "" && (err == nil || !strings.Contains(outcomeText(err), want.err)):
					t.Errorf("call %d: error %v; want one saying %q", i+1, err, want.err)
				case err != nil && strings.Contains(err.Error(), "tok-"):
					t.Errorf("call %d: error %q shows a token", i+1, err)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if fmt.Sprint(sent) != fmt.Sprint(tt.sent) {
				t.Errorf("the FHIR server saw tokens %v; want %v", sent, tt.sent)
			}
			if got := ts.hits.Load(); got != tt.issued {
				t.Errorf("%d token requests; want %d", got, tt.issued)
			}
		})
	}
}

func TestSMARTConfigErrorsNameOnlySchemeAndHost(t *testing.T) {
	good := fhirclient.SMARTConfig{ClientID: smartClientID, Scopes: strings.Fields(smartScope),
		PrivateKeyPEM: pkcs8(t, testKeys().ec), KeyID: smartKID, Alg: "ES384"}
	for _, tc := range []struct{ name, url, want string }{
		{"ftp", "ftp://auth.example/tenant-42/token?secret=tok-9", "fhirclient: SMARTConfig.TokenURL (ftp://auth.example) is not an absolute https URL"},
		{"relative", "/tenant-42/token?secret=tok-9", "fhirclient: SMARTConfig.TokenURL is not an absolute https URL"},
		{"no host", "https:///tenant-42/token?secret=tok-9", "fhirclient: SMARTConfig.TokenURL (https://) has no host"},
		{"fragment", "https://auth.example/tenant-42/token#tok-9", "fhirclient: SMARTConfig.TokenURL (https://auth.example) must not have a fragment"},
		{"http elsewhere", "http://auth.example:8080/tenant-42/token?secret=tok-9", "fhirclient: SMARTConfig.TokenURL (http://auth.example:8080) must be https (http only for localhost or 127.0.0.1)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := good
			cfg.TokenURL = tc.url
			_, err := fhirclient.NewSMARTBackend(cfg)
			if err == nil || err.Error() != tc.want {
				t.Errorf("error %v; want %q", err, tc.want)
			}
			for _, s := range []string{fmt.Sprint(cfg), fmt.Sprintf("%#v", cfg)} {
				if strings.Contains(s, "tenant-42") || strings.Contains(s, "tok-9") {
					t.Errorf("%q shows the TokenURL's path, query or fragment", s)
				}
			}
		})
	}
	cfg := good
	cfg.TokenURL = "https://auth.example/tenant-42/token?secret=tok-9"
	if s := fmt.Sprint(cfg); !strings.Contains(s, "TokenURL: https://auth.example,") {
		t.Errorf("String() = %q; want the TokenURL's scheme and host", s)
	}
}

// outcomeText is err's message and, for a *fhirclient.Error with server text, "; the
// server says: " and that text (never in the message itself: messages are logged).
func outcomeText(err error) string {
	var e *fhirclient.Error
	if !errors.As(err, &e) || e.Outcome == "" {
		return err.Error()
	}
	return err.Error() + "; the server says: " + e.Outcome
}
