package api

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"regexp"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/labstack/echo/v4"
	"golang.org/x/oauth2"
)

// Sign-in routes. The callback's path is the redirect URL registered at the provider:
// PublicURL + routeCallback.
const (
	routeSignIn   = "/signin"
	routeCallback = "/auth/callback"
	routeSignOut  = "/signout"
)

// registerSignIn adds the sign-in routes when sign-in is configured.
func (s *Server) registerSignIn(e *echo.Echo) {
	if s.cfg.SignIn == nil {
		return
	}
	e.GET(routeSignIn, s.signIn)
	e.GET(routeCallback, s.cfg.Metrics.countSignIns(s.signInCallback))
	e.GET(routeSignOut, s.signOutPage)
	e.POST(routeSignOut, s.signOut)
}

// oauthConfig is the client's OAuth 2.0 configuration at the provider.
func (s *Server) oauthConfig() *oauth2.Config {
	si := s.cfg.SignIn
	return &oauth2.Config{
		ClientID: si.cfg.ClientID, ClientSecret: si.cfg.ClientSecret,
		Endpoint:    si.provider.Endpoint(),
		RedirectURL: s.cfg.PublicURL + routeCallback,
		Scopes:      []string{oidc.ScopeOpenID, "profile"},
	}
}

// signIn starts the authorization code flow with PKCE: the browser keeps the state,
// nonce and verifier (sealed) and goes to the provider.
func (s *Server) signIn(c echo.Context) error {
	f := signInFlow{State: randomToken(), Nonce: randomToken(), Verifier: oauth2.GenerateVerifier(),
		Next: localPath(c.QueryParam("next")), Expires: s.cfg.Now().Add(flowTTL).Unix()}
	s.setFlowCookie(c, f)
	c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
	return c.Redirect(http.StatusFound, s.oauthConfig().AuthCodeURL(f.State, oidc.Nonce(f.Nonce), oauth2.S256ChallengeOption(f.Verifier)))
}

// signInRefused is a sign-in that cannot go on: a 400 for a request that does not
// match the sign-in in progress, a 403 for a user the service does not admit, a 502 for
// a provider that fails. The message is for the person at the browser.
func signInRefused(status int, format string, args ...any) error {
	return echo.NewHTTPError(status, "sign-in: "+fmt.Sprintf(format, args...))
}

// providerErrorCode is the shape of an OAuth error code (RFC 6749 4.1.2.1): only such a
// word is repeated back; the provider's free-text description is not.
var providerErrorCode = regexp.MustCompile(`^[a-z_]{1,64}$`)

// signInCallback ends the flow: it checks the state against the browser's flow cookie,
// exchanges the code with the PKCE verifier, verifies the ID token (signature, issuer,
// audience, expiry, nonce), maps the role claim and starts a session. Nothing it logs
// holds a code, token, name or subject.
func (s *Server) signInCallback(c echo.Context) error {
	r := c.Request()
	c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
	f, err := s.readFlowCookie(r)
	if err != nil {
		return signInRefused(http.StatusBadRequest, "%s", errNoFlow)
	}
	q := r.URL.Query()
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(f.State)) != 1 {
		s.log.Info("sign-in refused", "reason", "state mismatch")
		return signInRefused(http.StatusBadRequest, "the state does not match this browser's sign-in; start again")
	}
	s.clearFlowCookie(c) // one use: a replayed callback finds no flow
	if code := q.Get("error"); code != "" {
		if !providerErrorCode.MatchString(code) {
			code = "unknown"
		}
		s.log.Info("sign-in refused by the identity provider", "error", code)
		return signInRefused(http.StatusForbidden, "the identity provider refused the sign-in (%s)", code)
	}
	if f.Verifier == "" {
		return signInRefused(http.StatusBadRequest, "no PKCE verifier for this sign-in; start again")
	}
	code := q.Get("code")
	if code == "" {
		return signInRefused(http.StatusBadRequest, "the identity provider sent no code")
	}
	si := s.cfg.SignIn
	ctx, cancel := context.WithTimeout(oidc.ClientContext(r.Context(), si.client), oidcTimeout)
	defer cancel()
	tok, err := s.oauthConfig().Exchange(ctx, code, oauth2.VerifierOption(f.Verifier))
	if err != nil {
		// oauth2's errors carry the provider's response body, which may hold tokens on
		// some providers' errors: only the error code is logged.
		s.log.Warn("sign-in: code exchange failed", "error", oauthErrorCode(err))
		return signInRefused(http.StatusBadGateway, "the identity provider did not accept the sign-in code; start again")
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return signInRefused(http.StatusBadGateway, "the identity provider sent no ID token")
	}
	idt, err := si.provider.VerifierContext(ctx, &oidc.Config{ClientID: si.cfg.ClientID, Now: s.cfg.Now}).Verify(ctx, raw)
	if err != nil {
		s.log.Warn("sign-in: ID token refused", "error", idTokenProblem(err))
		return signInRefused(http.StatusBadGateway, "the identity provider's ID token could not be verified")
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(f.Nonce)) != 1 {
		s.log.Warn("sign-in: ID token refused", "error", "nonce mismatch")
		return signInRefused(http.StatusBadRequest, "the ID token is not for this sign-in (nonce); start again")
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return signInRefused(http.StatusBadGateway, "the ID token's claims could not be read")
	}
	role := si.roleOf(claims)
	if role == "" {
		s.log.Info("sign-in refused", "reason", "no coordinator or viewer role in the role claim", "claim", si.cfg.RoleClaim)
		return signInRefused(http.StatusForbidden, "your account has no trialscreen role (claim %q holds neither a coordinator nor a viewer role); ask the service's administrator", si.cfg.RoleClaim)
	}
	if err := s.startSession(c, idt.Subject, displayName(claims, idt.Subject), role); err != nil {
		return err
	}
	s.log.Info("signed in", "role", role)
	return c.Redirect(http.StatusSeeOther, f.Next)
}

// displayName is the name the pages show for the user: name, else preferred_username,
// else the subject.
func displayName(claims map[string]any, subject string) string {
	for _, k := range []string{"name", "preferred_username"} {
		if v, ok := claims[k].(string); ok && v != "" {
			return v
		}
	}
	return subject
}

// oauthErrorCode is the OAuth error code of a failed exchange, or its kind: never the
// response body.
func oauthErrorCode(err error) string {
	var re *oauth2.RetrieveError
	switch {
	case errors.As(err, &re) && providerErrorCode.MatchString(re.ErrorCode):
		return re.ErrorCode
	case errors.As(err, &re):
		return fmt.Sprintf("HTTP %d from the token endpoint", re.Response.StatusCode)
	case errors.Is(err, context.DeadlineExceeded):
		return "the token endpoint did not answer in time"
	}
	return "the token endpoint could not be reached"
}

// idTokenProblem names why an ID token was refused, without the token.
func idTokenProblem(err error) string {
	var exp *oidc.TokenExpiredError
	if errors.As(err, &exp) {
		return "expired"
	}
	return err.Error() // go-oidc's verification errors name the check, not the token
}

// signOutPage asks to confirm signing out: a form, so that signing out is a POST with
// the CSRF token (a link or an image on another site cannot do it).
func (s *Server) signOutPage(c echo.Context) error {
	if s.sessionID(c.Request()) == "" {
		return s.renderPage(c, http.StatusOK, pageView{Title: "Not signed in", Message: "You are not signed in to trialscreen.",
			LinkURL: routeSignIn, LinkText: "Sign in"})
	}
	return s.renderPage(c, http.StatusOK, pageView{Title: "Sign out", Message: "Sign out of trialscreen on this browser?",
		FormAction: routeSignOut, FormButton: "Sign out", CSRFField: CSRFField, CSRFToken: s.csrfToken(c)})
}

// signOut ends the session (its row is deleted, so no replica honours the cookie
// again) and says so. It is a POST with the CSRF token: another site cannot sign a
// person out.
func (s *Server) signOut(c echo.Context) error {
	if id := s.sessionID(c.Request()); id != "" {
		ctx, cancel := context.WithTimeout(c.Request().Context(), s.cfg.StoreTimeout)
		defer cancel()
		if err := s.cfg.Sessions.DeleteSession(ctx, sessionHash(id)); err != nil {
			return &storeUnavailable{err: fmt.Errorf("delete session: %w", err)}
		}
	}
	s.clearSessionCookie(c)
	return s.renderPage(c, http.StatusOK, pageView{Title: "Signed out", Message: "You are signed out of trialscreen.",
		LinkURL: routeSignIn, LinkText: "Sign in again"})
}
