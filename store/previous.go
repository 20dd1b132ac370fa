package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// PreviousQuery names a stored screening and the screenings it may be compared with: the
// same patient id means the same patient only within one record source, so the caller
// says which surfaces (and, for an EHR's, which caller) share the screening's source.
type PreviousQuery struct {
	Of       Screening // its PatientID, Created and ID
	Surfaces []string  // the surfaces of the same record source; none: any
	CallerID string    // "": any caller
}

// Previous gives the newest screening stored before q.Of (by created, then id: the order
// of ListByPatient) for the same patient and source; ErrNotFound when there is none.
func (s *Store) Previous(ctx context.Context, q PreviousQuery) (Screening, error) {
	created := q.Of.Created.UnixMicro()
	query := `SELECT id FROM screenings WHERE patient_id = ? AND (created_us < ? OR (created_us = ? AND id < ?))`
	args := []any{q.Of.PatientID, created, created, q.Of.ID}
	if len(q.Surfaces) > 0 {
		query += ` AND surface IN (?` + strings.Repeat(", ?", len(q.Surfaces)-1) + `)`
		for _, sf := range q.Surfaces {
			args = append(args, sf)
		}
	}
	if q.CallerID != "" {
		query += ` AND caller_id = ?`
		args = append(args, q.CallerID)
	}
	query += ` ORDER BY created_us DESC, id DESC LIMIT 1`
	var id string
	err := s.db.QueryRowContext(ctx, s.rebind(query), args...).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return Screening{}, ErrNotFound
	}
	if err != nil {
		return Screening{}, fmt.Errorf("store: previous screening: %w", err)
	}
	return s.Get(ctx, id)
}
