package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/sync/singleflight"
)

// CDS Hooks authenticates the EHR with a JWT it signs for every call (spec: "Trusting
// CDS Clients"): asymmetric algorithms only, the issuer on an allow-list, the audience
// the service endpoint being called, and exp, iat and jti required, a jti used once.

// cdsAlgorithms are the asymmetric JWS algorithms accepted. The spec forbids none and
// every symmetric (HMAC) algorithm, and recommends ES384 and RS384.
var cdsAlgorithms = []string{"ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}

const (
	cdsLeeway         = 30 * time.Second // clock skew between the EHR and the service
	cdsMaxLifetime    = time.Hour        // exp - now and exp - iat; a longer-lived token is refused: it would pin its jti for long
	cdsMaxJTILength   = 256
	cdsMaxJTIs        = 100_000 // per issuer, each kept until its token expires
	cdsJWKSTTL        = time.Hour
	cdsJWKSMinRefetch = 30 * time.Second // at most one fetch per issuer this often (unknown kid, errors)
	cdsJWKSFetchLimit = 10 * time.Second
	cdsMaxJWKSBytes   = 1 << 20
)

// ehrClient is one EHR allowed to call, with its keys and the jtis it has used.
type ehrClient struct {
	issuer      string
	fhirServers map[string]bool
	keys        cdsKeySet
	jtis        *cdsJTIStore
}

// allows reports whether the service may fetch from fhirServer for this EHR: exact base
// URLs, a trailing slash aside.
func (e *ehrClient) allows(fhirServer string) bool {
	return e.fhirServers[strings.TrimRight(fhirServer, "/")]
}

// cdsVerifier checks the EHRs' JWTs for one service endpoint.
type cdsVerifier struct {
	audience string // "" refuses every token: without PublicURL no audience can be checked
	clients  map[string]*ehrClient
	now      func() time.Time
	log      *slog.Logger
	// shared is the replicas' jti set (nil: each client's own, jtis); storeCall measures
	// its operations (cdsjti.go).
	shared    JTIStore
	storeCall func(ctx context.Context, op string, f func(ctx context.Context) error) error
}

// newCDSVerifier builds the allow-list. A client whose configuration is wrong is left
// out (its calls are refused) and the problem logged: New cannot fail on it without an
// error path from registerCDS, and LoadCDSConfig has already refused such a file.
func newCDSVerifier(cfg CDSConfig, audience string, now func() time.Time, log *slog.Logger) *cdsVerifier {
	v := &cdsVerifier{audience: audience, clients: map[string]*ehrClient{}, now: now, log: log}
	hc := &http.Client{Timeout: cdsJWKSFetchLimit}
	for i, c := range cfg.Clients {
		if err := (CDSConfig{Clients: []CDSClient{c}}).Validate(); err != nil {
			log.Error("cds client refused: bad configuration", "client", i, "error", err.Error())
			continue
		}
		if _, dup := v.clients[c.Issuer]; dup {
			log.Error("cds client refused: duplicate issuer", "client", i)
			continue
		}
		ec := &ehrClient{issuer: c.Issuer, fhirServers: map[string]bool{}, jtis: newCDSJTIStore(cdsMaxJTIs)}
		for _, s := range c.FHIRServers {
			ec.fhirServers[strings.TrimRight(s, "/")] = true
		}
		if c.JWKSURL != "" {
			ec.keys = &cdsRemoteKeys{url: c.JWKSURL, hc: hc, now: func() time.Time { return v.now() }}
		} else {
			ks, _ := cdsParseJWKS(c.JWKS) // checked by Validate
			ec.keys = ks
		}
		v.clients[c.Issuer] = ec
	}
	if audience == "" && len(v.clients) > 0 {
		log.Error("cds hooks: Config.PublicURL is empty, so no JWT audience can match; every hook call is refused")
	}
	return v
}

// verify authenticates a hook call. It returns the EHR, or an error saying why not (for
// the log: it never holds the token).
func (v *cdsVerifier) verify(r *http.Request) (*ehrClient, error) {
	return v.verifyFor(r, "")
}

// verifyFor authenticates a call to the service endpoint followed by path (""; or
// "/feedback"): the spec makes aud the endpoint being invoked, so a token for a hook
// call is not one for its feedback, and the other way round. Both share the EHR's keys
// and jti set.
func (v *cdsVerifier) verifyFor(r *http.Request, path string) (*ehrClient, error) {
	raw, err := cdsBearer(r)
	if err != nil {
		return nil, err
	}
	if v.audience == "" {
		return nil, errors.New("no audience configured (PublicURL)")
	}
	audience := v.audience + path
	var client *ehrClient
	var claims strictClaims // exp and iat are JSON numbers (spec: "number")
	p := jwt.NewParser(
		jwt.WithValidMethods(cdsAlgorithms),
		jwt.WithAudience(audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(cdsLeeway),
		jwt.WithTimeFunc(v.now),
	)
	_, err = p.ParseWithClaims(raw, &claims, func(t *jwt.Token) (any, error) {
		// The claims are decoded, not yet trusted: iss only chooses whose keys to try.
		// A jku header is never followed: keys come from the configured URL or set.
		client = v.clients[claims.Issuer]
		if client == nil {
			return nil, fmt.Errorf("issuer %q is not allowed", cdsClip(claims.Issuer, 200))
		}
		return client.keys.key(r.Context(), t)
	})
	if err != nil {
		return nil, err
	}
	now := v.now()
	switch {
	case claims.IssuedAt == nil:
		return nil, errors.New("iat is missing")
	case claims.ID == "":
		return nil, errors.New("jti is missing")
	case len(claims.ID) > cdsMaxJTILength:
		return nil, fmt.Errorf("jti is longer than %d bytes", cdsMaxJTILength)
	case claims.ExpiresAt.After(now.Add(cdsMaxLifetime)):
		return nil, fmt.Errorf("exp is more than %s ahead", cdsMaxLifetime)
	}
	if err := checkLifetime(claims.RegisteredClaims, now, cdsMaxLifetime); err != nil {
		return nil, err
	}
	if err := v.useJTI(r.Context(), client, claims.ID, claims.ExpiresAt.Add(cdsLeeway), now); err != nil {
		return nil, err
	}
	return client, nil
}

// cdsBearer is the token of the request's one "Authorization: Bearer" header, read as
// for REST callers (several headers or an oversized token are refused).
func cdsBearer(r *http.Request) (string, error) { return bearerToken(r) }

func cdsClip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// cdsJTIStore remembers the jtis an issuer has used until their tokens expire, so that a
// captured token cannot be replayed. It holds at most max live entries: when full, and
// nothing has expired, it refuses new tokens rather than forget (fail closed).
type cdsJTIStore struct {
	mu   sync.Mutex
	seen map[string]time.Time // jti -> until when it is remembered
	max  int
}

func newCDSJTIStore(max int) *cdsJTIStore {
	return &cdsJTIStore{seen: map[string]time.Time{}, max: max}
}

func (s *cdsJTIStore) use(jti string, until, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.seen[jti]; ok && now.Before(t) {
		return errors.New("jti was already used (replay)")
	}
	if len(s.seen) >= s.max {
		for k, t := range s.seen {
			if !now.Before(t) {
				delete(s.seen, k)
			}
		}
		if len(s.seen) >= s.max {
			return fmt.Errorf("too many live jtis for this issuer (%d); refusing until some expire", s.max)
		}
	}
	s.seen[jti] = until
	return nil
}

// cdsKeySet gives the verification key for a token.
type cdsKeySet interface {
	key(ctx context.Context, t *jwt.Token) (any, error)
}

// cdsStaticKeys is a JWK Set given in the configuration.
type cdsStaticKeys struct {
	kf   keyfunc.Keyfunc
	kids map[string]bool
}

func (k *cdsStaticKeys) key(ctx context.Context, t *jwt.Token) (any, error) {
	return k.kf.KeyfuncCtx(ctx)(t)
}

// cdsParseJWKS reads a JWK Set of public keys. Symmetric keys are refused: CDS Hooks
// forbids HMAC, and a shared secret in a key set would be a misconfiguration.
func cdsParseJWKS(raw []byte) (*cdsStaticKeys, error) {
	var set struct {
		Keys []struct {
			Kty string `json:"kty"`
			Kid string `json:"kid"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(raw, &set); err != nil {
		return nil, fmt.Errorf("not a JWK Set: %v", err)
	}
	if len(set.Keys) == 0 {
		return nil, errors.New("the JWK Set has no keys")
	}
	kids := map[string]bool{}
	for i, k := range set.Keys {
		switch k.Kty {
		case "RSA", "EC":
		case "oct":
			return nil, fmt.Errorf("keys[%d]: kty \"oct\" is a symmetric key; CDS Hooks forbids them", i)
		default:
			return nil, fmt.Errorf("keys[%d]: kty %q is not RSA or EC", i, k.Kty)
		}
		kids[k.Kid] = true
	}
	kf, err := keyfunc.NewJWKSetJSON(raw)
	if err != nil {
		return nil, fmt.Errorf("the JWK Set cannot be read: %v", err)
	}
	return &cdsStaticKeys{kf: kf, kids: kids}, nil
}

// cdsRemoteKeys is a JWK Set fetched from the configured URL on first use, kept for
// cdsJWKSTTL, and fetched again early when a token names a kid it lacks (key rotation) but
// never more often than cdsJWKSMinRefetch after the last fetch ended: an unauthenticated
// caller must not be able to make the service hammer an EHR's key endpoint. No
// goroutine of its own: fetches happen in calls.
//
// A fetch runs once for all concurrent callers (singleflight), outside the lock, and on
// a context of its own (the caller's values, not its cancellation; cdsJWKSFetchLimit
// bounds it): a caller that hangs up must not fail the fetch, since its failure would
// hold every call from that EHR off for cdsJWKSMinRefetch. A caller that goes away stops
// waiting; the fetch goes on and fills the cache for the next one.
type cdsRemoteKeys struct {
	url string
	hc  *http.Client
	now func() time.Time

	flight singleflight.Group

	mu        sync.Mutex // guards the fields below; never held during a fetch
	keys      *cdsStaticKeys
	fetchedAt time.Time // the last successful fetch
	endedAt   time.Time // the last fetch that ended, successful or not
}

func (k *cdsRemoteKeys) key(ctx context.Context, t *jwt.Token) (any, error) {
	kid, _ := t.Header["kid"].(string)
	k.mu.Lock()
	now := k.now()
	stale := k.keys == nil || now.Sub(k.fetchedAt) >= cdsJWKSTTL
	unknownKid := k.keys != nil && kid != "" && !k.keys.kids[kid]
	fetch := (stale || unknownKid) && (k.endedAt.IsZero() || now.Sub(k.endedAt) >= cdsJWKSMinRefetch)
	k.mu.Unlock()

	var fetchErr error
	if fetch {
		ch := k.flight.DoChan("jwks", func() (any, error) {
			ks, err := k.fetch(context.WithoutCancel(ctx))
			k.mu.Lock()
			defer k.mu.Unlock()
			end := k.now()
			k.endedAt = end
			if err == nil {
				k.keys, k.fetchedAt = ks, end
			}
			// A failed refresh keeps the keys we have: the EHR's endpoint may blip.
			return nil, err
		})
		select {
		case r := <-ch:
			fetchErr = r.Err
		case <-ctx.Done():
			return nil, fmt.Errorf("JWKS %s: the caller went away while it was fetched: %w", k.url, ctx.Err())
		}
	}
	k.mu.Lock()
	keys := k.keys
	k.mu.Unlock()
	switch {
	case keys == nil && fetchErr != nil:
		return nil, fetchErr
	case keys == nil:
		return nil, errors.New("the JWK Set could not be fetched recently; not retried yet")
	}
	return keys.key(ctx, t)
}

func (k *cdsRemoteKeys) fetch(ctx context.Context) (*cdsStaticKeys, error) {
	ctx, cancel := context.WithTimeout(ctx, cdsJWKSFetchLimit)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, k.url, nil)
	if err != nil {
		return nil, fmt.Errorf("JWKS %s: %v", k.url, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := k.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("JWKS %s: %v", k.url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("JWKS %s: status %d", k.url, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, cdsMaxJWKSBytes+1))
	if err != nil {
		return nil, fmt.Errorf("JWKS %s: %v", k.url, err)
	}
	if len(body) > cdsMaxJWKSBytes {
		return nil, fmt.Errorf("JWKS %s: larger than %d bytes", k.url, cdsMaxJWKSBytes)
	}
	ks, err := cdsParseJWKS(body)
	if err != nil {
		return nil, fmt.Errorf("JWKS %s: %v", k.url, err)
	}
	return ks, nil
}
