package api

import (
	"net/http"
	"net/url"

	"github.com/labstack/echo/v4"
)

// renderErrorPage answers a browser's failed request with a small page saying what
// went wrong: the problem document's title and detail, never the FHIR server's text. A
// 401 offers to sign in and come back to the page asked for, when sign-in is configured.
func (s *Server) renderErrorPage(c echo.Context, p Problem) error {
	v := pageView{Title: p.Title, Status: p.Status, Message: p.Detail}
	switch {
	case p.Status == http.StatusUnauthorized && s.cfg.SignIn != nil:
		v.Message = "This page is for signed-in hospital staff."
		v.LinkURL = routeSignIn + "?next=" + url.QueryEscape(localPath(c.Request().URL.RequestURI()))
		v.LinkText = "Sign in"
	case p.Status == http.StatusUnauthorized:
		v.Message = "This page needs credentials, and this service has no sign-in configured."
	}
	return s.renderPage(c, p.Status, v)
}
