package api

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/trialscreen/trialscreen/store"
)

// Sessions keeps signed-in staff sessions in the store every replica shares.
// store.Store implements it.
type Sessions interface {
	CreateSession(ctx context.Context, se store.Session) error
	GetSession(ctx context.Context, idHash string) (store.Session, error)
	TouchSession(ctx context.Context, idHash string, seen time.Time) error
	DeleteSession(ctx context.Context, idHash string) error
	DeleteExpiredSessions(ctx context.Context, now, idleCutoff time.Time) (int64, error)
}

// sessionCookie carries the session id: random, 32 bytes, base64url. Only its hash is
// stored, so a copy of the database signs nobody in. Over https its name has the
// __Host- prefix (sessionCookieName).
const sessionCookie = "trialscreen_session"

// sessionCookieName is the session cookie's name: over https, "__Host-" + sessionCookie.
// Browsers keep a __Host- cookie only when this very host set it Secure, for Path=/ and
// without a Domain, so another application on a sibling subdomain (a hospital has many)
// cannot plant a session cookie this service would read in place of its own (cookie
// tossing: the person would then work, unknowingly, in someone else's session). A
// plain-http service (a laptop, a test) cannot use the prefix.
func (s *Server) sessionCookieName() string {
	if s.secureCookies() {
		return "__Host-" + sessionCookie
	}
	return sessionCookie
}

// touchEvery is how stale a session's last-seen time may get before a request writes
// it: the idle timeout is minutes long, and a write per request would be wasted.
const touchEvery = time.Minute

// newSessionID is a fresh random session id.
func newSessionID() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read does not fail
	return base64.RawURLEncoding.EncodeToString(b)
}

// sessionHash is what the store knows a session by.
func sessionHash(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}

// sessionID is the id in the request's session cookie, "" without one.
func (s *Server) sessionID(r *http.Request) string {
	ck, err := r.Cookie(s.sessionCookieName())
	if err != nil || len(ck.Value) > 128 {
		return ""
	}
	return ck.Value
}

// secureCookies says whether cookies get the Secure attribute: when the service is
// reached over https (a plain-http PublicURL is a laptop or a test).
func (s *Server) secureCookies() bool {
	return strings.HasPrefix(s.cfg.PublicURL, "https://")
}

// setSessionCookie gives the browser its session id: HttpOnly (no script reads it),
// SameSite=Lax (sent on top-level navigation, so a link from an email works, but not on
// other sites' forms), for the whole site, lasting no longer than the session.
func (s *Server) setSessionCookie(c echo.Context, id string, maxAge time.Duration) {
	c.SetCookie(&http.Cookie{
		Name: s.sessionCookieName(), Value: id, Path: "/", MaxAge: int(maxAge.Seconds()),
		HttpOnly: true, Secure: s.secureCookies(), SameSite: http.SameSiteLaxMode,
	})
}

func (s *Server) clearSessionCookie(c echo.Context) {
	c.SetCookie(&http.Cookie{
		Name: s.sessionCookieName(), Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: s.secureCookies(), SameSite: http.SameSiteLaxMode,
	})
}

// errNoSession is a session cookie naming no live session: unknown, forged, signed out
// or expired. One error for all, so a caller probing ids learns nothing.
var errNoSession = errors.New("the session cookie names no live session (unknown, signed out or expired)")

// sessionCaller is the caller of a request's session cookie. A session past its idle or
// absolute timeout is deleted on sight.
func (s *Server) sessionCaller(ctx context.Context, id string) (Caller, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.StoreTimeout)
	defer cancel()
	hash := sessionHash(id)
	se, err := s.cfg.Sessions.GetSession(ctx, hash)
	if errors.Is(err, store.ErrNotFound) {
		return Caller{}, errNoSession
	}
	if err != nil {
		return Caller{}, &storeUnavailable{err: fmt.Errorf("read session: %w", err)}
	}
	now := s.cfg.Now()
	if s.sessionExpired(se, now) {
		_ = s.cfg.Sessions.DeleteSession(ctx, hash)
		return Caller{}, errNoSession
	}
	if se.Role != RoleCoordinator && se.Role != RoleViewer {
		// Only sign-in writes sessions, always with one of the two roles. Any other value
		// (a row written by hand, or by a later version) must not pass: a Caller without
		// a Role is a system caller, and systems may decide review items.
		s.log.Warn("session refused", "reason", "its role is neither coordinator nor viewer")
		return Caller{}, errNoSession
	}
	if now.Sub(se.LastSeen) >= touchEvery {
		if err := s.cfg.Sessions.TouchSession(ctx, hash, now); err != nil {
			// The request goes on: at worst the session idles out a little early.
			s.log.Warn("session: last-seen time not recorded", "error", err.Error())
		}
	}
	return Caller{ID: "user:" + se.Subject, User: se.DisplayName, Role: se.Role}, nil
}

// sessionExpired is the one rule of a session's life: it ends at its absolute end, or
// when unused for the idle timeout.
func (s *Server) sessionExpired(se store.Session, now time.Time) bool {
	return !now.Before(se.Expires) || now.Sub(se.LastSeen) >= s.cfg.SignIn.cfg.IdleTimeout
}

// startSession keeps a new session for a signed-in user and gives the browser its
// cookie, ending the one the browser held. Expired sessions are purged first, lazily:
// sign-ins are rare enough to carry it.
func (s *Server) startSession(c echo.Context, subject, name, role string) error {
	ctx := c.Request().Context()
	now := s.cfg.Now().UTC()
	si := s.cfg.SignIn.cfg
	if _, err := s.cfg.Sessions.DeleteExpiredSessions(ctx, now, now.Add(-si.IdleTimeout)); err != nil {
		s.log.Warn("session: expired sessions not purged", "error", err.Error())
	}
	if old := s.sessionID(c.Request()); old != "" {
		// The browser's previous session (another person's, on a shared workstation, or
		// one planted in it) ends here rather than living on beside the new one.
		if err := s.cfg.Sessions.DeleteSession(ctx, sessionHash(old)); err != nil {
			s.log.Warn("session: the browser's previous session not ended", "error", err.Error())
		}
	}
	id := newSessionID()
	se := store.Session{IDHash: sessionHash(id), Subject: subject, DisplayName: name, Role: role,
		Created: now, Expires: now.Add(si.AbsoluteTimeout), LastSeen: now}
	if err := s.cfg.Sessions.CreateSession(ctx, se); err != nil {
		return &storeUnavailable{err: fmt.Errorf("create session: %w", err)}
	}
	s.setSessionCookie(c, id, si.AbsoluteTimeout)
	return nil
}
