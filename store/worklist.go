package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// The worklist is one row per screened patient with their latest screening (the
// patient_worklist table, which a trigger on screenings keeps: migration 00007). It is
// what a coordinator works from: who is potentially eligible, since when, and who waits
// for which data.

// Verdicts the worklist's filters name (the screening contract's).
const (
	VerdictPotentiallyEligible = "potentially-eligible"
	VerdictInsufficientData    = "insufficient-data"
	VerdictIneligible          = "ineligible"
)

// WorklistQuery selects a page of the worklist. Filters combine (all must hold); zero
// values do not filter.
type WorklistQuery struct {
	Verdict       string    // the latest verdict
	EligibleSince time.Time // potentially eligible, the current run having begun at or after this
	WaitsForData  bool      // the latest verdict is insufficient-data
	Search        string    // a prefix of the patient id, or of the name (case as lower() folds it)
	Cursor        string    // WorklistPage.Next of the previous page; "": the first
	Limit         int       // 1 to MaxPageSize
}

// WorklistEntry is a patient on the worklist.
type WorklistEntry struct {
	PatientID       string
	Name            string // patient data: never logged
	Gender          string
	BirthDate       string
	ScreeningID     string // the latest screening
	Created         time.Time
	Verdict         string
	Surface         string
	ToObtain        []ObtainItem
	ReviewCount     int
	EligibleSince   time.Time // zero unless the latest verdict is potentially-eligible
	PreviousVerdict string    // the verdict of the screening before the latest; "": none
}

// WorklistPage is a page of the worklist, newest screening first; Next is the cursor of
// the following page, "" at the end.
type WorklistPage struct {
	Items []WorklistEntry
	Next  string
}

// prefixEnd is appended to a prefix to bound its range: no UTF-8 text sorts above it
// byte-wise, so [p, p+prefixEnd) holds exactly the strings that start with p.
const prefixEnd = "\U0010FFFF"

// Worklist gives a page of the worklist, newest latest screening first (then patient id),
// paged by a keyset cursor like ListByPatient's, so that screenings saved while a
// coordinator pages never shift what the next page holds (a patient screened again
// moves to the top, and is not shown twice on later pages).
func (s *Store) Worklist(ctx context.Context, q WorklistQuery) (WorklistPage, error) {
	if q.Limit < 1 || q.Limit > MaxPageSize {
		return WorklistPage{}, fmt.Errorf("store: worklist: limit %d is not 1 to %d", q.Limit, MaxPageSize)
	}
	where, args := "TRUE", []any{}
	add := func(cond string, a ...any) { where += " AND " + cond; args = append(args, a...) }
	if q.Verdict != "" {
		add("verdict = ?", q.Verdict)
	}
	if q.WaitsForData {
		add("verdict = ?", VerdictInsufficientData)
	}
	if !q.EligibleSince.IsZero() {
		// Bounded by created_us too (a run begins at or before its latest screening), so
		// that the verdict index is read from the newest down to the date, no further.
		since := q.EligibleSince.UnixMicro()
		add("verdict = ? AND created_us >= ? AND eligible_since_us >= ?", VerdictPotentiallyEligible, since, since)
	}
	if q.Search != "" {
		cond, a, err := s.searchCond(ctx, q.Search)
		if err != nil {
			return WorklistPage{}, err
		}
		add(cond, a...)
	}
	if q.Cursor != "" {
		c, err := parseCursor(q.Cursor)
		if err != nil {
			return WorklistPage{}, err
		}
		add("(created_us < ? OR (created_us = ? AND patient_id < ?))", c.createdUS, c.createdUS, c.id)
	}
	rows, err := s.db.QueryContext(ctx, s.rebind(`SELECT patient_id, name, gender, birth_date, screening_id, created_us,
		verdict, surface, to_obtain, review_count, eligible_since_us, previous_verdict
		FROM patient_worklist WHERE `+where+` ORDER BY created_us DESC, patient_id DESC LIMIT ?`), append(args, q.Limit+1)...)
	if err != nil {
		return WorklistPage{}, fmt.Errorf("store: worklist: %w", err)
	}
	defer rows.Close()
	var page WorklistPage
	var last cursorPos
	for rows.Next() {
		var e WorklistEntry
		var created int64
		var since sql.NullInt64
		var toObtain string
		if err := rows.Scan(&e.PatientID, &e.Name, &e.Gender, &e.BirthDate, &e.ScreeningID, &created,
			&e.Verdict, &e.Surface, &toObtain, &e.ReviewCount, &since, &e.PreviousVerdict); err != nil {
			return WorklistPage{}, fmt.Errorf("store: worklist: %w", err)
		}
		if len(page.Items) == q.Limit {
			page.Next = last.String()
			break
		}
		if e.ToObtain, err = unmarshalObtain(toObtain); err != nil {
			return WorklistPage{}, fmt.Errorf("store: worklist: to obtain: %w", err)
		}
		e.Created = time.UnixMicro(created).UTC()
		if since.Valid {
			e.EligibleSince = time.UnixMicro(since.Int64).UTC()
		}
		page.Items = append(page.Items, e)
		last = cursorPos{createdUS: created, id: e.PatientID}
	}
	if err := rows.Err(); err != nil {
		return WorklistPage{}, fmt.Errorf("store: worklist: %w", err)
	}
	return page, nil
}

// marshalObtain is the compact JSON the to_obtain columns hold: never null.
func marshalObtain(items []ObtainItem) (string, error) {
	if len(items) == 0 {
		return "[]", nil
	}
	b, err := json.Marshal(items)
	return string(b), err
}

// unmarshalObtain reads a to_obtain column: nil for none.
func unmarshalObtain(s string) ([]ObtainItem, error) {
	var items []ObtainItem
	if err := json.Unmarshal([]byte(s), &items); err != nil {
		return nil, errors.New("not a JSON list of criteria to obtain")
	}
	if len(items) == 0 {
		return nil, nil
	}
	return items, nil
}
