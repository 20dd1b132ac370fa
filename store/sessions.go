package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Session is a signed-in person's session (OpenID Connect sign-in). It is found by the
// hash of its id: the id itself lives only in the browser's cookie. Whether it is still
// valid (its idle and absolute timeouts) is the caller's rule, not the store's.
type Session struct {
	IDHash      string // hex SHA-256 of the random session id
	Subject     string // the identity provider's sub
	DisplayName string
	Role        string
	Created     time.Time
	Expires     time.Time // the absolute end, whatever the activity
	LastSeen    time.Time // the last request made with it (to a minute or so)
}

// CreateSession keeps a new session. An id hash already there is an error (ids are
// random: a clash means a bug).
func (s *Store) CreateSession(ctx context.Context, se Session) error {
	if se.IDHash == "" || se.Subject == "" {
		return errors.New("store: create session: id hash and subject are required")
	}
	_, err := s.db.ExecContext(ctx, s.rebind(`INSERT INTO sessions
		(id_hash, subject, display_name, role, created_us, expires_us, last_seen_us) VALUES (?, ?, ?, ?, ?, ?, ?)`),
		se.IDHash, se.Subject, se.DisplayName, se.Role, se.Created.UnixMicro(), se.Expires.UnixMicro(), se.LastSeen.UnixMicro())
	if err != nil {
		return fmt.Errorf("store: create session: %w", err)
	}
	return nil
}

// GetSession returns the session with that id hash, or ErrNotFound.
func (s *Store) GetSession(ctx context.Context, idHash string) (Session, error) {
	se := Session{IDHash: idHash}
	var created, expires, lastSeen int64
	err := s.db.QueryRowContext(ctx, s.rebind(`SELECT subject, display_name, role, created_us, expires_us, last_seen_us
		FROM sessions WHERE id_hash = ?`), idHash).Scan(&se.Subject, &se.DisplayName, &se.Role, &created, &expires, &lastSeen)
	if errors.Is(err, sql.ErrNoRows) {
		return Session{}, ErrNotFound
	}
	if err != nil {
		return Session{}, fmt.Errorf("store: get session: %w", err)
	}
	se.Created, se.Expires, se.LastSeen = time.UnixMicro(created).UTC(), time.UnixMicro(expires).UTC(), time.UnixMicro(lastSeen).UTC()
	return se, nil
}

// TouchSession records activity on a session: its last-seen time moves forward, never
// back (two replicas may touch it out of order).
func (s *Store) TouchSession(ctx context.Context, idHash string, seen time.Time) error {
	_, err := s.db.ExecContext(ctx, s.rebind(`UPDATE sessions SET last_seen_us = ? WHERE id_hash = ? AND last_seen_us < ?`),
		seen.UnixMicro(), idHash, seen.UnixMicro())
	if err != nil {
		return fmt.Errorf("store: touch session: %w", err)
	}
	return nil
}

// DeleteSession ends a session (sign-out). A session that is not there is no error.
func (s *Store) DeleteSession(ctx context.Context, idHash string) error {
	if _, err := s.db.ExecContext(ctx, s.rebind(`DELETE FROM sessions WHERE id_hash = ?`), idHash); err != nil {
		return fmt.Errorf("store: delete session: %w", err)
	}
	return nil
}

// DeleteExpiredSessions deletes the sessions past their absolute end at now or idle
// since before idleCutoff, and says how many.
func (s *Store) DeleteExpiredSessions(ctx context.Context, now, idleCutoff time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, s.rebind(`DELETE FROM sessions WHERE expires_us <= ? OR last_seen_us < ?`),
		now.UnixMicro(), idleCutoff.UnixMicro())
	if err != nil {
		return 0, fmt.Errorf("store: delete expired sessions: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("store: delete expired sessions: %w", err)
	}
	return n, nil
}
