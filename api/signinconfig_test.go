package api

import (
	"strings"
	"testing"
)

func TestNewSignInRefusesBadConfig(t *testing.T) {
	idp := newFakeIdP(t)
	ok := SignInConfig{Issuer: idp.srv.URL, ClientID: "c", CoordinatorRoles: []string{"coord"}}
	tests := []struct {
		name string
		mod  func(*SignInConfig)
		want string
	}{
		{"no issuer", func(c *SignInConfig) { c.Issuer = "" }, "api: SignInConfig.Issuer is required"},
		{"plain http to another host", func(c *SignInConfig) { c.Issuer = "http://idp.example" }, "must use https (http only to a loopback address)"},
		{"no client id", func(c *SignInConfig) { c.ClientID = "" }, "api: SignInConfig.ClientID is required"},
		{"no roles", func(c *SignInConfig) { c.CoordinatorRoles = nil }, "no CoordinatorRoles or ViewerRoles"},
		{"a role both ways", func(c *SignInConfig) { c.ViewerRoles = []string{"coord"} }, `role "coord" is both a coordinator and a viewer role`},
		{"issuer without discovery", func(c *SignInConfig) { c.Issuer = idp.srv.URL + "/nothing-here" }, "api: SignInConfig.Issuer: discovery:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := ok
			tt.mod(&cfg)
			_, err := NewSignIn(t.Context(), cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewSignIn = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestRoleOfClaim(t *testing.T) {
	si := &SignIn{cfg: SignInConfig{RoleClaim: "groups", CoordinatorRoles: []string{"c1", "c2"}, ViewerRoles: []string{"v"}}}
	tests := []struct {
		name   string
		claims map[string]any
		want   string
	}{
		{"string", map[string]any{"groups": "c2"}, RoleCoordinator},
		{"array, coordinator wins", map[string]any{"groups": []any{"v", "c1"}}, RoleCoordinator},
		{"viewer", map[string]any{"groups": []any{"x", "v"}}, RoleViewer},
		{"neither", map[string]any{"groups": []any{"x"}}, ""},
		{"another claim", map[string]any{"roles": "c1"}, ""},
		{"not strings", map[string]any{"groups": []any{1, true}}, ""},
	}
	for _, tt := range tests {
		if got := si.roleOf(tt.claims); got != tt.want {
			t.Errorf("%s: roleOf = %q, want %q", tt.name, got, tt.want)
		}
	}
}
