package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"
)

// maxBearerLen bounds the token a request may present: parsing and hashing a huge header
// is work an unauthenticated caller should not be able to ask for.
const maxBearerLen = 16 << 10

// bearerToken is the token of a request's one "Authorization: Bearer" header. Its errors
// say why there is none, never what was sent.
func bearerToken(r *http.Request) (string, error) {
	values := r.Header.Values("Authorization")
	switch {
	case len(values) == 0:
		return "", errors.New("no Authorization header")
	case len(values) > 1:
		return "", fmt.Errorf("%d Authorization headers", len(values))
	}
	scheme, token, ok := strings.Cut(values[0], " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", errors.New("the Authorization scheme is not Bearer")
	}
	token = strings.TrimSpace(token)
	switch {
	case token == "":
		return "", errors.New("empty bearer token")
	case len(token) > maxBearerLen:
		return "", fmt.Errorf("bearer token longer than %d bytes", maxBearerLen)
	}
	return token, nil
}

// StaticTokens authenticates callers by configured bearer tokens, each with a name.
type StaticTokens struct {
	tokens []staticToken
}

type staticToken struct {
	name   string
	digest [sha256.Size]byte
}

// minStaticToken is the shortest token accepted: a shorter one can be guessed.
const minStaticToken = 16

// NewStaticTokens accepts the tokens of tokens (name -> token). A caller is known by the
// token's name, which is what audit records show; the token itself is never kept.
func NewStaticTokens(tokens map[string]string) (*StaticTokens, error) {
	if len(tokens) == 0 {
		return nil, errors.New("api: static tokens: none configured")
	}
	names := make([]string, 0, len(tokens))
	for name := range tokens {
		names = append(names, name)
	}
	slices.Sort(names) // errors name the same token whatever the map order
	st := &StaticTokens{}
	seen := map[[sha256.Size]byte]string{}
	for _, name := range names {
		token := tokens[name]
		switch {
		case strings.TrimSpace(name) == "":
			return nil, errors.New("api: static tokens: a token has an empty name")
		case len(token) < minStaticToken:
			return nil, fmt.Errorf("api: static tokens: the token of %q is shorter than %d characters", name, minStaticToken)
		case strings.ContainsAny(token, " \t\r\n"):
			return nil, fmt.Errorf("api: static tokens: the token of %q contains white space", name)
		}
		d := sha256.Sum256([]byte(token))
		if other, dup := seen[d]; dup {
			return nil, fmt.Errorf("api: static tokens: %q and %q have the same token", other, name)
		}
		seen[d] = name
		st.tokens = append(st.tokens, staticToken{name: name, digest: d})
	}
	return st, nil
}

// Authenticate finds the caller whose token the request bears. Digests are compared, in
// constant time and against every token, so that neither a token's length nor which
// token nearly matched shows in the response time.
func (st *StaticTokens) Authenticate(r *http.Request) (Caller, error) {
	token, err := bearerToken(r)
	if err != nil {
		return Caller{}, err
	}
	d := sha256.Sum256([]byte(token))
	found := -1
	for i := range st.tokens {
		if subtle.ConstantTimeCompare(d[:], st.tokens[i].digest[:]) == 1 {
			found = i
		}
	}
	if found < 0 {
		return Caller{}, errors.New("the bearer token is not a configured token")
	}
	return Caller{ID: st.tokens[found].name}, nil
}

// JWTAuthConfig configures JWT bearer authentication.
type JWTAuthConfig struct {
	Issuer   string // the required iss
	Audience string // the required aud: this service's identifier at the issuer
	// Exactly one of JWKSURL (fetched, cached and refreshed) and JWKS (a JWK Set
	// document) gives the issuer's public keys. JWKSURL must be https, or http to a
	// loopback address.
	JWKSURL string
	JWKS    json.RawMessage
	// Algorithms accepted; nil: RS256, RS384, PS256, PS384, ES256, ES384. Only
	// asymmetric algorithms are allowed: an HMAC key would have to be shared with every
	// client, and "none" is no signature.
	Algorithms []string
	// HTTPClient fetches JWKSURL; nil: a client with a 10 s timeout.
	HTTPClient *http.Client
	// Logger gets failures to refresh the JWKS; nil: discarded.
	Logger *slog.Logger
	// Now is the clock exp, nbf and iat are checked against; nil: time.Now. Tests fix it.
	Now func() time.Time
	// MaxLifetime is the longest a token may be valid: exp - iat, or exp - now for a
	// token without iat. A longer-lived token is refused (a leaked one would open the
	// API for that long). 0: DefaultJWTMaxLifetime.
	MaxLifetime time.Duration
}

// DefaultJWTMaxLifetime is JWTAuthConfig.MaxLifetime when none is given.
const DefaultJWTMaxLifetime = time.Hour

var (
	defaultJWTAlgorithms = []string{"RS256", "RS384", "PS256", "PS384", "ES256", "ES384"}
	allowedJWTAlgorithms = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)

const (
	// jwtLeeway absorbs clock skew between the issuer and this service.
	jwtLeeway = 30 * time.Second
	// jwksRefresh is how often the JWKS is fetched again; an unknown key id triggers a
	// fetch at most once per jwksUnknownKID.
	jwksRefresh    = time.Hour
	jwksUnknownKID = time.Minute
	jwksTimeout    = 10 * time.Second
	// jwksUnknownKIDWait bounds how long a request with an unknown key id may wait for
	// the JWKS fetch it triggers.
	jwksUnknownKIDWait = 5 * time.Second
)

// JWTAuth authenticates callers by JWTs signed with a key of the issuer's JWKS. Close
// stops its JWKS refresh.
type JWTAuth struct {
	kf          keyfunc.Keyfunc
	parser      *jwt.Parser
	cancel      context.CancelFunc
	now         func() time.Time
	maxLifetime time.Duration
}

// NewJWTAuth checks cfg and, given a JWKSURL, fetches the JWKS once (failing when it
// cannot, so that a wrong URL shows at startup rather than as refused callers).
func NewJWTAuth(cfg JWTAuthConfig) (*JWTAuth, error) {
	var problems []error
	if cfg.Issuer == "" {
		problems = append(problems, errors.New("api: JWTAuthConfig.Issuer is required"))
	}
	if cfg.Audience == "" {
		problems = append(problems, errors.New("api: JWTAuthConfig.Audience is required"))
	}
	switch {
	case cfg.JWKSURL == "" && len(cfg.JWKS) == 0:
		problems = append(problems, errors.New("api: JWTAuthConfig: one of JWKSURL and JWKS is required"))
	case cfg.JWKSURL != "" && len(cfg.JWKS) > 0:
		problems = append(problems, errors.New("api: JWTAuthConfig: JWKSURL and JWKS are both set; give one"))
	case cfg.JWKSURL != "":
		if err := checkJWKSURL(cfg.JWKSURL); err != nil {
			problems = append(problems, err)
		}
	}
	algs := cfg.Algorithms
	if len(algs) == 0 {
		algs = defaultJWTAlgorithms
	}
	for _, a := range algs {
		if !slices.Contains(allowedJWTAlgorithms, a) {
			problems = append(problems, fmt.Errorf("api: JWTAuthConfig.Algorithms: %q is not allowed (allowed: %s)", a, strings.Join(allowedJWTAlgorithms, ", ")))
		}
	}
	if cfg.MaxLifetime < 0 {
		problems = append(problems, fmt.Errorf("api: JWTAuthConfig.MaxLifetime %s is negative", cfg.MaxLifetime))
	}
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}
	maxLifetime := cfg.MaxLifetime
	if maxLifetime == 0 {
		maxLifetime = DefaultJWTMaxLifetime
	}

	ctx, cancel := context.WithCancel(context.Background())
	var kf keyfunc.Keyfunc
	var err error
	if cfg.JWKSURL != "" {
		kf, err = fetchJWKS(ctx, cfg)
	} else {
		kf, err = keyfunc.NewJWKSetJSON(cfg.JWKS)
		if err != nil {
			err = fmt.Errorf("api: JWTAuthConfig.JWKS: %w", err)
		}
	}
	if err != nil {
		cancel() // ends the refresh goroutine a failed first fetch leaves behind
		return nil, err
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	parser := jwt.NewParser(
		jwt.WithValidMethods(slices.Clone(algs)),
		jwt.WithIssuer(cfg.Issuer),
		jwt.WithAudience(cfg.Audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(jwtLeeway),
		jwt.WithTimeFunc(now),
	)
	return &JWTAuth{kf: kf, parser: parser, cancel: cancel, now: now, maxLifetime: maxLifetime}, nil
}

// checkJWKSURL refuses a JWKS URL an attacker on the network could answer.
func checkJWKSURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("api: JWTAuthConfig.JWKSURL %q is not an absolute URL", raw)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		host := u.Hostname()
		if ip := net.ParseIP(host); host == "localhost" || ip != nil && ip.IsLoopback() {
			return nil
		}
		return fmt.Errorf("api: JWTAuthConfig.JWKSURL %q must use https (http only to a loopback address)", raw)
	}
	return fmt.Errorf("api: JWTAuthConfig.JWKSURL %q must use https", raw)
}

func fetchJWKS(ctx context.Context, cfg JWTAuthConfig) (keyfunc.Keyfunc, error) {
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: jwksTimeout}
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	failFirst := false
	kf, err := keyfunc.NewDefaultOverrideCtx(ctx, []string{cfg.JWKSURL}, keyfunc.Override{
		Client:                    client,
		HTTPTimeout:               jwksTimeout,
		NoErrorReturnFirstHTTPReq: &failFirst,
		RefreshInterval:           jwksRefresh,
		RefreshUnknownKID:         rate.NewLimiter(rate.Every(jwksUnknownKID), 1),
		// Bounds both the wait for the limiter and the fetch it allows: a token with a
		// made-up key id fails at once unless a fetch is due within this time.
		RateLimitWaitMax: jwksUnknownKIDWait,
		RefreshErrorHandlerFunc: func(u string) func(context.Context, error) {
			return func(_ context.Context, err error) {
				logger.Warn("JWKS refresh failed", "url", u, "error", err.Error())
			}
		},
	})
	if err != nil {
		return nil, fmt.Errorf("api: JWTAuthConfig.JWKSURL: %w", err)
	}
	return kf, nil
}

// Close stops refreshing the JWKS.
func (a *JWTAuth) Close() { a.cancel() }

// Authenticate verifies the request's bearer JWT: signature by a JWKS key with an
// accepted algorithm, iss, aud, exp (required), nbf and iat (JSON numbers, not strings),
// and a lifetime within MaxLifetime. The caller is "iss sub".
func (a *JWTAuth) Authenticate(r *http.Request) (Caller, error) {
	token, err := bearerToken(r)
	if err != nil {
		return Caller{}, err
	}
	var claims strictClaims
	if _, err := a.parser.ParseWithClaims(token, &claims, a.kf.KeyfuncCtx(r.Context())); err != nil {
		return Caller{}, fmt.Errorf("JWT refused: %w", err)
	}
	if claims.Subject == "" {
		return Caller{}, errors.New("JWT refused: no sub claim")
	}
	if err := checkLifetime(claims.RegisteredClaims, a.now(), a.maxLifetime); err != nil {
		return Caller{}, fmt.Errorf("JWT refused: %w", err)
	}
	return Caller{ID: claims.Issuer + " " + claims.Subject}, nil
}

// checkLifetime refuses a token valid for longer than max: exp - iat, or, without iat,
// exp - now (the parser has already required exp).
func checkLifetime(c jwt.RegisteredClaims, now time.Time, max time.Duration) error {
	if c.ExpiresAt == nil {
		return errors.New("exp is missing")
	}
	if c.IssuedAt != nil {
		if life := c.ExpiresAt.Sub(c.IssuedAt.Time); life > max {
			return fmt.Errorf("the token's lifetime (exp - iat) %s exceeds the maximum %s", life, max)
		}
		return nil
	}
	if left := c.ExpiresAt.Sub(now); left > max {
		return fmt.Errorf("the token has no iat and expires in %s, more than the maximum lifetime %s", left.Round(time.Second), max)
	}
	return nil
}

// strictClaims are the registered claims, with exp, iat and nbf required to be JSON
// numbers (RFC 7519 NumericDate). jwt.NumericDate also takes a numeric string such as
// "1900000000", which no conforming issuer sends.
type strictClaims struct {
	jwt.RegisteredClaims
}

func (c *strictClaims) UnmarshalJSON(data []byte) error {
	var members map[string]json.RawMessage
	if err := json.Unmarshal(data, &members); err != nil {
		return err
	}
	for _, name := range []string{"exp", "iat", "nbf"} {
		raw, ok := members[name]
		if !ok {
			continue
		}
		raw = bytes.TrimSpace(raw)
		if len(raw) == 0 || !(raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9') {
			return fmt.Errorf("the %s claim is not a JSON number (a NumericDate: seconds since the epoch)", name)
		}
	}
	return json.Unmarshal(data, &c.RegisteredClaims)
}
