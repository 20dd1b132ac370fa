package api

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"mime"
	"net/http"
	"net/url"

	"github.com/labstack/echo/v4"
)

// CSRF protection for signed-in browsers. A session cookie goes with every request the
// browser makes to this service, including one another site's page sends it to make
// (SameSite=Lax stops cross-site POSTs in current browsers, not in all). So every
// POST, PUT, PATCH or DELETE that carries the session cookie and no bearer token must
// also carry a token tied to that session: HMAC(key, session id), which a page of this
// service can print and another site cannot compute (a synchronizer token without
// server state). Bearer callers (portals, scripts) send no cookie and need none.

// CSRFField is the form field (and CSRFHeader the header, for scripts of this service's
// pages) that carries the token. Forms add
//
//	<input type="hidden" name="{{.CSRFField}}" value="{{.CSRFToken}}">
//
// with the values of CSRFField and csrfToken(c).
const (
	CSRFField  = "csrf_token"
	CSRFHeader = "X-CSRF-Token"
	csrfLabel  = "trialscreen csrf v1 (session id)"
)

// csrfToken is the token the forms of the page answering c must carry: "" for a
// request without a session (nothing to protect).
func (s *Server) csrfToken(c echo.Context) string {
	id := s.sessionID(c.Request())
	if id == "" {
		return ""
	}
	return s.csrfFor(id)
}

func (s *Server) csrfFor(sessionID string) string {
	m := hmac.New(sha256.New, s.derivedKey(csrfLabel))
	m.Write([]byte(sessionID))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// errCSRF refuses a state-changing request made with a session cookie but without the
// session's CSRF token.
var errCSRF = echo.NewHTTPError(http.StatusForbidden,
	"CSRF token missing or invalid: a form sent with a session must carry the "+CSRFField+" field of the page it came from; reload the page and send it again")

// csrf checks the token on every state-changing request that carries a session cookie
// and no Authorization header.
func (s *Server) csrf(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			return next(c)
		}
		id := s.sessionID(r)
		if id == "" || r.Header.Get("Authorization") != "" {
			return next(c)
		}
		sent := r.Header.Get(CSRFHeader)
		if sent == "" {
			sent = csrfFormToken(c)
		}
		if !hmac.Equal([]byte(sent), []byte(s.csrfFor(id))) {
			s.log.Info("request refused", "route", c.Path(), "reason", "CSRF token missing or invalid")
			return errCSRF
		}
		return next(c)
	}
}

// maxCSRFFormBytes bounds the form body the CSRF check parses. It runs before
// authentication and before a route pays for its body in memory (payForBody), for any
// request with a cookie of the session's name, which anyone can send: parsing up to the
// body limit there (16 MiB, and multipart parts on disk) would be work and memory the
// limiter never sees. This service's forms (a review decision with its note, sign-out)
// are a few KiB.
const maxCSRFFormBytes = 64 << 10

// csrfFormToken is the token field of a URL-encoded form body of at most
// maxCSRFFormBytes; "" for any other body (no token: refused). The forms of this service
// are URL-encoded; scripts send the header. What it reads is put back in front of the
// rest of the body: the route's handler reads the body as it was sent (a form's handler
// parses it with its own checks).
func csrfFormToken(c echo.Context) string {
	r := c.Request()
	mt, _, err := mime.ParseMediaType(r.Header.Get(echo.HeaderContentType))
	if err != nil || mt != echo.MIMEApplicationForm {
		return ""
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, maxCSRFFormBytes+1))
	r.Body = readCloser{io.MultiReader(bytes.NewReader(data), r.Body), r.Body}
	if err != nil || len(data) > maxCSRFFormBytes {
		return ""
	}
	form, err := url.ParseQuery(string(data))
	if err != nil {
		return ""
	}
	return form.Get(CSRFField)
}

// readCloser reads from one reader and closes another: a body partly read and put back.
type readCloser struct {
	io.Reader
	io.Closer
}
