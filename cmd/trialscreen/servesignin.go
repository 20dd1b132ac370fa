package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/trialscreen/trialscreen/api"
)

// Staff sign-in with the hospital's OpenID Connect provider (api/signin.go). Setting the
// issuer turns it on; the redirect URL to register at the provider is
// TRIALSCREEN_PUBLIC_URL + /auth/callback.
const (
	envOIDCIssuer           = "TRIALSCREEN_OIDC_ISSUER"             // the provider's issuer URL (https; http only to loopback)
	envOIDCClientID         = "TRIALSCREEN_OIDC_CLIENT_ID"          // this service's client id there
	envOIDCClientSecret     = "TRIALSCREEN_OIDC_CLIENT_SECRET"      // its secret (or, better, ...
	envOIDCClientSecretFile = "TRIALSCREEN_OIDC_CLIENT_SECRET_FILE" // ...a file holding it); neither: a public client
	envOIDCRoleClaim        = "TRIALSCREEN_OIDC_ROLE_CLAIM"         // the ID token claim with the roles; default roles
	envOIDCCoordinatorRoles = "TRIALSCREEN_OIDC_COORDINATOR_ROLES"  // comma-separated claim values of coordinators
	envOIDCViewerRoles      = "TRIALSCREEN_OIDC_VIEWER_ROLES"       // comma-separated claim values of viewers
	envSessionIdle          = "TRIALSCREEN_SESSION_IDLE_TIMEOUT"    // a session unused this long ends; default 30m
	envSessionMax           = "TRIALSCREEN_SESSION_MAX_AGE"         // a session ends this long after sign-in; default 12h
)

// signInSettings are the sign-in variables, read and checked.
type signInSettings struct {
	issuer, clientID, clientSecret, clientSecretFile string
	roleClaim                                        string
	coordinatorRoles, viewerRoles                    []string
	idle, maxAge                                     time.Duration
}

// readSignInSettings reads the sign-in variables; bad records each problem under its
// variable's name.
func readSignInSettings(getenv func(string) string, demo bool, duration func(string, time.Duration) time.Duration, bad func(name, format string, args ...any)) signInSettings {
	s := signInSettings{
		issuer:           strings.TrimSpace(getenv(envOIDCIssuer)),
		clientID:         strings.TrimSpace(getenv(envOIDCClientID)),
		clientSecret:     getenv(envOIDCClientSecret),
		clientSecretFile: getenv(envOIDCClientSecretFile),
		roleClaim:        strings.TrimSpace(getenv(envOIDCRoleClaim)),
		coordinatorRoles: splitList(getenv(envOIDCCoordinatorRoles)),
		viewerRoles:      splitList(getenv(envOIDCViewerRoles)),
		idle:             duration(envSessionIdle, 30*time.Minute),
		maxAge:           duration(envSessionMax, 12*time.Hour),
	}
	if s.issuer == "" {
		for _, name := range []string{envOIDCClientID, envOIDCClientSecret, envOIDCClientSecretFile, envOIDCRoleClaim, envOIDCCoordinatorRoles, envOIDCViewerRoles} {
			if getenv(name) != "" {
				bad(name, "is set without %s", envOIDCIssuer)
			}
		}
		return s
	}
	if demo {
		bad(envOIDCIssuer, "is set in demo mode (no %s): a demo needs no sign-in", envFHIRURL)
	}
	if s.clientID == "" {
		bad(envOIDCClientID, "is required with %s", envOIDCIssuer)
	}
	if s.clientSecret != "" && s.clientSecretFile != "" {
		bad(envOIDCClientSecret, "and %s are both set; give one", envOIDCClientSecretFile)
	}
	if len(s.coordinatorRoles) == 0 && len(s.viewerRoles) == 0 {
		bad(envOIDCCoordinatorRoles, "and %s are both empty: nobody could sign in", envOIDCViewerRoles)
	}
	if s.maxAge < s.idle {
		bad(envSessionMax, "%s is shorter than %s (%s)", s.maxAge, envSessionIdle, s.idle)
	}
	return s
}

// splitList is a comma-separated list without empty items.
func splitList(v string) []string {
	var out []string
	for _, item := range strings.Split(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// configureSignIn fetches the provider's discovery document (from the issuer, and no
// other server) and turns sign-in on, its sessions in sessions.
func configureSignIn(ctx context.Context, acfg *api.Config, s signInSettings, sessions api.Sessions) error {
	if s.issuer == "" {
		return nil
	}
	secret := s.clientSecret
	if s.clientSecretFile != "" {
		b, err := os.ReadFile(s.clientSecretFile)
		if err != nil {
			return fmt.Errorf("serve: %s: %w", envOIDCClientSecretFile, err)
		}
		if secret = string(bytes.TrimSpace(b)); secret == "" {
			return fmt.Errorf("serve: %s: the file is empty", envOIDCClientSecretFile)
		}
	}
	si, err := api.NewSignIn(ctx, api.SignInConfig{
		Issuer: s.issuer, ClientID: s.clientID, ClientSecret: secret, RoleClaim: s.roleClaim,
		CoordinatorRoles: s.coordinatorRoles, ViewerRoles: s.viewerRoles,
		IdleTimeout: s.idle, AbsoluteTimeout: s.maxAge,
	})
	if err != nil {
		return fmt.Errorf("serve: %s: %w", envOIDCIssuer, err)
	}
	acfg.SignIn, acfg.Sessions = si, sessions
	return nil
}
