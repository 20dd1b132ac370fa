package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

// SignInConfig configures staff sign-in with the hospital's OpenID Connect provider
// (authorization code with PKCE). The redirect URL is Config.PublicURL + "/auth/callback".
type SignInConfig struct {
	Issuer       string // the provider's issuer URL; discovery is fetched from it, and only it
	ClientID     string
	ClientSecret string // "" for a public client (PKCE alone)
	// RoleClaim names the ID token claim holding the user's roles: a string or an array
	// of strings. Default "roles".
	RoleClaim string
	// CoordinatorRoles and ViewerRoles are the claim values that make a user a
	// coordinator or a viewer; a user with neither is refused (403). Coordinator wins.
	CoordinatorRoles, ViewerRoles []string
	// IdleTimeout ends a session not used for this long (default 30m); AbsoluteTimeout
	// ends it this long after sign-in whatever the activity (default 12h).
	IdleTimeout, AbsoluteTimeout time.Duration
	// HTTPClient talks to the provider; nil: a client with a 10 s timeout.
	HTTPClient *http.Client
}

const (
	defaultRoleClaim       = "roles"
	defaultIdleTimeout     = 30 * time.Minute
	defaultAbsoluteTimeout = 12 * time.Hour
	oidcTimeout            = 10 * time.Second
)

// SignIn is a configured identity provider: its discovery document was fetched and
// checked. Build it with NewSignIn and give it to Config.SignIn.
type SignIn struct {
	cfg      SignInConfig
	provider *oidc.Provider
	client   *http.Client
}

// NewSignIn checks cfg and fetches the provider's discovery document, so that a wrong
// issuer shows at start-up rather than at the first sign-in.
func NewSignIn(ctx context.Context, cfg SignInConfig) (*SignIn, error) {
	var problems []error
	if cfg.Issuer == "" {
		problems = append(problems, errors.New("api: SignInConfig.Issuer is required"))
	} else if err := checkJWKSURL(cfg.Issuer); err != nil {
		// The same rule as a JWKS URL: https, or http to loopback only.
		problems = append(problems, fmt.Errorf("api: SignInConfig.Issuer %q must use https (http only to a loopback address)", cfg.Issuer))
	}
	if cfg.ClientID == "" {
		problems = append(problems, errors.New("api: SignInConfig.ClientID is required"))
	}
	if len(cfg.CoordinatorRoles) == 0 && len(cfg.ViewerRoles) == 0 {
		problems = append(problems, errors.New("api: SignInConfig: no CoordinatorRoles or ViewerRoles: nobody could sign in"))
	}
	for _, r := range cfg.CoordinatorRoles {
		if slices.Contains(cfg.ViewerRoles, r) {
			problems = append(problems, fmt.Errorf("api: SignInConfig: role %q is both a coordinator and a viewer role", r))
		}
	}
	if cfg.IdleTimeout < 0 || cfg.AbsoluteTimeout < 0 {
		problems = append(problems, errors.New("api: SignInConfig: timeouts must not be negative"))
	}
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}
	if cfg.RoleClaim == "" {
		cfg.RoleClaim = defaultRoleClaim
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = defaultIdleTimeout
	}
	if cfg.AbsoluteTimeout == 0 {
		cfg.AbsoluteTimeout = defaultAbsoluteTimeout
	}
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: oidcTimeout}
	}
	dctx, cancel := context.WithTimeout(oidc.ClientContext(ctx, client), oidcTimeout)
	defer cancel()
	p, err := oidc.NewProvider(dctx, cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("api: SignInConfig.Issuer: discovery: %w", err)
	}
	var disc struct {
		Methods []string `json:"code_challenge_methods_supported"`
	}
	if err := p.Claims(&disc); err == nil && len(disc.Methods) > 0 && !slices.Contains(disc.Methods, "S256") {
		return nil, fmt.Errorf("api: SignInConfig.Issuer: the provider does not support PKCE with S256 (it lists %s)", strings.Join(disc.Methods, ", "))
	}
	return &SignIn{cfg: cfg, provider: p, client: client}, nil
}

// roleOf maps the role claim's values to the service's role: coordinator before viewer,
// "" when neither is there.
func (si *SignIn) roleOf(claims map[string]any) string {
	var values []string
	switch v := claims[si.cfg.RoleClaim].(type) {
	case string:
		values = []string{v}
	case []any:
		for _, x := range v {
			if s, ok := x.(string); ok {
				values = append(values, s)
			}
		}
	}
	for _, r := range si.cfg.CoordinatorRoles {
		if slices.Contains(values, r) {
			return RoleCoordinator
		}
	}
	for _, r := range si.cfg.ViewerRoles {
		if slices.Contains(values, r) {
			return RoleViewer
		}
	}
	return ""
}
