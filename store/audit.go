package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
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

// AuditEntry is an AuditEvent to append: its id, when it was made, its JSON.
type AuditEntry struct {
	EventID string
	Created time.Time
	Event   []byte
}

// MaxAuditBatch bounds the entries of one AppendAudits call (and so the parameters of
// its one INSERT).
const MaxAuditBatch = 64

// AppendAudit adds one AuditEvent to the end of the chain (AppendAudits of one).
func (s *Store) AppendAudit(ctx context.Context, eventID string, created time.Time, event []byte) error {
	return s.AppendAudits(ctx, []AuditEntry{{EventID: eventID, Created: created, Event: event}})
}

// AppendAudits adds AuditEvents to the end of the chain, in order, in one transaction:
// all or none. An event id already there (or earlier in the same call) is taken as
// written: a write retried after its commit was lost on the way back is not stored
// twice. One transaction for a batch is what keeps the trail cheap to write: its lock,
// its look-ups and its commit were most of a single record's cost.
func (s *Store) AppendAudits(ctx context.Context, entries []AuditEntry) error {
	if len(entries) == 0 || len(entries) > MaxAuditBatch {
		return fmt.Errorf("store: append audit: %d entries; 1 to %d at a time", len(entries), MaxAuditBatch)
	}
	seen := make(map[string]bool, len(entries))
	unique := make([]AuditEntry, 0, len(entries))
	for _, e := range entries {
		if e.EventID == "" || len(e.Event) == 0 {
			return errors.New("store: append audit: event id and event are required")
		}
		if !seen[e.EventID] {
			seen[e.EventID] = true
			unique = append(unique, e)
		}
	}
	// Most batches are new records: they are inserted without looking for them first.
	// Only when one proves to be written already (a retry) is the batch written again
	// without those.
	done, err := s.appendAudits(ctx, unique, false)
	if err == nil && !done {
		_, err = s.appendAudits(ctx, unique, true)
	}
	return err
}

// appendAudits writes entries at the end of the chain in one transaction; with
// leaveWritten, those whose ids the trail holds are left out. It reports false, having
// written nothing, when an entry's id proved to be there already.
//
// Appends are serialised so that each row chains to the one before it: on PostgreSQL a
// transaction-scoped advisory lock, held by one replica's append at a time (a row lock
// on the last row would not stop two appends into an empty table); on SQLite the
// transaction is IMMEDIATE, i.e. takes the one write lock at its start.
func (s *Store) appendAudits(ctx context.Context, entries []AuditEntry, leaveWritten bool) (bool, error) {
	opts := &sql.TxOptions{Isolation: sql.LevelSerializable} // SQLite: BEGIN IMMEDIATE
	if s.backend == BackendPostgres {
		opts = nil // READ COMMITTED: after the lock, each statement sees the last commit
	}
	tx, err := s.db.BeginTx(ctx, opts)
	if err != nil {
		return false, fmt.Errorf("store: append audit: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if s.backend == BackendPostgres {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(auditLockKey)); err != nil {
			return false, fmt.Errorf("store: append audit: lock: %w", err)
		}
	}
	if leaveWritten {
		written, err := auditIDsPresent(ctx, tx, s.rebind, entries)
		if err != nil {
			return false, err
		}
		entries = slices.DeleteFunc(slices.Clone(entries), func(e AuditEntry) bool { return written[e.EventID] })
		if len(entries) == 0 {
			return true, nil // all written before
		}
	}
	seq, prev := int64(0), genesisHash
	err = tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1`).Scan(&seq, &prev)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return false, fmt.Errorf("store: append audit: last row: %w", err)
	}
	values := make([]string, len(entries))
	args := make([]any, 0, 6*len(entries))
	for i, e := range entries {
		seq++
		createdUS := e.Created.UnixMicro()
		hash := chainHash(prev, seq, createdUS, e.EventID, e.Event)
		values[i] = "(?, ?, ?, ?, ?, ?)"
		args = append(args, seq, e.EventID, createdUS, string(e.Event), prev, hash)
		prev = hash
	}
	res, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO audit_events (seq, event_id, created_us, event, prev_hash, hash) VALUES `+
		strings.Join(values, ", ")+` ON CONFLICT (event_id) DO NOTHING`), args...)
	if err != nil {
		return false, fmt.Errorf("store: append audit: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n != int64(len(entries)) {
		return false, nil // one was written before: the chain would have a gap; rolled back
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("store: append audit: commit: %w", err)
	}
	return true, nil
}

// auditIDsPresent gives which of the entries' event ids the trail already holds.
func auditIDsPresent(ctx context.Context, tx *sql.Tx, rebind func(string) string, entries []AuditEntry) (map[string]bool, error) {
	marks := make([]string, len(entries))
	args := make([]any, len(entries))
	for i, e := range entries {
		marks[i], args[i] = "?", e.EventID
	}
	rows, err := tx.QueryContext(ctx, rebind(`SELECT event_id FROM audit_events WHERE event_id IN (`+strings.Join(marks, ", ")+`)`), args...)
	if err != nil {
		return nil, fmt.Errorf("store: append audit: %w", err)
	}
	defer rows.Close()
	present := make(map[string]bool, len(entries))
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("store: append audit: %w", err)
		}
		present[id] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: append audit: %w", err)
	}
	return present, nil
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
