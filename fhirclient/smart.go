package fhirclient

import (
	"bytes"
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
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// SMARTConfig configures a SMARTBackend: the SMART App Launch v2 "backend services"
// profile, an OAuth 2.0 client_credentials grant authenticated with a JWT signed by the
// client's private key (RFC 7523 private_key_jwt).
type SMARTConfig struct {
	TokenURL      string       // the token endpoint; absolute https, or http only for localhost/127.0.0.1/::1
	ClientID      string       // the client_id registered with the server; iss and sub of the assertion
	Scopes        []string     // e.g. "system/Patient.rs", "system/Observation.rs"; at least one
	PrivateKeyPEM []byte       // RSA (2048 bits or more) or EC P-384; PKCS#8, PKCS#1 or SEC1; unencrypted
	KeyID         string       // kid of the key in the JWK Set registered with the server
	Alg           string       // "RS384" (RSA key) or "ES384" (EC P-384 key)
	HTTPClient    *http.Client // nil: a client of its own (see SMARTBackend.CloseIdleConnections)

	RenewBefore time.Duration    // a cached token is renewed this long before it expires; default 60s
	Now         func() time.Time // nil: time.Now; for tests
}

// String keeps the private key out of logs that print the config, and of the TokenURL
// shows the scheme and host only (its path or query can carry a tenant or a secret).
func (c SMARTConfig) String() string {
	at := `""`
	if u, err := url.Parse(c.TokenURL); err != nil {
		at = "(not a URL)"
	} else if u.Scheme != "" || u.Host != "" {
		at = u.Scheme + "://" + u.Host
	} else if c.TokenURL != "" {
		at = "(not absolute)"
	}
	return fmt.Sprintf("SMARTConfig{TokenURL: %s, ClientID: %q, Scopes: %q, KeyID: %q, Alg: %q, PrivateKeyPEM: redacted}",
		at, c.ClientID, c.Scopes, c.KeyID, c.Alg)
}

// GoString does the same for %#v.
func (c SMARTConfig) GoString() string { return "fhirclient." + c.String() }

const (
	defaultRenewBefore   = 60 * time.Second
	smartAssertionTTL    = 5 * time.Minute // the most SMART allows for exp
	smartMaxBody         = 64 << 10
	smartRequestTimeout  = 30 * time.Second
	smartMaxErrorText    = 300
	clientAssertionType  = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
	smartErrPrefix       = "fhirclient: SMART backend: "
	smartConfigErrPrefix = "fhirclient: SMARTConfig."
)

// SMARTBackend is a TokenSource that gets access tokens from a SMART backend services
// token endpoint and caches them until RenewBefore their expiry. It is safe for
// concurrent use; concurrent callers that find no valid token share one request.
type SMARTBackend struct {
	tokenURL    string
	host        string
	clientID    string
	scope       string
	kid         string
	method      jwt.SigningMethod
	key         crypto.Signer
	hc          *http.Client
	renewBefore time.Duration
	now         func() time.Time

	mu     sync.Mutex
	tok    string
	exp    time.Time // zero with tok == "": no token cached
	scopes string    // granted with the last token
	flight *smartFlight
	// prev is the token before tok (renewed or invalidated). It is kept only so that a
	// token endpoint echoing it in an error does not put it in our error text.
	prev string
}

// smartFlight is a token request in progress that later callers wait on.
type smartFlight struct {
	done chan struct{}
	tok  string
	err  error
	// abandoned: the request failed because its caller's context ended; the waiters
	// whose own context is still live try again rather than inherit that.
	abandoned bool
}

// NewSMARTBackend checks cfg and returns a SMARTBackend. Errors name the SMARTConfig
// field at fault and never quote the key.
func NewSMARTBackend(cfg SMARTConfig) (*SMARTBackend, error) {
	u, err := parseTokenURL(cfg.TokenURL)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(cfg.ClientID) == "" {
		return nil, errors.New(smartConfigErrPrefix + "ClientID is required")
	}
	if len(cfg.Scopes) == 0 {
		return nil, errors.New(smartConfigErrPrefix + "Scopes is required (e.g. system/Patient.rs)")
	}
	for _, s := range cfg.Scopes {
		if s == "" || strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r == '"' || r == '\\' || r > '~' }) {
			return nil, fmt.Errorf(smartConfigErrPrefix+"Scopes: %q is not a scope token", s)
		}
	}
	if cfg.KeyID == "" {
		return nil, errors.New(smartConfigErrPrefix + "KeyID is required (the kid of the registered public key)")
	}
	key, err := parseSMARTKey(cfg.PrivateKeyPEM)
	if err != nil {
		return nil, err
	}
	var method jwt.SigningMethod
	switch cfg.Alg {
	case "RS384":
		k, ok := key.(*rsa.PrivateKey)
		if !ok {
			return nil, errors.New(smartConfigErrPrefix + "Alg RS384 needs an RSA key; PrivateKeyPEM holds an EC key (use ES384)")
		}
		if k.N.BitLen() < 2048 {
			return nil, fmt.Errorf(smartConfigErrPrefix+"PrivateKeyPEM: the RSA key has %d bits; want 2048 or more", k.N.BitLen())
		}
		method = jwt.SigningMethodRS384
	case "ES384":
		k, ok := key.(*ecdsa.PrivateKey)
		if !ok {
			return nil, errors.New(smartConfigErrPrefix + "Alg ES384 needs an EC P-384 key; PrivateKeyPEM holds an RSA key (use RS384)")
		}
		if k.Curve != elliptic.P384() {
			return nil, fmt.Errorf(smartConfigErrPrefix+"Alg ES384 needs an EC P-384 key; PrivateKeyPEM holds a %s key", k.Curve.Params().Name)
		}
		method = jwt.SigningMethodES384
	case "":
		return nil, errors.New(smartConfigErrPrefix + `Alg is required: "RS384" or "ES384"`)
	default:
		return nil, fmt.Errorf(smartConfigErrPrefix+`Alg %q is not supported: want "RS384" or "ES384"`, cfg.Alg)
	}
	if cfg.RenewBefore < 0 {
		return nil, fmt.Errorf(smartConfigErrPrefix+"RenewBefore is %s; want 0 (the default, %s) or more", cfg.RenewBefore, defaultRenewBefore)
	}
	if cfg.RenewBefore == 0 {
		cfg.RenewBefore = defaultRenewBefore
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	var hc *http.Client
	if cfg.HTTPClient != nil {
		cp := *cfg.HTTPClient
		hc = &cp
	} else {
		hc = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	// A redirect would carry the assertion (307/308) or turn the POST into a GET
	// (301-303); neither is a token endpoint's business, so the 3xx is an error.
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	return &SMARTBackend{
		tokenURL:    cfg.TokenURL,
		host:        u.Host,
		clientID:    cfg.ClientID,
		scope:       strings.Join(cfg.Scopes, " "),
		kid:         cfg.KeyID,
		method:      method,
		key:         key,
		hc:          hc,
		renewBefore: cfg.RenewBefore,
		now:         cfg.Now,
	}, nil
}

func parseTokenURL(raw string) (*url.URL, error) {
	if raw == "" {
		return nil, errors.New(smartConfigErrPrefix + "TokenURL is required")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New(smartConfigErrPrefix + "TokenURL is not a URL")
	}
	if u.User != nil {
		return nil, errors.New(smartConfigErrPrefix + "TokenURL must not hold credentials")
	}
	// Messages name the scheme and host only: the path or query can carry a tenant or a
	// secret.
	switch at := originNote(u); {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf(smartConfigErrPrefix+"TokenURL%s is not an absolute https URL", at)
	case u.Host == "" || u.Opaque != "":
		return nil, fmt.Errorf(smartConfigErrPrefix+"TokenURL%s has no host", at)
	case u.Fragment != "":
		return nil, fmt.Errorf(smartConfigErrPrefix+"TokenURL%s must not have a fragment", at)
	case u.Scheme == "http" && !isLoopbackHost(u.Hostname()):
		return nil, fmt.Errorf(smartConfigErrPrefix+"TokenURL%s must be https (http only for localhost or 127.0.0.1)", at)
	}
	return u, nil
}

func isLoopbackHost(h string) bool {
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && (ip.Equal(net.IPv4(127, 0, 0, 1)) || ip.Equal(net.IPv6loopback))
}

// parseSMARTKey reads the first private key block of pemBytes, skipping an
// "EC PARAMETERS" block as openssl writes one before a SEC1 key.
func parseSMARTKey(pemBytes []byte) (crypto.Signer, error) {
	const field = smartConfigErrPrefix + "PrivateKeyPEM"
	if len(bytes.TrimSpace(pemBytes)) == 0 {
		return nil, errors.New(field + " is required")
	}
	rest := pemBytes
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, errors.New(field + " holds no PEM private key block")
		}
		if _, encrypted := block.Headers["Proc-Type"]; encrypted {
			return nil, errors.New(field + " is encrypted; give an unencrypted key")
		}
		var (
			key any
			err error
		)
		switch block.Type {
		case "EC PARAMETERS":
			continue
		case "PRIVATE KEY":
			key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
		case "RSA PRIVATE KEY":
			key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
		case "EC PRIVATE KEY":
			key, err = x509.ParseECPrivateKey(block.Bytes)
		case "ENCRYPTED PRIVATE KEY":
			return nil, errors.New(field + " is encrypted; give an unencrypted key")
		default:
			return nil, fmt.Errorf("%s: a %q PEM block is not a private key", field, block.Type)
		}
		if err != nil {
			// The parser's message does not quote the key material.
			return nil, fmt.Errorf("%s: the %s block does not parse: %v", field, block.Type, err)
		}
		switch k := key.(type) {
		case *rsa.PrivateKey:
			return k, nil
		case *ecdsa.PrivateKey:
			return k, nil
		default:
			return nil, fmt.Errorf("%s: a %T is neither an RSA nor an EC key", field, key)
		}
	}
}

// String describes the backend without its key or token.
func (s *SMARTBackend) String() string {
	return fmt.Sprintf("SMARTBackend(token endpoint %s, client_id %q, kid %q, %s, key and token redacted)",
		s.host, s.clientID, s.kid, s.method.Alg())
}

// GoString does the same for %#v.
func (s *SMARTBackend) GoString() string { return s.String() }

// GrantedScope gives the scope the server granted with the last token, which may be
// less than SMARTConfig.Scopes asked for; "" before the first token.
func (s *SMARTBackend) GrantedScope() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.scopes
}

// CloseIdleConnections closes the idle connections of the backend's HTTP client.
func (s *SMARTBackend) CloseIdleConnections() { s.hc.CloseIdleConnections() }

// Invalidate drops the cached token if it is still tok: the FHIR server refused it with
// 401 (a token can be revoked before it expires), so the next Token call requests a new
// one. A token already replaced is left alone. Client calls it; see TokenInvalidator.
func (s *SMARTBackend) Invalidate(tok string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if tok != "" && tok == s.tok {
		s.prev, s.tok, s.exp = s.tok, "", time.Time{}
	}
}

var _ TokenInvalidator = (*SMARTBackend)(nil)

// Token gives a cached access token while it is valid for more than RenewBefore, and
// otherwise requests a new one from the token endpoint. Concurrent callers share one
// request; each waits no longer than its own context allows.
func (s *SMARTBackend) Token(ctx context.Context) (string, error) {
	for {
		s.mu.Lock()
		if s.tok != "" && s.now().Add(s.renewBefore).Before(s.exp) {
			tok := s.tok
			s.mu.Unlock()
			return tok, nil
		}
		if f := s.flight; f != nil {
			s.mu.Unlock()
			select {
			case <-f.done:
				if f.abandoned && ctx.Err() == nil {
					continue
				}
				return f.tok, f.err
			case <-ctx.Done():
				return "", fmt.Errorf(smartErrPrefix+"waiting for a token from %s: %w", s.host, ctx.Err())
			}
		}
		f := &smartFlight{done: make(chan struct{})}
		s.flight = f
		s.mu.Unlock()

		tok, exp, granted, err := s.fetch(ctx)

		s.mu.Lock()
		s.flight = nil
		if err == nil {
			if s.tok != "" && s.tok != tok {
				s.prev = s.tok
			}
			s.tok, s.exp, s.scopes = tok, exp, granted
		}
		s.mu.Unlock()
		f.tok, f.err = tok, err
		f.abandoned = err != nil && ctx.Err() != nil
		close(f.done)
		return tok, err
	}
}

// TokenError is a failed token request. Its message names the token endpoint's host,
// the HTTP status and the OAuth error fields; it never holds the assertion or a token.
type TokenError struct {
	Host        string // the token endpoint's host
	Status      int    // HTTP status; 0 when there was no response
	Code        string // the OAuth "error" field, e.g. invalid_client
	Description string // the OAuth "error_description" field, cleaned and shortened
	Err         error  // the cause or what exactly is wrong; may be nil
}

func (e *TokenError) Error() string {
	var b strings.Builder
	b.WriteString(smartErrPrefix + "token request to ")
	b.WriteString(e.Host)
	b.WriteString(" failed")
	if e.Status != 0 {
		fmt.Fprintf(&b, " (HTTP %d)", e.Status)
	}
	if e.Code != "" {
		b.WriteString(": ")
		b.WriteString(e.Code)
		if e.Description != "" {
			b.WriteString(": ")
			b.WriteString(e.Description)
		}
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *TokenError) Unwrap() error { return e.Err }

// Is lets errors.Is(err, KindAuth) find a failed token request, as Client does.
func (e *TokenError) Is(target error) bool { return target == KindAuth }

func (s *SMARTBackend) assertion(now time.Time) (string, error) {
	var jti [16]byte
	if _, err := rand.Read(jti[:]); err != nil {
		return "", err
	}
	t := jwt.NewWithClaims(s.method, jwt.MapClaims{
		"iss": s.clientID,
		"sub": s.clientID,
		"aud": s.tokenURL,
		"exp": now.Add(smartAssertionTTL).Unix(),
		"iat": now.Unix(),
		"jti": hex.EncodeToString(jti[:]),
	})
	t.Header["kid"] = s.kid
	return t.SignedString(s.key)
}

// fetch requests a token and gives it with its expiry and the scopes granted.
func (s *SMARTBackend) fetch(ctx context.Context) (string, time.Time, string, error) {
	fail := func(status int, err error) (string, time.Time, string, error) {
		return "", time.Time{}, "", &TokenError{Host: s.host, Status: status, Err: err}
	}
	now := s.now()
	assertion, err := s.assertion(now)
	if err != nil {
		return fail(0, fmt.Errorf("cannot sign the client assertion: %v", err))
	}
	form := url.Values{
		"grant_type":            {"client_credentials"},
		"scope":                 {s.scope},
		"client_assertion_type": {clientAssertionType},
		"client_assertion":      {assertion},
	}
	rctx, cancel := context.WithTimeout(ctx, smartRequestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, s.tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return fail(0, errors.New("cannot make a request of the TokenURL"))
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := s.hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is in the message already as the host
		}
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return fail(0, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, smartMaxBody+1))
	if err != nil {
		return fail(resp.StatusCode, fmt.Errorf("reading the response: %v", err))
	}
	// The assertion and each of its parts, and the access tokens still held (a renewal
	// runs while the old token is cached; the server knows it): a server echoing any of
	// them is not repeated.
	secrets := append([]string{assertion}, strings.Split(assertion, ".")...)
	secrets = append(secrets, s.heldTokens()...)
	if resp.StatusCode != http.StatusOK {
		te := &TokenError{Host: s.host, Status: resp.StatusCode}
		var oe struct {
			Error            any `json:"error"`
			ErrorDescription any `json:"error_description"`
		}
		if len(body) <= smartMaxBody && json.Unmarshal(body, &oe) == nil {
			if code, ok := oe.Error.(string); ok {
				te.Code = cleanOAuthText(code, secrets)
			}
			if d, ok := oe.ErrorDescription.(string); ok {
				te.Description = cleanOAuthText(d, secrets)
			}
		}
		return "", time.Time{}, "", te
	}
	if len(body) > smartMaxBody {
		return fail(resp.StatusCode, errors.New("the response is larger than 64 KiB"))
	}
	var tr struct {
		AccessToken *string         `json:"access_token"`
		TokenType   *string         `json:"token_type"`
		ExpiresIn   json.RawMessage `json:"expires_in"`
		Scope       *string         `json:"scope"`
	}
	if err := json.Unmarshal(body, &tr); err != nil {
		// Not the decoder's message: it may quote the body, and so a token.
		return fail(resp.StatusCode, errors.New("the response is not a JSON token response"))
	}
	switch {
	case tr.AccessToken == nil || *tr.AccessToken == "":
		return fail(resp.StatusCode, errors.New("the response has no access_token"))
	case tr.TokenType == nil:
		return fail(resp.StatusCode, errors.New("the response has no token_type"))
	case !strings.EqualFold(*tr.TokenType, "bearer"):
		return fail(resp.StatusCode, fmt.Errorf("the token_type is %q, not bearer", cleanOAuthText(*tr.TokenType, append(secrets, *tr.AccessToken))))
	case strings.ContainsFunc(*tr.AccessToken, func(r rune) bool { return r < ' ' || r > '~' }):
		// It goes in an Authorization header as is.
		return fail(resp.StatusCode, errors.New("the access_token has characters a header cannot carry"))
	}
	exp := now // no usable expires_in: the token serves the callers of this request only
	if secs, ok := parseExpiresIn(tr.ExpiresIn); ok {
		exp = now.Add(time.Duration(secs) * time.Second)
	} else if len(tr.ExpiresIn) > 0 && string(tr.ExpiresIn) != "null" {
		return fail(resp.StatusCode, errors.New("the expires_in is not a number of seconds"))
	}
	granted := s.scope // RFC 6749 5.1: no scope means the scope requested
	if tr.Scope != nil {
		granted = *tr.Scope
	}
	return *tr.AccessToken, exp, granted, nil
}

// heldTokens are the cached access token and the one before it, each also in its
// URL-encoded forms (an echo of a form body may be encoded).
func (s *SMARTBackend) heldTokens() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, t := range []string{s.tok, s.prev} {
		out = appendForms(out, t)
	}
	return out
}

// parseExpiresIn reads a positive number of seconds, given as a JSON number or, as some
// servers do, a numeric string.
func parseExpiresIn(raw json.RawMessage) (int64, bool) {
	if len(raw) == 0 {
		return 0, false
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err != nil {
		var str string
		if json.Unmarshal(raw, &str) != nil {
			return 0, false
		}
		n = json.Number(str)
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil || f <= 0 || f > 1e9 {
		return 0, false
	}
	return int64(f), true
}

// cleanOAuthText makes server text fit for an error message: secrets removed, control
// characters replaced, length capped.
func cleanOAuthText(s string, secrets []string) string {
	for _, sec := range secrets {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, "[redacted]")
		}
	}
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if r := []rune(s); len(r) > smartMaxErrorText {
		s = string(r[:smartMaxErrorText]) + "…"
	}
	return s
}
