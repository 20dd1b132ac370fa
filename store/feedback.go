package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Feedback is what an EHR reported a clinician did with a CDS Hooks card: accepted or
// overridden, with the override reasons, stored against the screening the card was made
// from.
type Feedback struct {
	ScreeningID string // set by SaveFeedback from the card's uuid
	CardUUID    string
	Client      string // the EHR (its JWT issuer): only the EHR a card was made for gives feedback on it
	Outcome     string // accepted, overridden (the api checks the set)
	Reasons     []OverrideReason
	OutcomeAt   time.Time // the EHR's outcomeTimestamp
	ReceivedAt  time.Time
}

// OverrideReason is one reason a card was overridden: a coding and the user's comment.
type OverrideReason struct {
	System  string `json:"system,omitempty"`
	Code    string `json:"code,omitempty"`
	Display string `json:"display,omitempty"`
	Comment string `json:"comment,omitempty"`
}

// UnknownCardError is SaveFeedback's answer for a card no stored screening of that
// client was made with: Index says which of the feedback given.
type UnknownCardError struct{ Index int }

func (e *UnknownCardError) Error() string {
	return fmt.Sprintf("store: feedback %d: no stored screening of this client has the card", e.Index)
}

// SaveFeedback stores feedback on cards, all or none (one transaction), each against the
// screening its card was made from. It returns those screenings' ids, in order; an
// *UnknownCardError when a card is not one of the client's stored screenings, a
// *FeedbackFullError when a card would hold more than MaxFeedbackPerCard records.
func (s *Store) SaveFeedback(ctx context.Context, fbs []Feedback) ([]string, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("store: save feedback: %w", err)
	}
	defer func() { _ = tx.Rollback() }() // after Commit, a no-op
	ids := make([]string, len(fbs))
	for i, fb := range fbs {
		reasons := []byte("[]")
		if len(fb.Reasons) > 0 {
			reasons, _ = json.Marshal(fb.Reasons) // strings only: it does not fail
		}
		// One statement finds the card's screening and stores the feedback against it;
		// a card of another client finds nothing, like an unknown one.
		err := tx.QueryRowContext(ctx, s.rebind(`INSERT INTO cds_feedback
			(screening_id, card_uuid, client, outcome, reasons, outcome_us, received_us)
			SELECT id, ?, ?, ?, ?, ?, ? FROM screenings WHERE card_uuid = ? AND caller_id = ? LIMIT 1
			RETURNING screening_id`),
			fb.CardUUID, fb.Client, fb.Outcome, string(reasons), fb.OutcomeAt.UnixMicro(), fb.ReceivedAt.UnixMicro(),
			fb.CardUUID, fb.Client).Scan(&ids[i])
		if errors.Is(err, sql.ErrNoRows) {
			return nil, &UnknownCardError{Index: i}
		}
		if err != nil {
			return nil, fmt.Errorf("store: save feedback: %w", err)
		}
	}
	if err := s.checkFeedbackCap(ctx, tx, ids); err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("store: save feedback: %w", err)
	}
	return ids, nil
}

// FeedbackFor gives the feedback on a screening's card, oldest first.
func (s *Store) FeedbackFor(ctx context.Context, screeningID string) ([]Feedback, error) {
	rows, err := s.db.QueryContext(ctx, s.rebind(`SELECT screening_id, card_uuid, client, outcome, reasons, outcome_us, received_us
		FROM cds_feedback WHERE screening_id = ? ORDER BY seq`), screeningID)
	if err != nil {
		return nil, fmt.Errorf("store: feedback: %w", err)
	}
	defer rows.Close()
	var out []Feedback
	for rows.Next() {
		var fb Feedback
		var reasons string
		var outcome, received int64
		if err := rows.Scan(&fb.ScreeningID, &fb.CardUUID, &fb.Client, &fb.Outcome, &reasons, &outcome, &received); err != nil {
			return nil, fmt.Errorf("store: feedback: %w", err)
		}
		if err := json.Unmarshal([]byte(reasons), &fb.Reasons); err != nil {
			return nil, fmt.Errorf("store: feedback: reasons: %w", err)
		}
		if len(fb.Reasons) == 0 {
			fb.Reasons = nil // none, as given
		}
		fb.OutcomeAt, fb.ReceivedAt = time.UnixMicro(outcome).UTC(), time.UnixMicro(received).UTC()
		out = append(out, fb)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: feedback: %w", err)
	}
	return out, nil
}
