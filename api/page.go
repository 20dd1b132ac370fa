package api

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"

	"github.com/labstack/echo/v4"
)

// Small pages for people: errors, "signed out". One template, no script, its style
// allowed by hash (like the report's).
//
//go:embed templates/page.html
var pageSource string

// pageTemplate's pageBanner is a placeholder here: each Server renders with its own
// (banner.go), through Clone.
var pageTemplate = template.Must(template.New("page").Funcs(template.FuncMap{"pageBanner": noBanner}).Parse(pageSource))

var pageCSP = "default-src 'none'; style-src '" + styleHash(pageSource) + "'; " +
	"base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// pageView is what a page shows.
type pageView struct {
	Title   string
	Status  int // shown for errors; 0: not shown
	Message string
	// LinkURL and LinkText make the page's one action, e.g. "Sign in".
	LinkURL, LinkText string
	// FormAction, when set, makes the action a POST form with one button, carrying the
	// CSRF token (csrf.go) in the field CSRFField.
	FormAction, FormButton string
	CSRFField, CSRFToken   string
}

// renderPage writes a page with status.
func (s *Server) renderPage(c echo.Context, status int, v pageView) error {
	t, err := pageTemplate.Clone()
	if err != nil {
		return fmt.Errorf("page: %w", err)
	}
	var buf bytes.Buffer
	if err := t.Funcs(template.FuncMap{"pageBanner": s.pageBanner}).Execute(&buf, v); err != nil {
		return fmt.Errorf("page: %w", err)
	}
	h := c.Response().Header()
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set(echo.HeaderCacheControl, "no-store")
	return c.Blob(status, "text/html; charset=utf-8", buf.Bytes())
}

// noBanner stands in for pageBanner until a Server's is set.
func noBanner() template.HTML { return "" }
