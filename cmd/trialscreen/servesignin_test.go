package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trialscreen/trialscreen/api"
)

func TestServeConfigSignInProblems(t *testing.T) {
	fhir := map[string]string{envFHIRURL: "https://fhir.example.org/r4", envAPITokensFile: "tokens"}
	tests := []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"incomplete", map[string]string{envOIDCIssuer: "https://idp.example.org", envOIDCClientSecret: "s", envOIDCClientSecretFile: "f",
			envSessionIdle: "2h", envSessionMax: "1h"}, []string{
			"TRIALSCREEN_OIDC_CLIENT_ID: is required with TRIALSCREEN_OIDC_ISSUER",
			"TRIALSCREEN_OIDC_CLIENT_SECRET: and TRIALSCREEN_OIDC_CLIENT_SECRET_FILE are both set; give one",
			"TRIALSCREEN_OIDC_COORDINATOR_ROLES: and TRIALSCREEN_OIDC_VIEWER_ROLES are both empty: nobody could sign in",
			"TRIALSCREEN_SESSION_MAX_AGE: 1h0m0s is shorter than TRIALSCREEN_SESSION_IDLE_TIMEOUT (2h0m0s)",
		}},
		{"settings without an issuer", map[string]string{envOIDCClientID: "c", envOIDCViewerRoles: "v"}, []string{
			"TRIALSCREEN_OIDC_CLIENT_ID: is set without TRIALSCREEN_OIDC_ISSUER",
			"TRIALSCREEN_OIDC_VIEWER_ROLES: is set without TRIALSCREEN_OIDC_ISSUER",
		}},
		{"bad timeout", map[string]string{envSessionIdle: "a while"}, []string{
			`TRIALSCREEN_SESSION_IDLE_TIMEOUT: "a while" is not a positive duration`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{}
			for k, v := range fhir {
				env[k] = v
			}
			for k, v := range tt.env {
				env[k] = v
			}
			_, err := readServeConfig(func(k string) string { return env[k] })
			if err == nil {
				t.Fatal("accepted")
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("the error does not say %q:\n%v", want, err)
				}
			}
		})
	}
	t.Run("demo mode needs no sign-in", func(t *testing.T) {
		env := map[string]string{envOIDCIssuer: "https://idp.example.org", envOIDCClientID: "c", envOIDCCoordinatorRoles: "x"}
		_, err := readServeConfig(func(k string) string { return env[k] })
		if err == nil || !strings.Contains(err.Error(), "TRIALSCREEN_OIDC_ISSUER: is set in demo mode") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("sign-in alone authenticates the pages", func(t *testing.T) {
		env := map[string]string{envFHIRURL: "https://fhir.example.org/r4", envOIDCIssuer: "https://idp.example.org",
			envOIDCClientID: "c", envOIDCCoordinatorRoles: "trial-coordinator, lead", envOIDCViewerRoles: "trial-viewer"}
		c, err := readServeConfig(func(k string) string { return env[k] })
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(c.signIn.coordinatorRoles, "|"); got != "trial-coordinator|lead" || c.signIn.roleClaim != "" {
			t.Errorf("coordinator roles %q, role claim %q", got, c.signIn.roleClaim)
		}
	})
}

func TestConfigureSignInProblems(t *testing.T) {
	empty := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := signInSettings{issuer: "http://127.0.0.1:1", clientID: "c", coordinatorRoles: []string{"x"}}
	tests := []struct {
		name string
		mod  func(*signInSettings)
		want string
	}{
		{"secret file missing", func(s *signInSettings) { s.clientSecretFile = filepath.Join(t.TempDir(), "none") }, "serve: TRIALSCREEN_OIDC_CLIENT_SECRET_FILE: open"},
		{"secret file empty", func(s *signInSettings) { s.clientSecretFile = empty }, "serve: TRIALSCREEN_OIDC_CLIENT_SECRET_FILE: the file is empty"},
		// Nothing listens on port 1: discovery fails at start, naming the variable.
		{"provider unreachable", func(*signInSettings) {}, "serve: TRIALSCREEN_OIDC_ISSUER: api: SignInConfig.Issuer: discovery:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := base
			tt.mod(&s)
			var acfg api.Config
			err := configureSignIn(context.Background(), &acfg, s, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("configureSignIn = %v, want %q", err, tt.want)
			}
			if acfg.SignIn != nil {
				t.Error("sign-in was turned on")
			}
		})
	}
}
