package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrReplay is what UseJTI gives for a token id already used and not yet expired.
var ErrReplay = errors.New("store: jti was already used (replay)")

// jtiPurgeEvery is how often expired jtis are swept, at most, per process: the sweep
// rides on a call rather than a goroutine of its own.
const jtiPurgeEvery = time.Minute

// UseJTI records that issuer used jti, remembered until until. A jti already there and
// live is ErrReplay; one there but expired is taken again. One statement, so that two
// replicas given the same token at once cannot both accept it: the primary key decides.
func (s *Store) UseJTI(ctx context.Context, issuer, jti string, until time.Time) error {
	now := s.now()
	res, err := s.db.ExecContext(ctx, s.rebind(`INSERT INTO cds_jtis (issuer, jti, expires_us) VALUES (?, ?, ?)
		ON CONFLICT (issuer, jti) DO UPDATE SET expires_us = excluded.expires_us
		WHERE cds_jtis.expires_us <= ?`), issuer, jti, until.UnixMicro(), now.UnixMicro())
	if err != nil {
		return fmt.Errorf("store: use jti: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("store: use jti: %w", err)
	}
	if n == 0 {
		return ErrReplay
	}
	s.purgeJTIs(ctx, now)
	return nil
}

// purgeJTIs deletes expired jtis, at most once per jtiPurgeEvery. A failure is left to
// the next sweep: expired rows only take room, they never refuse a token.
func (s *Store) purgeJTIs(ctx context.Context, now time.Time) {
	s.purgeMu.Lock()
	due := now.Sub(s.lastPurge) >= jtiPurgeEvery
	if due {
		s.lastPurge = now
	}
	s.purgeMu.Unlock()
	if due {
		_, _ = s.db.ExecContext(ctx, s.rebind(`DELETE FROM cds_jtis WHERE expires_us <= ?`), now.UnixMicro())
	}
}

// JTICount is how many jtis are kept, expired ones not yet swept included (for tests
// and operators).
func (s *Store) JTICount(ctx context.Context) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM cds_jtis`).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count jtis: %w", err)
	}
	return n, nil
}
