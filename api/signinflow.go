package api

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

// A sign-in in progress is kept in the browser, not on a replica: a cookie sealed with
// AES-256-GCM under a key derived from the report-link key (which every replica shares),
// holding the state, the nonce, the PKCE verifier and where to go next. The callback may
// then reach any replica. The cookie is scoped to the callback's path and lives
// flowTTL: a person who takes longer starts again.

const (
	flowCookie = "trialscreen_signin"
	flowPath   = "/auth/callback"
	flowTTL    = 10 * time.Minute
	flowLabel  = "trialscreen sign-in flow v1 (state, nonce, pkce verifier, next)"
)

// signInFlow is what the flow cookie carries.
type signInFlow struct {
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	Next     string `json:"next"`
	Expires  int64  `json:"exp"` // unix seconds
}

// randomToken is 32 random bytes, base64url: states, nonces, verifiers, session ids.
func randomToken() string { return newSessionID() }

// setFlowCookie seals f into the browser's flow cookie.
func (s *Server) setFlowCookie(c echo.Context, f signInFlow) {
	plain, _ := json.Marshal(f) // strings and an int: cannot fail
	aead := s.sealer(flowLabel)
	tok := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
	_, _ = rand.Read(tok)
	tok = aead.Seal(tok, tok, plain, []byte(flowCookie))
	c.SetCookie(&http.Cookie{
		Name: flowCookie, Value: base64.RawURLEncoding.EncodeToString(tok), Path: flowPath,
		MaxAge: int(flowTTL.Seconds()), HttpOnly: true, Secure: s.secureCookies(), SameSite: http.SameSiteLaxMode,
	})
}

func (s *Server) clearFlowCookie(c echo.Context) {
	c.SetCookie(&http.Cookie{Name: flowCookie, Value: "", Path: flowPath, MaxAge: -1,
		HttpOnly: true, Secure: s.secureCookies(), SameSite: http.SameSiteLaxMode})
}

// errNoFlow answers a callback without a live sign-in of this browser: no flow cookie,
// one that was altered or forged, or one past flowTTL.
var errNoFlow = errors.New("this browser has no sign-in in progress (it expired after 10 minutes, or cookies are blocked); start again")

// readFlowCookie opens the request's flow cookie.
func (s *Server) readFlowCookie(r *http.Request) (signInFlow, error) {
	ck, err := r.Cookie(flowCookie)
	if err != nil {
		return signInFlow{}, errNoFlow
	}
	tok, err := base64.RawURLEncoding.DecodeString(ck.Value)
	aead := s.sealer(flowLabel)
	if err != nil || len(tok) < aead.NonceSize() {
		return signInFlow{}, errNoFlow
	}
	plain, err := aead.Open(nil, tok[:aead.NonceSize()], tok[aead.NonceSize():], []byte(flowCookie))
	if err != nil {
		return signInFlow{}, errNoFlow
	}
	var f signInFlow
	if err := json.Unmarshal(plain, &f); err != nil || s.cfg.Now().Unix() >= f.Expires {
		return signInFlow{}, errNoFlow
	}
	return f, nil
}
