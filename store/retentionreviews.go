package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Retention of review data. Decisions hold a coordinator's note and feedback a
// clinician's comment: free text about a patient, which must not outlive the retention
// period just because it is kept in another table than the screenings.
//
//   - Feedback is shown only on the report of the screening its card came from: it goes
//     with that screening.
//   - A decision is shown on every later screening of its patient, so it stays while the
//     patient has any screening left (a 100-day-old decision on a patient screened
//     yesterday is still the current one). Once none is left and the decision is older
//     than the cutoff, nothing shows it any more: it goes. A newer decision (made on a
//     screening that was then already old) waits until it is older than the cutoff too.

// deleteFeedbackBefore deletes the feedback on the screenings DeleteScreeningsBefore is
// about to delete (so it runs first, in its transaction), and any received before the
// cutoff: its card's screening was made before that, so it is gone too (feedback left
// behind by the retention runs of versions that kept it).
func (s *Store) deleteFeedbackBefore(ctx context.Context, tx *sql.Tx, cutoff time.Time) error {
	_, err := tx.ExecContext(ctx, s.rebind(`DELETE FROM cds_feedback
		WHERE screening_id IN (SELECT id FROM screenings WHERE created_us < ?) OR received_us < ?`),
		cutoff.UnixMicro(), cutoff.UnixMicro())
	if err != nil {
		return fmt.Errorf("store: delete old screenings: feedback: %w", err)
	}
	return nil
}

// deleteOrphanDecisionsBefore deletes the decisions older than cutoff of patients with
// no screening left (so it runs after the screenings' delete, in its transaction).
func (s *Store) deleteOrphanDecisionsBefore(ctx context.Context, tx *sql.Tx, cutoff time.Time) error {
	_, err := tx.ExecContext(ctx, s.rebind(`DELETE FROM review_decisions
		WHERE decided_us < ? AND NOT EXISTS (SELECT 1 FROM screenings s WHERE s.patient_id = review_decisions.patient_id)`),
		cutoff.UnixMicro())
	if err != nil {
		return fmt.Errorf("store: delete old screenings: review decisions: %w", err)
	}
	return nil
}
