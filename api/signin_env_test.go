package api

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/coreos/go-oidc/v3/oidc/oidctest"
)

// fakeIdP is an OpenID provider for the Go tests: go-oidc's test server for discovery
// and keys, and a token endpoint that, like a real provider, gives the ID token of a
// code only for the PKCE verifier whose S256 challenge the code was issued with. The
// browser-driven test (signin_browser_test.go) uses a real provider instead.
type fakeIdP struct {
	srv      *httptest.Server
	key      *rsa.PrivateKey
	clientID string

	mu    sync.Mutex
	codes map[string]issuedCode
}

type issuedCode struct {
	challenge string
	claims    map[string]any
}

// fakeAccessToken is what the fake provider's token endpoint gives as access token:
// the log test looks for it.
const fakeAccessToken = "fake-access-token-must-never-be-logged"

func newFakeIdP(t *testing.T) *fakeIdP {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	idp := &fakeIdP{key: key, clientID: "trialscreen-test", codes: map[string]issuedCode{}}
	disc := &oidctest.Server{PublicKeys: []oidctest.PublicKey{{PublicKey: key.Public(), KeyID: "k1", Algorithm: oidc.RS256}}}
	mux := http.NewServeMux()
	mux.Handle("/.well-known/openid-configuration", disc)
	mux.Handle("/keys", disc)
	mux.HandleFunc("/token", idp.token)
	idp.srv = httptest.NewServer(mux) // 127.0.0.1
	t.Cleanup(idp.srv.Close)
	disc.SetIssuer(idp.srv.URL)
	return idp
}

// issue makes a code for the authorization request at authURL (the service's redirect
// to the provider), as if the user signed in with claims: iss, aud, exp, iat and the
// request's nonce are added.
func (idp *fakeIdP) issue(t *testing.T, authURL string, now time.Time, claims map[string]any) (code, state string) {
	t.Helper()
	u, err := url.Parse(authURL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" {
		t.Fatalf("the authorization request has no S256 PKCE challenge: %s", authURL)
	}
	all := map[string]any{"iss": idp.srv.URL, "aud": idp.clientID, "nonce": q.Get("nonce"),
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	for k, v := range claims {
		all[k] = v
	}
	code = randomToken()
	idp.mu.Lock()
	idp.codes[code] = issuedCode{challenge: q.Get("code_challenge"), claims: all}
	idp.mu.Unlock()
	return code, q.Get("state")
}

func (idp *fakeIdP) token(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	idp.mu.Lock()
	ic, ok := idp.codes[r.PostForm.Get("code")]
	delete(idp.codes, r.PostForm.Get("code"))
	idp.mu.Unlock()
	sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	w.Header().Set("Content-Type", "application/json")
	if !ok || base64.RawURLEncoding.EncodeToString(sum[:]) != ic.challenge {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"error":"invalid_grant","error_description":"PKCE verification failed"}`))
		return
	}
	claims, _ := json.Marshal(ic.claims)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"access_token": fakeAccessToken, "token_type": "Bearer", "expires_in": 300,
		"id_token": oidctest.SignIDToken(idp.key, "k1", oidc.RS256, string(claims)),
	})
}

// signInEnv is a service with sign-in (and a static bearer token for portals), not in
// demo mode, its records from the demo source, its sessions in a SQLite store.
type signInEnv struct {
	*restEnv
	idp *fakeIdP
}

const (
	testPublicURL   = "https://trialscreen.test"
	testPortalToken = "portal-token-000000001"
)

func newSignInEnv(t *testing.T) *signInEnv {
	t.Helper()
	return newReplica(t, newFakeIdP(t), openStore(t, ""), nil)
}

// newReplica is a sign-in service on the store st with the report-link key (nil: a
// random one per process), signing in with idp; mods change its Config further.
func newReplica(t *testing.T, idp *fakeIdP, st Sessions, key []byte, mods ...func(*Config)) *signInEnv {
	t.Helper()
	si, err := NewSignIn(t.Context(), SignInConfig{
		Issuer: idp.srv.URL, ClientID: idp.clientID, ClientSecret: "client-secret-never-logged",
		CoordinatorRoles: []string{"trial-coordinator"}, ViewerRoles: []string{"trial-viewer"},
	})
	if err != nil {
		t.Fatalf("NewSignIn: %v", err)
	}
	tokens, err := NewStaticTokens(map[string]string{"portal": testPortalToken})
	if err != nil {
		t.Fatal(err)
	}
	env := newRESTEnv(t, func(c *Config) {
		c.Demo, c.PublicURL, c.SignIn, c.Sessions, c.Auth, c.ReportLinkKey = false, testPublicURL, si, st, tokens, key
		for _, mod := range mods {
			mod(c)
		}
	})
	return &signInEnv{restEnv: env, idp: idp}
}

// coordinator and viewer are the claims of the two test users.
var (
	coordinatorClaims = map[string]any{"sub": "staff-0001", "name": "Casey Coordinator", "roles": []any{"trial-coordinator", "staff"}}
	viewerClaims      = map[string]any{"sub": "staff-0002", "name": "Val Viewer", "roles": "trial-viewer"}
)

// cookieHeader renders cookies as a request's Cookie header.
func cookieHeader(cks ...*http.Cookie) string {
	var parts []string
	for _, ck := range cks {
		if ck != nil {
			parts = append(parts, ck.Name+"="+ck.Value)
		}
	}
	return strings.Join(parts, "; ")
}

// cookieNamed is the cookie a response sets by that name, nil when none.
func cookieNamed(rec *httptest.ResponseRecorder, name string) *http.Cookie {
	for _, ck := range rec.Result().Cookies() {
		if ck.Name == name {
			return ck
		}
	}
	return nil
}

// startSignIn asks the service to start a sign-in (GET /signin?next=next) and returns
// the flow cookie and the authorization request's URL.
func (e *signInEnv) startSignIn(t *testing.T, next string) (*http.Cookie, string) {
	t.Helper()
	rec := e.do(t, http.MethodGet, "/signin?next="+url.QueryEscape(next), nil, "Accept", "text/html")
	if rec.Code != http.StatusFound {
		t.Fatalf("GET /signin: status %d %s", rec.Code, rec.Body)
	}
	flow := cookieNamed(rec, flowCookie)
	if flow == nil {
		t.Fatal("GET /signin set no flow cookie")
	}
	return flow, rec.Header().Get("Location")
}

// callback sends the browser back to the service as the provider would.
func (e *signInEnv) callback(t *testing.T, flow *http.Cookie, query string) *httptest.ResponseRecorder {
	t.Helper()
	return e.do(t, http.MethodGet, "/auth/callback?"+query, nil, "Accept", "text/html", "Cookie", cookieHeader(flow))
}

// signIn signs a user with claims in and returns the session cookie.
func (e *signInEnv) signIn(t *testing.T, claims map[string]any) *http.Cookie {
	t.Helper()
	flow, authURL := e.startSignIn(t, "/v1/patients/demo-candidate/screening")
	code, state := e.idp.issue(t, authURL, e.clock.Now(), claims)
	rec := e.callback(t, flow, url.Values{"code": {code}, "state": {state}}.Encode())
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("callback: status %d %s", rec.Code, rec.Body)
	}
	ck := cookieNamed(rec, e.s.sessionCookieName())
	if ck == nil || ck.Value == "" {
		t.Fatal("callback set no session cookie")
	}
	return ck
}
