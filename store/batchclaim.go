package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// BatchClaim is one patient of a batch that a worker holds until its lease ends.
type BatchClaim struct {
	BatchID   string
	Pos       int
	PatientID string
}

// BatchOutcome is a patient's end: its verdict and document, or the reason it could not
// be screened.
type BatchOutcome struct {
	Verdict  string
	Document []byte
	Reason   string
}

// ClaimBatchPatient gives worker the next patient no one holds, of the oldest batch not
// final, for lease; false when there is none. A patient whose holder's lease ran out is
// claimable again: a replica that died loses its patients to the others. On PostgreSQL
// the row is locked FOR UPDATE SKIP LOCKED, so that replicas claiming at once take
// different patients; on SQLite the transaction holds the one write lock.
func (s *Store) ClaimBatchPatient(ctx context.Context, worker string, lease time.Duration) (BatchClaim, bool, error) {
	var c BatchClaim
	found := false
	now := s.now()
	lock := ""
	if s.backend == BackendPostgres {
		lock = " FOR UPDATE OF p SKIP LOCKED"
	}
	err := s.txWrite(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, s.rebind(`SELECT p.batch_id, p.pos, p.patient_id
			FROM batches b JOIN batch_patients p ON p.batch_id = b.id
			WHERE b.state IN ('queued', 'running') AND p.done = 0 AND p.lease_us < ?
			ORDER BY b.created_us, b.id, p.pos LIMIT 1`+lock), now.UnixMicro()).Scan(&c.BatchID, &c.Pos, &c.PatientID)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.rebind(`UPDATE batch_patients SET claimed_by = ?, lease_us = ?
			WHERE batch_id = ? AND pos = ?`), worker, now.Add(lease).UnixMicro(), c.BatchID, c.Pos); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.rebind(`UPDATE batches SET state = ?, started_us = ?
			WHERE id = ? AND state = ?`), BatchRunning, now.UnixMicro(), c.BatchID, BatchQueued); err != nil {
			return err
		}
		found = true
		return nil
	})
	if err != nil {
		return c, false, fmt.Errorf("store: claim batch patient: %w", err)
	}
	return c, found, nil
}

// RenewBatchLeases extends the leases of every patient worker holds and has not
// finished: a worker alive keeps its patients however long their fetches take.
func (s *Store) RenewBatchLeases(ctx context.Context, worker string, lease time.Duration) error {
	_, err := s.db.ExecContext(ctx, s.rebind(`UPDATE batch_patients SET lease_us = ?
		WHERE claimed_by = ? AND done = 0`), s.now().Add(lease).UnixMicro(), worker)
	if err != nil {
		return fmt.Errorf("store: renew batch leases: %w", err)
	}
	return nil
}

// ErrLeaseLost is FinishBatchPatient's answer when worker no longer holds the patient
// (its lease ran out and another took it): the other's result counts, not this one.
var ErrLeaseLost = errors.New("store: the batch patient's lease was lost to another worker")

// FinishBatchPatient records c's outcome, and marks the batch done when it was its last
// patient. On PostgreSQL the batch's row is locked first, so that of two workers
// finishing its last two patients at once the second sees the first's row.
func (s *Store) FinishBatchPatient(ctx context.Context, worker string, c BatchClaim, o BatchOutcome) error {
	now := s.now()
	var doc any
	if o.Document != nil {
		doc = o.Document
	}
	err := s.txWrite(ctx, func(tx *sql.Tx) error {
		if s.backend == BackendPostgres {
			if _, err := tx.ExecContext(ctx, `SELECT 1 FROM batches WHERE id = $1 FOR UPDATE`, c.BatchID); err != nil {
				return err
			}
		}
		res, err := tx.ExecContext(ctx, s.rebind(`UPDATE batch_patients SET done = 1, verdict = ?, reason = ?, document = ?,
			claimed_by = '' WHERE batch_id = ? AND pos = ? AND claimed_by = ? AND done = 0`),
			o.Verdict, o.Reason, doc, c.BatchID, c.Pos, worker)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			if err == nil {
				err = ErrLeaseLost
			}
			return err
		}
		_, err = tx.ExecContext(ctx, s.rebind(`UPDATE batches SET state = ?, finished_us = ?
			WHERE id = ? AND state = ? AND NOT EXISTS (SELECT 1 FROM batch_patients WHERE batch_id = ? AND done = 0)`),
			BatchDone, now.UnixMicro(), c.BatchID, BatchRunning, c.BatchID)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: finish batch patient: %w", err)
	}
	return nil
}

// ReleaseBatchClaims gives up worker's unfinished patients at once, for a replica that
// shuts down cleanly: the others need not wait for its leases to end.
func (s *Store) ReleaseBatchClaims(ctx context.Context, worker string) error {
	_, err := s.db.ExecContext(ctx, s.rebind(`UPDATE batch_patients SET claimed_by = '', lease_us = 0
		WHERE claimed_by = ? AND done = 0`), worker)
	if err != nil {
		return fmt.Errorf("store: release batch claims: %w", err)
	}
	return nil
}
