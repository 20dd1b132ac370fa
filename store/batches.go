package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Batch states, as the REST API names them. queued and running are not final.
const (
	BatchQueued    = "queued"
	BatchRunning   = "running"
	BatchDone      = "done"
	BatchCancelled = "cancelled"
)

// BatchJob is a new batch: who asked, for which patients (in the order their results
// are served), with which settings.
type BatchJob struct {
	ID, CallerID, CallerUser, Address string
	AsOf, LymphodepletionDate         string // as the settings were given; opaque here
	PatientIDs                        []string
	Created                           time.Time
}

// BatchInfo is a batch's state and progress, counted from its patients' rows.
type BatchInfo struct {
	BatchJob
	State             string
	Error             string
	Started, Finished time.Time // zero until then
	Total, Screened   int
	Failed            map[string]int // patients not screened, by reason
	Verdicts          map[string]int // screened patients, by verdict
}

// Final reports whether the batch's state will not change any more.
func (b BatchInfo) Final() bool { return b.State == BatchDone || b.State == BatchCancelled }

// BatchLimitError is CreateBatch's refusal: Scope ("caller" or "service") already holds
// Count unfinished batches, and Limit is the most it may.
type BatchLimitError struct {
	Scope        string
	Count, Limit int
}

func (e *BatchLimitError) Error() string {
	return fmt.Sprintf("store: %s holds %d unfinished batches (limit %d)", e.Scope, e.Count, e.Limit)
}

// txWrite is a write transaction that takes the write lock at its start on SQLite
// (BEGIN IMMEDIATE: no upgrade deadlock between replicas' processes) and is READ
// COMMITTED on PostgreSQL, where the statements lock what they need.
func (s *Store) txWrite(ctx context.Context, fn func(tx *sql.Tx) error) error {
	opts := &sql.TxOptions{Isolation: sql.LevelSerializable} // SQLite: BEGIN IMMEDIATE
	if s.backend == BackendPostgres {
		opts = nil
	}
	tx, err := s.db.BeginTx(ctx, opts)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// batchCreateLockKey is the PostgreSQL advisory lock that makes batch creations take
// turns, so that the limits are counted against what the other replicas created.
const batchCreateLockKey = 0x6261746368 // "batch"

// CreateBatch stores a queued batch. A scope at its limit first gives up its oldest
// finished batch; with none finished, the batch is refused with a *BatchLimitError.
func (s *Store) CreateBatch(ctx context.Context, j BatchJob, perCaller, total int) error {
	if j.ID == "" || len(j.PatientIDs) == 0 {
		return errors.New("store: create batch: id and patients are required")
	}
	err := s.txWrite(ctx, func(tx *sql.Tx) error {
		if s.backend == BackendPostgres {
			// Counting, then inserting, under READ COMMITTED lets two replicas both see
			// room for one more: creations take turns (they are rare; SQLite's one
			// writer does the same).
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(batchCreateLockKey)); err != nil {
				return err
			}
		}
		if err := s.makeRoom(ctx, tx, "caller", `caller_id = ?`, []any{j.CallerID}, perCaller); err != nil {
			return err
		}
		if err := s.makeRoom(ctx, tx, "service", `1 = 1`, nil, total); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO batches
			(id, caller_id, caller_user, address, as_of, lympho_date, state, created_us) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
			j.ID, j.CallerID, j.CallerUser, j.Address, j.AsOf, j.LymphodepletionDate, BatchQueued, j.Created.UnixMicro()); err != nil {
			return err
		}
		return s.insertPatients(ctx, tx, j.ID, j.PatientIDs)
	})
	var le *BatchLimitError
	if err != nil && !errors.As(err, &le) {
		return fmt.Errorf("store: create batch: %w", err)
	}
	return err
}

// insertPatients adds the patient rows, many to a statement (10,000 single inserts
// would take seconds).
func (s *Store) insertPatients(ctx context.Context, tx *sql.Tx, id string, ids []string) error {
	const chunk = 200 // 600 parameters: under both backends' limits
	for from := 0; from < len(ids); from += chunk {
		to := min(from+chunk, len(ids))
		q := `INSERT INTO batch_patients (batch_id, pos, patient_id) VALUES `
		args := make([]any, 0, 3*(to-from))
		for i := from; i < to; i++ {
			if i > from {
				q += ", "
			}
			q += "(?, ?, ?)"
			args = append(args, id, i, ids[i])
		}
		if _, err := tx.ExecContext(ctx, s.rebind(q), args...); err != nil {
			return err
		}
	}
	return nil
}

// makeRoom deletes the oldest finished batch among those matching where when they are
// limit or more, and refuses when none of them is finished.
func (s *Store) makeRoom(ctx context.Context, tx *sql.Tx, scope, where string, args []any, limit int) error {
	var n int
	if err := tx.QueryRowContext(ctx, s.rebind(`SELECT COUNT(*) FROM batches WHERE `+where), args...).Scan(&n); err != nil {
		return err
	}
	if n < limit {
		return nil
	}
	var oldest string
	err := tx.QueryRowContext(ctx, s.rebind(`SELECT id FROM batches WHERE `+where+` AND state IN ('done', 'cancelled')
		ORDER BY finished_us, created_us LIMIT 1`), args...).Scan(&oldest)
	if errors.Is(err, sql.ErrNoRows) {
		return &BatchLimitError{Scope: scope, Count: n, Limit: limit}
	}
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, s.rebind(`DELETE FROM batches WHERE id = ?`), oldest)
	return err
}

// Batch is the batch id's state and progress; ErrNotFound when the store has none.
func (s *Store) Batch(ctx context.Context, id string) (BatchInfo, error) {
	var b BatchInfo
	var created, started, finished int64
	err := s.db.QueryRowContext(ctx, s.rebind(`SELECT id, caller_id, caller_user, address, as_of, lympho_date, state, error,
		created_us, started_us, finished_us FROM batches WHERE id = ?`), id).Scan(&b.ID, &b.CallerID, &b.CallerUser,
		&b.Address, &b.AsOf, &b.LymphodepletionDate, &b.State, &b.Error, &created, &started, &finished)
	if errors.Is(err, sql.ErrNoRows) {
		return b, ErrNotFound
	}
	if err != nil {
		return b, fmt.Errorf("store: batch: %w", err)
	}
	b.Created, b.Started, b.Finished = fromMicros(created), fromMicros(started), fromMicros(finished)
	b.Failed, b.Verdicts = map[string]int{}, map[string]int{}
	rows, err := s.db.QueryContext(ctx, s.rebind(`SELECT done, verdict, reason, COUNT(*) FROM batch_patients
		WHERE batch_id = ? GROUP BY done, verdict, reason`), id)
	if err != nil {
		return b, fmt.Errorf("store: batch progress: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var done, n int
		var verdict, reason string
		if err := rows.Scan(&done, &verdict, &reason, &n); err != nil {
			return b, fmt.Errorf("store: batch progress: %w", err)
		}
		b.Total += n
		switch {
		case done == 0:
		case verdict != "":
			b.Screened += n
			b.Verdicts[verdict] += n
		default:
			b.Failed[reason] += n
		}
	}
	if err := rows.Err(); err != nil {
		return b, fmt.Errorf("store: batch progress: %w", err)
	}
	return b, nil
}

// fromMicros reads a stored instant; 0 is "not yet" (the zero time).
func fromMicros(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return time.UnixMicro(us).UTC()
}

// CancelBatch makes a queued or running batch cancelled; false when it was final
// already (or is gone). Replicas working on its patients finish those and claim no more.
func (s *Store) CancelBatch(ctx context.Context, id, why string, now time.Time) (bool, error) {
	res, err := s.db.ExecContext(ctx, s.rebind(`UPDATE batches SET state = ?, error = ?, finished_us = ?
		WHERE id = ? AND state IN ('queued', 'running')`), BatchCancelled, why, now.UnixMicro(), id)
	if err != nil {
		return false, fmt.Errorf("store: cancel batch: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: cancel batch: %w", err)
	}
	return n == 1, nil
}

// DeleteBatch forgets a batch and its results.
func (s *Store) DeleteBatch(ctx context.Context, id string) error {
	if _, err := s.db.ExecContext(ctx, s.rebind(`DELETE FROM batches WHERE id = ?`), id); err != nil {
		return fmt.Errorf("store: delete batch: %w", err)
	}
	return nil
}

// PruneBatches deletes the batches that finished before before.
func (s *Store) PruneBatches(ctx context.Context, before time.Time) error {
	_, err := s.db.ExecContext(ctx, s.rebind(`DELETE FROM batches WHERE state IN ('done', 'cancelled')
		AND finished_us < ?`), before.UnixMicro())
	if err != nil {
		return fmt.Errorf("store: prune batches: %w", err)
	}
	return nil
}

// EachBatchResult gives the batch's verdict documents in patient order (the patients
// not screened have none).
func (s *Store) EachBatchResult(ctx context.Context, id string, fn func(doc []byte) error) error {
	rows, err := s.db.QueryContext(ctx, s.rebind(`SELECT document FROM batch_patients
		WHERE batch_id = ? AND done = 1 AND document IS NOT NULL ORDER BY pos`), id)
	if err != nil {
		return fmt.Errorf("store: batch results: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var doc []byte
		if err := rows.Scan(&doc); err != nil {
			return fmt.Errorf("store: batch results: %w", err)
		}
		if err := fn(doc); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: batch results: %w", err)
	}
	return nil
}
