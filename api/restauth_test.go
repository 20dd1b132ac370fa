package api

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"go.uber.org/goleak"
)

func TestNewStaticTokensRefuses(t *testing.T) {
	cases := []struct {
		name   string
		tokens map[string]string
		want   string
	}{
		{"none", nil, "api: static tokens: none configured"},
		{"empty name", map[string]string{" ": "0123456789abcdef"}, "api: static tokens: a token has an empty name"},
		{"short token", map[string]string{"portal": "short"}, `api: static tokens: the token of "portal" is shorter than 16 characters`},
		{"white space", map[string]string{"portal": "0123456789 abcdef"}, `api: static tokens: the token of "portal" contains white space`},
		{"shared token", map[string]string{"b": "0123456789abcdef", "a": "0123456789abcdef"}, `api: static tokens: "a" and "b" have the same token`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st, err := NewStaticTokens(tc.tokens)
			if err == nil || err.Error() != tc.want {
				t.Fatalf("got %v, %v; want error %q", st, err, tc.want)
			}
			for _, tok := range tc.tokens {
				if len(tok) >= 16 && strings.Contains(err.Error(), tok) {
					t.Errorf("the error quotes the token")
				}
			}
		})
	}
}

func TestStaticTokensAuthenticate(t *testing.T) {
	const tokA, tokB = "portal-a-secret-0001", "portal-b-secret-0002-longer"
	st, err := NewStaticTokens(map[string]string{"portal-a": tokA, "portal-b": tokB})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		headers []string
		want    string // caller id; "" refused
		reason  string
	}{
		{"token a", []string{"Authorization", "Bearer " + tokA}, "portal-a", ""},
		{"token b, lower-case scheme", []string{"Authorization", "bearer " + tokB}, "portal-b", ""},
		{"no header", nil, "", "no Authorization header"},
		{"two headers", []string{"Authorization", "Bearer " + tokA, "Authorization", "Bearer " + tokB}, "", "2 Authorization headers"},
		{"basic", []string{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte("portal-a:"+tokA))}, "", "the Authorization scheme is not Bearer"},
		{"scheme only", []string{"Authorization", "Bearer"}, "", "the Authorization scheme is not Bearer"},
		{"empty token", []string{"Authorization", "Bearer  "}, "", "empty bearer token"},
		{"prefix of a token", []string{"Authorization", "Bearer " + tokA[:len(tokA)-1]}, "", "the bearer token is not a configured token"},
		{"token and more", []string{"Authorization", "Bearer " + tokA + "x"}, "", "the bearer token is not a configured token"},
		{"the name", []string{"Authorization", "Bearer portal-a"}, "", "the bearer token is not a configured token"},
		{"huge", []string{"Authorization", "Bearer " + strings.Repeat("x", 17<<10)}, "", "bearer token longer than 16384 bytes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			for i := 0; i+1 < len(tc.headers); i += 2 {
				r.Header.Add(tc.headers[i], tc.headers[i+1])
			}
			c, err := st.Authenticate(r)
			if tc.want != "" {
				if err != nil || c != (Caller{ID: tc.want}) {
					t.Fatalf("got %+v, %v; want caller %q", c, err, tc.want)
				}
				return
			}
			if err == nil || err.Error() != tc.reason {
				t.Fatalf("got %+v, %v; want refusal %q", c, err, tc.reason)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("the error quotes a token: %v", err)
			}
		})
	}
}

// The REST routes answer an unauthenticated request with a bare 401; why goes to the
// debug log, without the token.
func TestRESTAuthentication(t *testing.T) {
	const token = "portal-a-secret-0001"
	st, err := NewStaticTokens(map[string]string{"portal-a": token})
	if err != nil {
		t.Fatal(err)
	}
	env := newRESTEnv(t, func(c *Config) { c.Auth = st; c.Demo = false })
	get := func(target string, headers ...string) *httptest.ResponseRecorder {
		return env.do(t, http.MethodGet, target, nil, headers...)
	}
	post := func(headers ...string) *httptest.ResponseRecorder {
		return env.postJSON(t, `{"patient_id": "demo-candidate"}`, headers...)
	}
	refused := []struct {
		name   string
		send   func() *httptest.ResponseRecorder
		reason string
	}{
		{"GET without a token", func() *httptest.ResponseRecorder { return get("/v1/patients/demo-candidate/screening") }, "no Authorization header"},
		{"GET with a wrong token", func() *httptest.ResponseRecorder {
			return get("/v1/patients/demo-candidate/screening", "Authorization", "Bearer not-the-token-0001")
		}, "the bearer token is not a configured token"},
		{"GET with a made-up report link", func() *httptest.ResponseRecorder {
			return get("/v1/patients/demo-candidate/screening?link=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
		}, "no Authorization header"},
		{"POST without a token", func() *httptest.ResponseRecorder { return post() }, "no Authorization header"},
		{"POST with Basic", func() *httptest.ResponseRecorder { return post("Authorization", "Basic cG9ydGFsLWE6eA==") }, "the Authorization scheme is not Bearer"},
		{"POST with a wrong token", func() *httptest.ResponseRecorder { return post("Authorization", "Bearer not-the-token-0001") }, "the bearer token is not a configured token"},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			before, logBefore := env.audit.String(), len(env.log.String())
			rec := tc.send()
			if rec.Code != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401; body %s", rec.Code, rec.Body)
			}
			want := Problem{Type: "about:blank", Title: "Unauthorized", Status: 401, Detail: "authentication required"}
			if got := problemOf(t, rec); got != want {
				t.Errorf("problem\n got %+v\nwant %+v", got, want)
			}
			if got := rec.Header().Get("WWW-Authenticate"); got != "Bearer" {
				t.Errorf("WWW-Authenticate %q, want Bearer", got)
			}
			if env.audit.String() != before {
				t.Errorf("an unauthenticated request wrote an audit record")
			}
			log := env.log.String()[logBefore:]
			if !strings.Contains(log, `"level":"DEBUG"`) || !strings.Contains(log, `"reason":"`+tc.reason+`"`) {
				t.Errorf("debug log %q, want the reason %q", log, tc.reason)
			}
			if strings.Contains(log, "not-the-token") || strings.Contains(log, token) {
				t.Errorf("the log holds a token: %s", log)
			}
		})
	}

	t.Run("with the token", func(t *testing.T) {
		for _, rec := range []*httptest.ResponseRecorder{
			get("/v1/patients/demo-candidate/screening", "Authorization", "Bearer "+token),
			post("Authorization", "Bearer "+token),
		} {
			screeningOf(t, rec)
		}
		lines := env.auditLines()
		if len(lines) != 2 {
			t.Fatalf("%d audit records, want 2", len(lines))
		}
		for _, l := range lines {
			if !strings.Contains(l, `"identifier":{"value":"portal-a"}`) || strings.Contains(l, token) {
				t.Errorf("audit record %s: want caller portal-a and never the token", l)
			}
		}
	})

	t.Run("public routes need no token", func(t *testing.T) {
		for _, target := range []string{"/healthz", "/readyz", "/openapi.json"} {
			if rec := get(target); rec.Code != http.StatusOK {
				t.Errorf("%s: status %d, want 200", target, rec.Code)
			}
		}
	})

	// A report-link token no longer stands in for a REST token: a card's link opens the
	// card's own report (GET /v1/reports/{uuid}, reportlink_test.go), never a screening
	// here. Even a token signed over this patient's id is refused.
	t.Run("report link", func(t *testing.T) {
		u, err := url.Parse(env.s.reportLink("demo-candidate", reportLinkClaims{}))
		if err != nil {
			t.Fatal(err)
		}
		rec := get("/v1/patients/demo-candidate/screening?" + u.RawQuery)
		if rec.Code != http.StatusUnauthorized {
			t.Fatalf("status %d with a report-link token, want 401; body %s", rec.Code, rec.Body)
		}
	})
}

// authFunc adapts a function to Authenticator.
type authFunc func(*http.Request) (Caller, error)

func (f authFunc) Authenticate(r *http.Request) (Caller, error) { return f(r) }

func TestRESTAuthenticatorWithoutCallerID(t *testing.T) {
	env := newRESTEnv(t, func(c *Config) {
		c.Auth = authFunc(func(*http.Request) (Caller, error) { return Caller{}, nil })
	})
	rec := env.do(t, http.MethodGet, "/v1/patients/demo-candidate/screening", nil)
	if rec.Code != http.StatusUnauthorized {
		t.Fatalf("status %d, want 401: a caller without an id cannot be audited", rec.Code)
	}
	if !strings.Contains(env.log.String(), "the authenticator gave no caller id") {
		t.Errorf("log %s: want the reason", env.log)
	}
}

// jwtKeys are an issuer's signing keys and the JWKS it publishes.
type jwtKeys struct {
	rsa  *rsa.PrivateKey
	ec   *ecdsa.PrivateKey
	rsa2 *rsa.PrivateKey // not published until rotated in
}

var (
	jwtKeysOnce sync.Once
	jwtKeysVal  jwtKeys
)

func testJWTKeys(t *testing.T) jwtKeys {
	t.Helper()
	jwtKeysOnce.Do(func() {
		var err error
		if jwtKeysVal.rsa, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		if jwtKeysVal.rsa2, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		if jwtKeysVal.ec, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			panic(err)
		}
	})
	return jwtKeysVal
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func rsaJWK(kid string, k *rsa.PublicKey) map[string]string {
	return map[string]string{"kty": "RSA", "kid": kid, "alg": "RS256", "use": "sig", "n": b64(k.N.Bytes()), "e": b64(big.NewInt(int64(k.E)).Bytes())}
}

func ecJWK(kid string, k *ecdsa.PrivateKey) map[string]string {
	pub, err := k.PublicKey.ECDH()
	if err != nil {
		panic(err)
	}
	raw := pub.Bytes() // 0x04 || X || Y
	return map[string]string{"kty": "EC", "kid": kid, "crv": "P-256", "x": b64(raw[1:33]), "y": b64(raw[33:])}
}

func jwksJSON(keys ...map[string]string) []byte {
	data, _ := json.Marshal(map[string]any{"keys": keys})
	return data
}

// jwksServer publishes a JWKS that a test can replace, counting fetches.
type jwksServer struct {
	*httptest.Server
	doc     atomic.Pointer[[]byte]
	fetches atomic.Int32
}

func newJWKSServer(t *testing.T, doc []byte) *jwksServer {
	js := &jwksServer{}
	js.doc.Store(&doc)
	js.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		js.fetches.Add(1)
		if r.URL.Path != "/jwks" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(*js.doc.Load())
	}))
	t.Cleanup(js.Close)
	return js
}

const (
	testIssuer   = "https://idp.example.org/realms/portals"
	testAudience = "https://trialscreen.example.org"
)

func sign(t *testing.T, method jwt.SigningMethod, kid string, key any, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// claims are a valid token's, issued at testNow; mod changes them.
func claims(mod func(jwt.MapClaims)) jwt.MapClaims {
	now := testNow
	c := jwt.MapClaims{"iss": testIssuer, "aud": testAudience, "sub": "portal-7",
		"iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix()}
	if mod != nil {
		mod(c)
	}
	return c
}

func TestJWTAuthAuthenticate(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	k := testJWTKeys(t)
	js := newJWKSServer(t, jwksJSON(rsaJWK("rsa-1", &k.rsa.PublicKey), ecJWK("ec-1", k.ec)))
	auth, err := NewJWTAuth(JWTAuthConfig{Issuer: testIssuer, Audience: testAudience, JWKSURL: js.URL + "/jwks", HTTPClient: js.Client(), Now: fixedClock(testNow)})
	if err != nil {
		t.Fatal(err)
	}
	defer js.Close()
	defer auth.Close()

	now := testNow
	pubDER, err := x509.MarshalPKIXPublicKey(&k.rsa.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	stranger, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	good := sign(t, jwt.SigningMethodRS256, "rsa-1", k.rsa, claims(nil))
	parts := strings.Split(good, ".")
	tampered := parts[0] + "." + b64([]byte(`{"iss":"`+testIssuer+`","aud":"`+testAudience+`","sub":"admin","exp":9999999999}`)) + "." + parts[2]
	unsigned := sign(t, jwt.SigningMethodNone, "rsa-1", jwt.UnsafeAllowNoneSignatureType, claims(nil))

	cases := []struct {
		name   string
		token  string
		want   string // caller id; "" refused
		reason string // in the refusal
	}{
		{"RS256", good, testIssuer + " portal-7", ""},
		{"ES256", sign(t, jwt.SigningMethodES256, "ec-1", k.ec, claims(nil)), testIssuer + " portal-7", ""},
		{"no kid: tried against every key", sign(t, jwt.SigningMethodRS256, "", k.rsa, claims(nil)), testIssuer + " portal-7", ""},
		{"audience among several", sign(t, jwt.SigningMethodRS256, "rsa-1", k.rsa, claims(func(c jwt.MapClaims) {
			c["aud"] = []string{"https://other.example.org", testAudience}
		})), testIssuer + " portal-7", ""},
		{"expired within the leeway", sign(t, jwt.SigningMethodRS256, "rsa-1", k.rsa, claims(func(c jwt.MapClaims) {
			c["exp"] = now.Add(-10 * time.Second).Unix()
		})), testIssuer + " portal-7", ""},
		{"expired", sign(t, jwt.SigningMethodRS256, "rsa-1", k.rsa, claims(func(c jwt.MapClaims) {
			c["exp"] = now.Add(-2 * time.Minute).Unix()
		})), "", "token is expired"},
		{"no exp", sign(t, jwt.SigningMethodRS256, "rsa-1", k.rsa, claims(func(c jwt.MapClaims) { delete(c, "exp") })), "", "exp claim is required"},
		{"not yet valid", sign(t, jwt.SigningMethodRS256, "rsa-1", k.rsa, claims(func(c jwt.MapClaims) {
			c["nbf"] = now.Add(5 * time.Minute).Unix()
		})), "", "token is not valid yet"},
		{"issued in the future", sign(t, jwt.SigningMethodRS256, "rsa-1", k.rsa, claims(func(c jwt.MapClaims) {
			c["iat"] = now.Add(5 * time.Minute).Unix()
		})), "", "token used before issued"},
		{"other issuer", sign(t, jwt.SigningMethodRS256, "rsa-1", k.rsa, claims(func(c jwt.MapClaims) {
			c["iss"] = "https://evil.example.org"
		})), "", "token has invalid issuer"},
		{"other audience", sign(t, jwt.SigningMethodRS256, "rsa-1", k.rsa, claims(func(c jwt.MapClaims) {
			c["aud"] = "https://other.example.org"
		})), "", "token has invalid audience"},
		{"no sub", sign(t, jwt.SigningMethodRS256, "rsa-1", k.rsa, claims(func(c jwt.MapClaims) { delete(c, "sub") })), "", "no sub claim"},
		{"valid for exactly the maximum lifetime", sign(t, jwt.SigningMethodRS256, "rsa-1", k.rsa, claims(func(c jwt.MapClaims) {
			c["exp"] = now.Add(time.Hour).Unix()
		})), testIssuer + " portal-7", ""},
		{"valid for ten years", sign(t, jwt.SigningMethodRS256, "rsa-1", k.rsa, claims(func(c jwt.MapClaims) {
			c["exp"] = now.AddDate(10, 0, 0).Unix()
		})), "", "lifetime (exp - iat) 87672h0m0s exceeds the maximum 1h0m0s"},
		{"issued long ago, not yet expired", sign(t, jwt.SigningMethodRS256, "rsa-1", k.rsa, claims(func(c jwt.MapClaims) {
			c["iat"] = now.Add(-3 * time.Hour).Unix()
			c["exp"] = now.Add(time.Minute).Unix()
		})), "", "lifetime (exp - iat) 3h1m0s exceeds the maximum 1h0m0s"},
		{"no iat, expiring within the maximum", sign(t, jwt.SigningMethodRS256, "rsa-1", k.rsa, claims(func(c jwt.MapClaims) { delete(c, "iat") })), testIssuer + " portal-7", ""},
		{"no iat, expiring beyond the maximum", sign(t, jwt.SigningMethodRS256, "rsa-1", k.rsa, claims(func(c jwt.MapClaims) {
			delete(c, "iat")
			c["exp"] = now.Add(2 * time.Hour).Unix()
		})), "", "no iat and expires in 2h0m0s, more than the maximum lifetime 1h0m0s"},
		{"exp a numeric string", sign(t, jwt.SigningMethodRS256, "rsa-1", k.rsa, claims(func(c jwt.MapClaims) {
			c["exp"] = strconv.FormatInt(now.Add(5*time.Minute).Unix(), 10)
		})), "", "the exp claim is not a JSON number"},
		{"iat a numeric string", sign(t, jwt.SigningMethodRS256, "rsa-1", k.rsa, claims(func(c jwt.MapClaims) {
			c["iat"] = strconv.FormatInt(now.Unix(), 10)
		})), "", "the iat claim is not a JSON number"},
		{"nbf a numeric string", sign(t, jwt.SigningMethodRS256, "rsa-1", k.rsa, claims(func(c jwt.MapClaims) {
			c["nbf"] = strconv.FormatInt(now.Unix(), 10)
		})), "", "the nbf claim is not a JSON number"},
		{"exp null", sign(t, jwt.SigningMethodRS256, "rsa-1", k.rsa, claims(func(c jwt.MapClaims) { c["exp"] = nil })), "", "the exp claim is not a JSON number"},
		{"HS256 keyed with the public key", sign(t, jwt.SigningMethodHS256, "rsa-1", pubDER, claims(nil)), "", "signing method HS256 is invalid"},
		{"alg none", unsigned, "", "signing method none is invalid"},
		{"RS512 not accepted", sign(t, jwt.SigningMethodRS512, "", k.rsa, claims(nil)), "", "signing method RS512 is invalid"},
		{"signed by another key under a known kid", sign(t, jwt.SigningMethodRS256, "rsa-1", stranger, claims(nil)), "", "verification error"},
		{"tampered claims", tampered, "", "verification error"},
		{"not a JWT", "not.a.jwt", "", "token is malformed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.Header.Set("Authorization", "Bearer "+tc.token)
			c, err := auth.Authenticate(r)
			if tc.want != "" {
				if err != nil || c != (Caller{ID: tc.want}) {
					t.Fatalf("got %+v, %v; want caller %q", c, err, tc.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted as %+v; want refused (%s)", c, tc.reason)
			}
			if !strings.Contains(err.Error(), tc.reason) {
				t.Errorf("error %q, want it to say %q", err, tc.reason)
			}
			if sig := tc.token[strings.LastIndex(tc.token, ".")+1:]; len(sig) > 8 && strings.Contains(err.Error(), sig) {
				t.Errorf("the error quotes the token: %v", err)
			}
		})
	}
	if n := js.fetches.Load(); n != 1 {
		t.Errorf("%d JWKS fetches, want 1 (cached)", n)
	}
}

// JWTAuthConfig.MaxLifetime replaces the default one-hour cap.
func TestJWTAuthMaxLifetime(t *testing.T) {
	k := testJWTKeys(t)
	auth, err := NewJWTAuth(JWTAuthConfig{Issuer: testIssuer, Audience: testAudience, JWKS: jwksJSON(rsaJWK("rsa-1", &k.rsa.PublicKey)),
		Now: fixedClock(testNow), MaxLifetime: 10 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer auth.Close()
	for _, tc := range []struct {
		life time.Duration
		ok   bool
	}{{5 * time.Minute, true}, {10 * time.Minute, true}, {11 * time.Minute, false}} {
		tok := sign(t, jwt.SigningMethodRS256, "rsa-1", k.rsa, claims(func(c jwt.MapClaims) { c["exp"] = testNow.Add(tc.life).Unix() }))
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		_, err := auth.Authenticate(r)
		if (err == nil) != tc.ok {
			t.Errorf("lifetime %s: error %v, want accepted %v", tc.life, err, tc.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "exceeds the maximum 10m0s") {
			t.Errorf("lifetime %s: error %q, want it to name the maximum", tc.life, err)
		}
	}
	if _, err := NewJWTAuth(JWTAuthConfig{Issuer: testIssuer, Audience: testAudience, JWKS: jwksJSON(rsaJWK("rsa-1", &k.rsa.PublicKey)), MaxLifetime: -time.Minute}); err == nil ||
		!strings.Contains(err.Error(), "MaxLifetime -1m0s is negative") {
		t.Errorf("negative MaxLifetime: %v, want refused", err)
	}
}

// An issuer rotates its keys: a token with a new key id makes the service fetch the
// JWKS again, at most once a minute, without holding the request.
func TestJWTAuthKeyRotation(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	k := testJWTKeys(t)
	js := newJWKSServer(t, jwksJSON(rsaJWK("rsa-1", &k.rsa.PublicKey)))
	auth, err := NewJWTAuth(JWTAuthConfig{Issuer: testIssuer, Audience: testAudience, JWKSURL: js.URL + "/jwks", HTTPClient: js.Client(), Now: fixedClock(testNow)})
	if err != nil {
		t.Fatal(err)
	}
	defer js.Close()
	defer auth.Close()
	try := func(kid string, key any) error {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Authorization", "Bearer "+sign(t, jwt.SigningMethodRS256, kid, key, claims(nil)))
		_, err := auth.Authenticate(r)
		return err
	}
	rotated := jwksJSON(rsaJWK("rsa-1", &k.rsa.PublicKey), rsaJWK("rsa-2", &k.rsa2.PublicKey))
	js.doc.Store(&rotated)
	if err := try("rsa-2", k.rsa2); err != nil {
		t.Fatalf("a token with the new key: %v", err)
	}
	if n := js.fetches.Load(); n != 2 {
		t.Errorf("%d JWKS fetches, want 2", n)
	}
	if err := try("rsa-3", k.rsa2); err == nil {
		t.Fatal("a token with an unpublished key id was accepted")
	}
	if n := js.fetches.Load(); n != 2 {
		t.Errorf("%d JWKS fetches after a second unknown kid within a minute, want still 2", n)
	}
	if err := try("rsa-1", k.rsa); err != nil {
		t.Errorf("the old key: %v", err)
	}
}

func TestJWTAuthInlineJWKS(t *testing.T) {
	k := testJWTKeys(t)
	auth, err := NewJWTAuth(JWTAuthConfig{Issuer: testIssuer, Audience: testAudience, JWKS: jwksJSON(ecJWK("ec-1", k.ec)), Algorithms: []string{"ES256"}, Now: fixedClock(testNow)})
	if err != nil {
		t.Fatal(err)
	}
	defer auth.Close()
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Authorization", "Bearer "+sign(t, jwt.SigningMethodES256, "ec-1", k.ec, claims(nil)))
	if c, err := auth.Authenticate(r); err != nil || c.ID != testIssuer+" portal-7" {
		t.Errorf("got %+v, %v", c, err)
	}
	r.Header.Set("Authorization", "Bearer "+sign(t, jwt.SigningMethodRS256, "", k.rsa, claims(nil)))
	if _, err := auth.Authenticate(r); err == nil {
		t.Error("RS256 accepted though only ES256 is configured")
	}
}

func TestNewJWTAuthRefuses(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	k := testJWTKeys(t)
	jwks := jwksJSON(rsaJWK("rsa-1", &k.rsa.PublicKey))
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusInternalServerError)
	}))
	defer failing.Close()
	cases := []struct {
		name string
		cfg  JWTAuthConfig
		want []string // each in the error
	}{
		{"nothing", JWTAuthConfig{}, []string{
			"api: JWTAuthConfig.Issuer is required", "api: JWTAuthConfig.Audience is required",
			"api: JWTAuthConfig: one of JWKSURL and JWKS is required"}},
		{"both key sources", JWTAuthConfig{Issuer: testIssuer, Audience: testAudience, JWKS: jwks, JWKSURL: "https://idp.example.org/jwks"},
			[]string{"api: JWTAuthConfig: JWKSURL and JWKS are both set; give one"}},
		{"plain http", JWTAuthConfig{Issuer: testIssuer, Audience: testAudience, JWKSURL: "http://idp.example.org/jwks"},
			[]string{`api: JWTAuthConfig.JWKSURL "http://idp.example.org/jwks" must use https (http only to a loopback address)`}},
		{"relative URL", JWTAuthConfig{Issuer: testIssuer, Audience: testAudience, JWKSURL: "/jwks"},
			[]string{`api: JWTAuthConfig.JWKSURL "/jwks" is not an absolute URL`}},
		{"other scheme", JWTAuthConfig{Issuer: testIssuer, Audience: testAudience, JWKSURL: "file://localhost/etc/jwks"},
			[]string{`api: JWTAuthConfig.JWKSURL "file://localhost/etc/jwks" must use https`}},
		{"HMAC", JWTAuthConfig{Issuer: testIssuer, Audience: testAudience, JWKS: jwks, Algorithms: []string{"RS256", "HS256"}},
			[]string{`api: JWTAuthConfig.Algorithms: "HS256" is not allowed (allowed: RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA)`}},
		{"none", JWTAuthConfig{Issuer: testIssuer, Audience: testAudience, JWKS: jwks, Algorithms: []string{"none"}},
			[]string{`api: JWTAuthConfig.Algorithms: "none" is not allowed`}},
		{"JWKS not JSON", JWTAuthConfig{Issuer: testIssuer, Audience: testAudience, JWKS: json.RawMessage(`{"keys": [`)},
			[]string{"api: JWTAuthConfig.JWKS: "}},
		{"JWKS URL fails", JWTAuthConfig{Issuer: testIssuer, Audience: testAudience, JWKSURL: failing.URL + "/jwks", HTTPClient: failing.Client()},
			[]string{"api: JWTAuthConfig.JWKSURL: ", "500"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			auth, err := NewJWTAuth(tc.cfg)
			if err == nil {
				auth.Close()
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\nwant it to say %q", err, w)
				}
			}
		})
	}
}

// A JWTAuth serves as the REST routes' Authenticator.
func TestRESTWithJWTAuth(t *testing.T) {
	k := testJWTKeys(t)
	auth, err := NewJWTAuth(JWTAuthConfig{Issuer: testIssuer, Audience: testAudience, JWKS: jwksJSON(rsaJWK("rsa-1", &k.rsa.PublicKey)), Now: fixedClock(testNow)})
	if err != nil {
		t.Fatal(err)
	}
	defer auth.Close()
	env := newRESTEnv(t, func(c *Config) { c.Auth = auth; c.Demo = false })
	tok := sign(t, jwt.SigningMethodRS256, "rsa-1", k.rsa, claims(nil))
	screeningOf(t, env.do(t, http.MethodGet, "/v1/patients/demo-candidate/screening", nil, "Authorization", "Bearer "+tok))
	if l := env.auditLines(); len(l) != 1 || !strings.Contains(l[0], `"identifier":{"value":"`+testIssuer+` portal-7"}`) {
		t.Errorf("audit %q, want the caller %q", l, testIssuer+" portal-7")
	}
	expired := sign(t, jwt.SigningMethodRS256, "rsa-1", k.rsa, claims(func(c jwt.MapClaims) { c["exp"] = testNow.Add(-time.Hour).Unix() }))
	rec := env.do(t, http.MethodGet, "/v1/patients/demo-candidate/screening", nil, "Authorization", "Bearer "+expired)
	if got := problemOf(t, rec); got.Status != 401 || got.Detail != "authentication required" {
		t.Errorf("expired token: %+v, want a bare 401", got)
	}
	if !strings.Contains(env.log.String(), "token is expired") {
		t.Errorf("debug log %s: want the reason", env.log)
	}
	for name, mod := range map[string]func(jwt.MapClaims){
		"ten years":  func(c jwt.MapClaims) { c["exp"] = testNow.AddDate(10, 0, 0).Unix() },
		"exp string": func(c jwt.MapClaims) { c["exp"] = strconv.FormatInt(testNow.Add(time.Minute).Unix(), 10) },
	} {
		tok := sign(t, jwt.SigningMethodRS256, "rsa-1", k.rsa, claims(mod))
		rec := env.do(t, http.MethodGet, "/v1/patients/demo-candidate/screening", nil, "Authorization", "Bearer "+tok)
		if got := problemOf(t, rec); got.Status != 401 || got.Detail != "authentication required" {
			t.Errorf("%s: %+v, want a bare 401", name, got)
		}
	}
}
