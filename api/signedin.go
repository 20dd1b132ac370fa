package api

import (
	_ "embed"

	"github.com/labstack/echo/v4"
)

// signedInSource defines the "signed-in" template: the person a page is for, in its
// header, with a sign-out form. The worklist and the report parse it into their sets.
//
//go:embed templates/signedin.html
var signedInSource string

// signedInView is the signed-in person a page names, and its sign-out form.
type signedInView struct {
	Name, Role           string
	SignOut              string // the form's target, POST /signout
	CSRFField, CSRFToken string
}

// pageSession is the caller of a page request's session: the signed-in person a page's
// header names and whose forms it prints. ok is false for a request without a live
// session, or with an Authorization header (a bearer caller, whose browser, if any,
// cannot post forms with it). Routes behind authenticate() have the caller already;
// a card's report link (no authenticate) looks the session up.
func (s *Server) pageSession(c echo.Context) (Caller, bool) {
	r := c.Request()
	id := s.sessionID(r)
	if s.cfg.SignIn == nil || id == "" || r.Header.Get("Authorization") != "" {
		return Caller{}, false
	}
	if caller, ok := c.Get(callerKey).(Caller); ok && caller.Role != "" {
		return caller, true
	}
	caller, err := s.sessionCaller(r.Context(), id)
	if err != nil {
		return Caller{}, false // a page without forms, not an error: the link is the credential
	}
	return caller, true
}

// signedIn is the header's signed-in person; nil when the page has none.
func (s *Server) signedIn(c echo.Context) *signedInView {
	caller, ok := s.pageSession(c)
	if !ok {
		return nil
	}
	return &signedInView{Name: caller.User, Role: caller.Role, SignOut: routeSignOut, CSRFField: CSRFField, CSRFToken: s.csrfToken(c)}
}

// pageForms says whether a page may offer the review forms, and with which CSRF token:
// to a signed-in person who may decide (their session's token), or to anyone in demo
// mode without authentication (nobody signs in there; the forms need no token). A
// bearer caller reading a page gets none: its browser would not send the token.
func (s *Server) pageForms(c echo.Context) (ok bool, csrf string) {
	if caller, ok := s.pageSession(c); ok {
		return caller.CanDecide(), s.csrfToken(c)
	}
	return s.cfg.Demo && s.cfg.Auth == nil, ""
}
