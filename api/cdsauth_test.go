package api

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Every JWT the spec or the allow-list refuses gets a bare 401, with the reason in the
// log and the token nowhere in it.
func TestCDSAuthRefusals(t *testing.T) {
	env := newCDSTestEnv(t, cdsTestConfig{})
	stranger := newCDSTestKeyEC(t, "ehr-key-1") // same kid, another key
	rsaKey := newCDSTestKeyRSA(t, "ehr-key-1")
	now := testNow // when the tokens are issued

	tests := []struct {
		name   string
		header string // the whole Authorization header; "" for none
		reason string // in the log
	}{
		{name: "no token", reason: "no Authorization header"},
		{name: "Basic scheme", header: "Basic dXNlcjpwYXNz", reason: "the Authorization scheme is not Bearer"},
		{name: "not a JWT", header: "Bearer not-a-jwt", reason: "token is malformed"},
		{name: "HS256", header: "Bearer " + cdsHMACToken(t), reason: "signing method HS256 is invalid"},
		{name: "alg none", header: "Bearer " + cdsNoneToken(t), reason: "signing method none is invalid"},
		{name: "unknown issuer", header: "Bearer " + env.key.token(t, func(c jwt.MapClaims, _ map[string]any) {
			c["iss"] = "https://other-ehr.example.org"
		}), reason: "is not allowed"},
		{name: "no issuer", header: "Bearer " + env.key.token(t, func(c jwt.MapClaims, _ map[string]any) { delete(c, "iss") }), reason: `issuer \"\" is not allowed`},
		{name: "audience is the discovery URL", header: "Bearer " + env.key.token(t, func(c jwt.MapClaims, _ map[string]any) {
			c["aud"] = cdsTestPublicURL + "/cds-services"
		}), reason: "token has invalid audience"},
		{name: "audience another service", header: "Bearer " + env.key.token(t, func(c jwt.MapClaims, _ map[string]any) {
			c["aud"] = "https://other.example.org/cds-services/trialscreen-patient-view"
		}), reason: "token has invalid audience"},
		{name: "no audience", header: "Bearer " + env.key.token(t, func(c jwt.MapClaims, _ map[string]any) { delete(c, "aud") }), reason: "aud claim is required"},
		{name: "expired", header: "Bearer " + env.key.token(t, func(c jwt.MapClaims, _ map[string]any) {
			c["iat"] = now.Add(-10 * time.Minute).Unix()
			c["exp"] = now.Add(-2 * time.Minute).Unix()
		}), reason: "token is expired"},
		{name: "no exp", header: "Bearer " + env.key.token(t, func(c jwt.MapClaims, _ map[string]any) { delete(c, "exp") }), reason: "exp claim is required"},
		{name: "exp too far ahead", header: "Bearer " + env.key.token(t, func(c jwt.MapClaims, _ map[string]any) {
			c["exp"] = now.Add(3 * time.Hour).Unix()
		}), reason: "exp is more than 1h0m0s ahead"},
		{name: "exp a numeric string", header: "Bearer " + env.key.token(t, func(c jwt.MapClaims, _ map[string]any) {
			c["exp"] = strconv.FormatInt(now.Add(5*time.Minute).Unix(), 10)
		}), reason: "the exp claim is not a JSON number"},
		{name: "iat a numeric string", header: "Bearer " + env.key.token(t, func(c jwt.MapClaims, _ map[string]any) {
			c["iat"] = strconv.FormatInt(now.Unix(), 10)
		}), reason: "the iat claim is not a JSON number"},
		{name: "issued hours ago, not yet expired", header: "Bearer " + env.key.token(t, func(c jwt.MapClaims, _ map[string]any) {
			c["iat"] = now.Add(-3 * time.Hour).Unix()
			c["exp"] = now.Add(time.Minute).Unix()
		}), reason: "lifetime (exp - iat) 3h1m0s exceeds the maximum 1h0m0s"},
		{name: "no iat", header: "Bearer " + env.key.token(t, func(c jwt.MapClaims, _ map[string]any) { delete(c, "iat") }), reason: "iat is missing"},
		{name: "iat in the future", header: "Bearer " + env.key.token(t, func(c jwt.MapClaims, _ map[string]any) {
			c["iat"] = now.Add(10 * time.Minute).Unix()
		}), reason: "token used before issued"},
		{name: "no jti", header: "Bearer " + env.key.token(t, func(c jwt.MapClaims, _ map[string]any) { delete(c, "jti") }), reason: "jti is missing"},
		{name: "jti too long", header: "Bearer " + env.key.token(t, func(c jwt.MapClaims, _ map[string]any) {
			c["jti"] = strings.Repeat("j", 300)
		}), reason: "jti is longer than 256 bytes"},
		{name: "signed by another key", header: "Bearer " + stranger.token(t, nil), reason: "token signature is invalid"},
		{name: "RS384 by a key not in the set", header: "Bearer " + rsaKey.token(t, nil), reason: "does not match token"},
		{name: "unknown kid", header: "Bearer " + env.key.token(t, func(_ jwt.MapClaims, h map[string]any) { h["kid"] = "rotated-away" }), reason: "rotated-away"},
		{name: "payload edited after signing", header: "Bearer " + cdsTamper(t, env.key.token(t, nil)), reason: "token signature is invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(env.logs.String())
			req := httptest.NewRequest(http.MethodPost, cdsTestPath, strings.NewReader(`{"hook":"patient-view"}`))
			if tt.header != "" {
				req.Header.Set("Authorization", tt.header)
			}
			rr := httptest.NewRecorder()
			env.h.ServeHTTP(rr, req)
			if rr.Code != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401: %s", rr.Code, rr.Body)
			}
			if rr.Body.Len() != 0 {
				t.Errorf("body %q, want none", rr.Body)
			}
			if got := rr.Header().Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer") {
				t.Errorf("WWW-Authenticate %q", got)
			}
			logs := env.logs.String()[before:]
			if !strings.Contains(logs, "cds hook call refused") || !strings.Contains(logs, tt.reason) {
				t.Errorf("log lacks the reason %q:\n%s", tt.reason, logs)
			}
			if tok := strings.TrimPrefix(tt.header, "Bearer "); len(tok) > 20 && strings.Contains(logs, tok) {
				t.Error("the token is in the log")
			}
		})
	}
	if strings.Contains(env.audit.String(), "Patient/") {
		t.Error("a refused call left an audit record of patient data")
	}
}

func cdsHMACToken(t *testing.T) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"iss": cdsTestIssuer, "aud": cdsTestAudience, "iat": testNow.Unix(), "exp": testNow.Add(time.Minute).Unix(), "jti": "h1",
	})
	tok.Header["kid"] = "ehr-key-1"
	s, err := tok.SignedString([]byte("a shared secret the EHR might use"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func cdsNoneToken(t *testing.T) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{
		"iss": cdsTestIssuer, "aud": cdsTestAudience, "iat": testNow.Unix(), "exp": testNow.Add(time.Minute).Unix(), "jti": "n1",
	})
	s, err := tok.SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// cdsTamper swaps the payload of a signed token for one naming another jti.
func cdsTamper(t *testing.T, tok string) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	other := strings.Split(newCDSTestKeyEC(t, "x").token(t, nil), ".")
	return parts[0] + "." + other[1] + "." + parts[2]
}

// Valid tokens: ES384 and RS384 keys, aud as a string or an array, and a jku header
// that is not the configured key URL is ignored, never fetched.
func TestCDSAuthAccepts(t *testing.T) {
	var jkuHits atomic.Int32
	jku := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { jkuHits.Add(1) }))
	defer jku.Close()
	ec := newCDSTestKeyEC(t, "ec-1")
	rs := newCDSTestKeyRSA(t, "rsa-1")
	env := newCDSTestEnv(t, cdsTestConfig{client: &CDSClient{Issuer: cdsTestIssuer, JWKS: cdsTestJWKS(ec, rs)}})
	tests := []struct {
		name  string
		token string
	}{
		{"ES384", ec.token(t, nil)},
		{"RS384", rs.token(t, nil)},
		{"aud as an array", ec.token(t, func(c jwt.MapClaims, _ map[string]any) { c["aud"] = []string{"https://x.example.org", cdsTestAudience} })},
		{"jku elsewhere", ec.token(t, func(_ jwt.MapClaims, h map[string]any) { h["jku"] = jku.URL + "/jwks" })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body, _ := env.post(t, tt.token, cdsHookBody("demo-candidate", cdsDemoPrefetch(t, "candidate")))
			cdsOneCard(t, status, body)
		})
	}
	if n := jkuHits.Load(); n != 0 {
		t.Errorf("the jku URL was fetched %d times", n)
	}
}

// A token is good once: its jti replayed is refused, and another EHR's use of the same
// jti is no replay.
func TestCDSAuthReplay(t *testing.T) {
	env := newCDSTestEnv(t, cdsTestConfig{})
	tok := env.key.token(t, nil)
	body := cdsHookBody("demo-candidate", cdsDemoPrefetch(t, "candidate"))
	status, resp, _ := env.post(t, tok, body)
	cdsOneCard(t, status, resp)
	status, resp, _ = env.post(t, tok, body)
	if status != http.StatusUnauthorized || len(resp) != 0 {
		t.Fatalf("replay: status %d, body %q; want a bare 401", status, resp)
	}
	if !strings.Contains(env.logs.String(), "jti was already used (replay)") {
		t.Errorf("log lacks the replay reason:\n%s", env.logs.String())
	}
	// A fresh jti from the same EHR is fine.
	status, resp, _ = env.post(t, env.key.token(t, nil), body)
	cdsOneCard(t, status, resp)
}

func TestCDSJTIStoreBounded(t *testing.T) {
	s := newCDSJTIStore(2)
	t0 := time.Unix(1_800_000_000, 0)
	if err := s.use("a", t0.Add(time.Minute), t0); err != nil {
		t.Fatal(err)
	}
	if err := s.use("b", t0.Add(2*time.Minute), t0); err != nil {
		t.Fatal(err)
	}
	if err := s.use("c", t0.Add(time.Minute), t0); err == nil || !strings.Contains(err.Error(), "too many live jtis") {
		t.Fatalf("a third live jti: %v, want refused", err)
	}
	// Once "a" has expired it is forgotten, making room; "b" is still remembered.
	t1 := t0.Add(90 * time.Second)
	if err := s.use("c", t1.Add(time.Minute), t1); err != nil {
		t.Fatalf("after expiry: %v", err)
	}
	if err := s.use("b", t1.Add(time.Minute), t1); err == nil {
		t.Fatal("b replayed while live was accepted")
	}
	if len(s.seen) != 2 {
		t.Errorf("%d jtis kept, want 2", len(s.seen))
	}
}

// cdsJWKSServer serves an EHR's key set, counting requests.
type cdsJWKSServer struct {
	srv    *httptest.Server
	hits   atomic.Int32
	status atomic.Int32
	keys   atomic.Pointer[[]byte]
}

func newCDSJWKSServer(t *testing.T, keys ...*cdsTestKey) *cdsJWKSServer {
	j := &cdsJWKSServer{}
	j.status.Store(http.StatusOK)
	set := cdsTestJWKS(keys...)
	j.keys.Store(&set)
	j.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		j.hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(int(j.status.Load()))
		_, _ = w.Write(*j.keys.Load())
	}))
	t.Cleanup(j.srv.Close)
	return j
}

// A key set behind a URL is fetched on first use and cached: the second call makes no
// request. Through the HTTP surface.
func TestCDSAuthJWKSFetchedOnceAndCached(t *testing.T) {
	key := newCDSTestKeyEC(t, "k1")
	jwks := newCDSJWKSServer(t, key)
	env := newCDSTestEnv(t, cdsTestConfig{client: &CDSClient{Issuer: cdsTestIssuer, JWKSURL: jwks.srv.URL + "/jwks.json"}})
	if n := jwks.hits.Load(); n != 0 {
		t.Fatalf("the key set was fetched %d times before any call", n)
	}
	body := cdsHookBody("demo-candidate", cdsDemoPrefetch(t, "candidate"))
	for i := range 2 {
		status, resp, _ := env.post(t, key.token(t, nil), body)
		cdsOneCard(t, status, resp)
		if n := jwks.hits.Load(); n != 1 {
			t.Fatalf("after call %d the key set was fetched %d times, want 1", i+1, n)
		}
	}
}

// Key rotation and outages, on a clock the test moves: an unknown kid refetches, but
// not more often than cdsJWKSMinRefetch; a failed fetch is a 401 and not retried at
// once; the cache expires after cdsJWKSTTL; a failed refresh keeps the old keys.
func TestCDSAuthJWKSRefresh(t *testing.T) {
	old := newCDSTestKeyEC(t, "old")
	rotated := newCDSTestKeyEC(t, "new")
	jwks := newCDSJWKSServer(t, old)
	v := newCDSVerifier(CDSConfig{Clients: []CDSClient{{Issuer: cdsTestIssuer, JWKSURL: jwks.srv.URL}}}, cdsTestAudience, fixedClock(testNow), slog.New(slog.DiscardHandler))
	clock := testNow
	v.now = func() time.Time { return clock }
	verify := func(k *cdsTestKey) error {
		req := httptest.NewRequest(http.MethodPost, cdsTestPath, nil)
		req.Header.Set("Authorization", "Bearer "+k.token(t, func(c jwt.MapClaims, _ map[string]any) {
			c["iat"], c["exp"] = clock.Unix(), clock.Add(5*time.Minute).Unix()
		}))
		_, err := v.verify(req)
		return err
	}
	step := func(name string, k *cdsTestKey, wantOK bool, wantHits int32) {
		t.Helper()
		err := verify(k)
		if (err == nil) != wantOK {
			t.Errorf("%s: err = %v, want ok=%v", name, err, wantOK)
		}
		if n := jwks.hits.Load(); n != wantHits {
			t.Errorf("%s: %d fetches, want %d", name, n, wantHits)
		}
	}
	step("first use fetches", old, true, 1)
	step("cached", old, true, 1)
	newSet := cdsTestJWKS(old, rotated)
	jwks.keys.Store(&newSet)
	step("unknown kid right after a fetch: not refetched", rotated, false, 1)
	clock = clock.Add(cdsJWKSMinRefetch)
	step("unknown kid later: refetched", rotated, true, 2)
	step("rotated key now cached", rotated, true, 2)

	jwks.status.Store(http.StatusInternalServerError)
	clock = clock.Add(cdsJWKSTTL)
	step("expired cache, endpoint down: old keys kept", old, true, 3)
	step("endpoint down: not retried at once", old, true, 3)

	down := newCDSJWKSServer(t, old)
	down.status.Store(http.StatusServiceUnavailable)
	v2 := newCDSVerifier(CDSConfig{Clients: []CDSClient{{Issuer: cdsTestIssuer, JWKSURL: down.srv.URL}}}, cdsTestAudience, fixedClock(testNow), slog.New(slog.DiscardHandler))
	v2.now = v.now
	for i := range 2 {
		req := httptest.NewRequest(http.MethodPost, cdsTestPath, nil)
		req.Header.Set("Authorization", "Bearer "+old.token(t, func(c jwt.MapClaims, _ map[string]any) {
			c["iat"], c["exp"] = clock.Unix(), clock.Add(5*time.Minute).Unix()
		}))
		if _, err := v2.verify(req); err == nil {
			t.Fatalf("call %d verified without keys", i+1)
		}
	}
	if n := down.hits.Load(); n != 1 {
		t.Errorf("an endpoint that is down was fetched %d times in a row, want 1", n)
	}
}

// Without PublicURL no audience can be checked, so every call is refused.
func TestCDSAuthNeedsPublicURL(t *testing.T) {
	key := newCDSTestKeyEC(t, "k1")
	v := newCDSVerifier(CDSConfig{Clients: []CDSClient{{Issuer: cdsTestIssuer, JWKS: cdsTestJWKS(key)}}}, "", fixedClock(testNow), slog.New(slog.DiscardHandler))
	req := httptest.NewRequest(http.MethodPost, cdsTestPath, nil)
	req.Header.Set("Authorization", "Bearer "+key.token(t, func(c jwt.MapClaims, _ map[string]any) { c["aud"] = "/cds-services/trialscreen-patient-view" }))
	if _, err := v.verify(req); err == nil {
		t.Fatal("verified a token with no audience configured")
	}
}

// Several Authorization headers, or a token longer than 16 KiB, are refused unparsed
// with a bare 401; the reason goes to the log.
func TestCDSAuthRefusesOddHeaders(t *testing.T) {
	env := newCDSTestEnv(t, cdsTestConfig{})
	body := cdsHookBody("demo-candidate", cdsDemoPrefetch(t, "candidate"))
	valid := func() string { return "Bearer " + env.key.token(t, nil) }
	tests := []struct {
		name    string
		headers []string
		reason  string
	}{
		{"two headers, both valid", []string{valid(), valid()}, "2 Authorization headers"},
		{"a valid and an empty header", []string{valid(), ""}, "2 Authorization headers"},
		{"token over 16 KiB", []string{"Bearer " + strings.Repeat("a", 16<<10+1)}, "bearer token longer than 16384 bytes"},
		{"empty bearer", []string{"Bearer  "}, "empty bearer token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, _ := json.Marshal(body)
			req := httptest.NewRequest(http.MethodPost, cdsTestPath, bytes.NewReader(data))
			for _, h := range tt.headers {
				req.Header.Add("Authorization", h)
			}
			before := len(env.logs.String())
			rr := httptest.NewRecorder()
			env.h.ServeHTTP(rr, req)
			if rr.Code != http.StatusUnauthorized || rr.Body.Len() != 0 {
				t.Fatalf("status %d, body %q; want a bare 401", rr.Code, rr.Body)
			}
			if logs := env.logs.String()[before:]; !strings.Contains(logs, tt.reason) {
				t.Errorf("log lacks %q:\n%s", tt.reason, logs)
			}
		})
	}
	// Exactly one valid header still works.
	status, resp, _ := env.post(t, env.key.token(t, nil), body)
	cdsOneCard(t, status, resp)
}

// cdsGatedJWKS answers each request for the key set only when the test releases it, so
// that a fetch is in flight while the test acts.
type cdsGatedJWKS struct {
	srv     *httptest.Server
	hits    atomic.Int32
	arrived chan struct{} // one send per request, when it arrives
	release chan struct{} // one receive per request answered
	keys    atomic.Pointer[[]byte]
}

func newCDSGatedJWKS(t *testing.T, keys ...*cdsTestKey) *cdsGatedJWKS {
	j := &cdsGatedJWKS{arrived: make(chan struct{}, 16), release: make(chan struct{}, 16)}
	set := cdsTestJWKS(keys...)
	j.keys.Store(&set)
	j.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		j.hits.Add(1)
		j.arrived <- struct{}{}
		select {
		case <-j.release:
		case <-r.Context().Done():
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(*j.keys.Load())
	}))
	t.Cleanup(j.srv.Close)
	return j
}

// A caller that hangs up while the key set is first fetched does not fail the fetch:
// it goes on, on a context of its own, and the next call (here at once, well inside
// cdsJWKSMinRefetch) verifies with the keys it brought, with no second fetch.
func TestCDSAuthJWKSCallerCancelDoesNotLockOut(t *testing.T) {
	key := newCDSTestKeyEC(t, "k1")
	jwks := newCDSGatedJWKS(t, key)
	v := newCDSVerifier(CDSConfig{Clients: []CDSClient{{Issuer: cdsTestIssuer, JWKSURL: jwks.srv.URL}}}, cdsTestAudience, fixedClock(testNow), slog.New(slog.DiscardHandler))
	request := func(ctx context.Context) *http.Request {
		req := httptest.NewRequestWithContext(ctx, http.MethodPost, cdsTestPath, nil)
		req.Header.Set("Authorization", "Bearer "+key.token(t, nil))
		return req
	}

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		_, err := v.verify(request(ctx))
		done <- err
	}()
	<-jwks.arrived // the fetch is under way
	cancel()       // the caller hangs up
	if err := <-done; err == nil {
		t.Fatal("the cancelled call verified")
	}
	jwks.release <- struct{}{} // the EHR's key endpoint answers
	if _, err := v.verify(request(t.Context())); err != nil {
		t.Fatalf("the next valid call failed after a caller hung up: %v", err)
	}
	if n := jwks.hits.Load(); n != 1 {
		t.Errorf("%d fetches, want the one (the cancelled caller's fetch went on)", n)
	}
}

// The same, with a caller already gone when it arrives: the fetch it starts is not
// cancelled with it.
func TestCDSAuthJWKSCancelledCallerStillFetches(t *testing.T) {
	key := newCDSTestKeyEC(t, "k1")
	jwks := newCDSJWKSServer(t, key)
	v := newCDSVerifier(CDSConfig{Clients: []CDSClient{{Issuer: cdsTestIssuer, JWKSURL: jwks.srv.URL}}}, cdsTestAudience, fixedClock(testNow), slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	req := httptest.NewRequestWithContext(ctx, http.MethodPost, cdsTestPath, nil)
	req.Header.Set("Authorization", "Bearer "+key.token(t, nil))
	_, _ = v.verify(req) // it may or may not see the keys; what matters is the next call
	req = httptest.NewRequest(http.MethodPost, cdsTestPath, nil)
	req.Header.Set("Authorization", "Bearer "+key.token(t, nil))
	if _, err := v.verify(req); err != nil {
		t.Fatalf("the next valid call failed after a cancelled one: %v", err)
	}
	if n := jwks.hits.Load(); n != 1 {
		t.Errorf("%d fetches, want 1", n)
	}
}

// No lock is held during a fetch: while a refresh for a new kid waits on the EHR's key
// endpoint, tokens signed by a key already held verify at once.
func TestCDSAuthJWKSFetchDoesNotBlockCachedKeys(t *testing.T) {
	old := newCDSTestKeyEC(t, "old")
	rotated := newCDSTestKeyEC(t, "new")
	jwks := newCDSGatedJWKS(t, old)
	v := newCDSVerifier(CDSConfig{Clients: []CDSClient{{Issuer: cdsTestIssuer, JWKSURL: jwks.srv.URL}}}, cdsTestAudience, fixedClock(testNow), slog.New(slog.DiscardHandler))
	clock := testNow
	var mu sync.Mutex
	v.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	verify := func(k *cdsTestKey) error {
		mu.Lock()
		now := clock
		mu.Unlock()
		req := httptest.NewRequest(http.MethodPost, cdsTestPath, nil)
		req.Header.Set("Authorization", "Bearer "+k.token(t, func(c jwt.MapClaims, _ map[string]any) {
			c["iat"], c["exp"] = now.Unix(), now.Add(5*time.Minute).Unix()
		}))
		_, err := v.verify(req)
		return err
	}
	// The first fetch, let through at once.
	first := make(chan error, 1)
	go func() { first <- verify(old) }()
	<-jwks.arrived
	jwks.release <- struct{}{}
	if err := <-first; err != nil {
		t.Fatal(err)
	}

	// A refresh for a new kid, held at the endpoint.
	newSet := cdsTestJWKS(old, rotated)
	jwks.keys.Store(&newSet)
	mu.Lock()
	clock = clock.Add(cdsJWKSMinRefetch)
	mu.Unlock()
	refresh := make(chan error, 1)
	go func() { refresh <- verify(rotated) }()
	<-jwks.arrived

	cached := make(chan error, 1)
	go func() { cached <- verify(old) }()
	blocked := false
	select {
	case err := <-cached:
		if err != nil {
			t.Errorf("a cached key during a refresh: %v", err)
		}
	case <-time.After(10 * time.Second): // a guard against a hang, not a timing
		blocked = true
		t.Error("a token with a cached key waited for another caller's key fetch")
	}
	jwks.release <- struct{}{}
	if err := <-refresh; err != nil {
		t.Errorf("the rotated key after the refresh: %v", err)
	}
	if blocked {
		<-cached
	}
	if n := jwks.hits.Load(); n != 2 {
		t.Errorf("%d fetches, want 2 (first use, then the new kid)", n)
	}
}
