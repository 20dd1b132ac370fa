package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// AuditRecord is one row of the audit trail.
type AuditRecord struct {
	Seq      int64
	EventID  string
	Created  time.Time
	Event    []byte // the AuditEvent JSON as appended
	PrevHash string
	Hash     string
}

// auditLockKey is the PostgreSQL advisory lock that serialises appends across replicas
// (an arbitrary constant: "audit" in ASCII).
const auditLockKey = 0x6175646974

// AppendAudit adds an AuditEvent to the end of the chain. An event id already there is
// taken as written (nil): a write retried after its commit was lost on the way back is
// not stored twice.
//
// Appends are serialised so that each row chains to the one before it: on PostgreSQL a
// transaction-scoped advisory lock, held by one replica's append at a time (a row lock
// on the last row would not stop two appends into an empty table); on SQLite the
// transaction is IMMEDIATE, i.e. takes the one write lock at its start.
func (s *Store) AppendAudit(ctx context.Context, eventID string, created time.Time, event []byte) error {
	if eventID == "" || len(event) == 0 {
		return errors.New("store: append audit: event id and event are required")
	}
	opts := &sql.TxOptions{Isolation: sql.LevelSerializable} // SQLite: BEGIN IMMEDIATE
	if s.backend == BackendPostgres {
		opts = nil // READ COMMITTED: after the lock, each statement sees the last commit
	}
	tx, err := s.db.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("store: append audit: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if s.backend == BackendPostgres {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(auditLockKey)); err != nil {
			return fmt.Errorf("store: append audit: lock: %w", err)
		}
	}
	var one int
	switch err := tx.QueryRowContext(ctx, s.rebind(`SELECT 1 FROM audit_events WHERE event_id = ?`), eventID).Scan(&one); {
	case err == nil:
		return nil // written before
	case !errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("store: append audit: %w", err)
	}
	seq, prev := int64(1), genesisHash
	err = tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1`).Scan(&seq, &prev)
	switch {
	case err == nil:
		seq++
	case errors.Is(err, sql.ErrNoRows):
	default:
		return fmt.Errorf("store: append audit: last row: %w", err)
	}
	createdUS := created.UnixMicro()
	hash := chainHash(prev, seq, createdUS, eventID, event)
	if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO audit_events (seq, event_id, created_us, event, prev_hash, hash)
		VALUES (?, ?, ?, ?, ?, ?)`), seq, eventID, createdUS, string(event), prev, hash); err != nil {
		return fmt.Errorf("store: append audit: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: append audit: commit: %w", err)
	}
	return nil
}

// EachAudit calls fn with every audit row created at or after since (zero: all), in
// chain order, stopping at fn's first error.
func (s *Store) EachAudit(ctx context.Context, since time.Time, fn func(AuditRecord) error) error {
	q, args := `SELECT seq, event_id, created_us, event, prev_hash, hash FROM audit_events`, []any{}
	if !since.IsZero() {
		q += ` WHERE created_us >= ?`
		args = append(args, since.UnixMicro())
	}
	rows, err := s.db.QueryContext(ctx, s.rebind(q+` ORDER BY seq`), args...)
	if err != nil {
		return fmt.Errorf("store: read audit: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r AuditRecord
		var created int64
		var event string
		if err := rows.Scan(&r.Seq, &r.EventID, &created, &event, &r.PrevHash, &r.Hash); err != nil {
			return fmt.Errorf("store: read audit: %w", err)
		}
		r.Created, r.Event = time.UnixMicro(created).UTC(), []byte(event)
		if err := fn(r); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: read audit: %w", err)
	}
	return nil
}
