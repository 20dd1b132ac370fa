package store

import (
	"context"
	"database/sql"
	"fmt"
)

// MaxFeedbackPerCard is the most feedback records kept on one card. An EHR reports what
// a clinician did with a card once, or a few times if the clinician changes their mind;
// every record is read and shown with the card's report, so a client posting in a loop
// would otherwise make each report read cost more without end.
const MaxFeedbackPerCard = 100

// FeedbackFullError is SaveFeedback's answer when a card would hold more than
// MaxFeedbackPerCard records: Index says which of the feedback given.
type FeedbackFullError struct{ Index int }

func (e *FeedbackFullError) Error() string {
	return fmt.Sprintf("store: feedback %d: the card has %d feedback records already; no more are kept", e.Index, MaxFeedbackPerCard)
}

// checkFeedbackCap counts, inside SaveFeedback's transaction and after its inserts, the
// records of each screening written to (ids, in the order given). Two transactions
// committing at once may each pass and leave a card a request's worth over the cap: a
// bound on cost, not an exact count.
func (s *Store) checkFeedbackCap(ctx context.Context, tx *sql.Tx, ids []string) error {
	seen := map[string]bool{}
	for i, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		var n int
		if err := tx.QueryRowContext(ctx, s.rebind(`SELECT COUNT(*) FROM cds_feedback WHERE screening_id = ?`), id).Scan(&n); err != nil {
			return fmt.Errorf("store: save feedback: %w", err)
		}
		if n > MaxFeedbackPerCard {
			return &FeedbackFullError{Index: i}
		}
	}
	return nil
}
