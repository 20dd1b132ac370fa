package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Screening is one stored screening: the verdict document as answered, with the facts a
// listing, a search or a later comparison need.
type Screening struct {
	ID                  string // random, URL-safe (NewID)
	PatientID           string
	Created             time.Time
	Surface             string // rest, cds-hooks, report
	CallerID            string
	ProtocolID          string
	ProtocolVersion     string
	AsOf                time.Time
	LymphodepletionDate string // YYYY-MM-DD, or ""
	Verdict             string
	Document            []byte // the verdict document (JSON), screening_id included
	Evidence            []EvidenceRef
	// CardUUID is the uuid of the CDS Hooks card made from this screening ("" for the
	// other surfaces): feedback on the card names only it.
	CardUUID string

	// What the worklist shows of the patient and the verdict (worklist.go), kept beside
	// the document so that the database keeps the worklist without parsing it. Patient
	// data: never logged.
	PatientName      string
	PatientGender    string
	PatientBirthDate string
	ToObtain         []ObtainItem // the verdict's to_obtain, criterion and what only
	ReviewCount      int          // how many review items the verdict lists
}

// ObtainItem is a datum the verdict asks for: the criterion and what to obtain.
type ObtainItem struct {
	Criterion string `json:"criterion"`
	What      string `json:"what"`
}

// EvidenceRef is a resource a screening's evidence names ("Observation/123"), with its
// meta.versionId and meta.lastUpdated when the record gave them ("" otherwise).
type EvidenceRef struct {
	Resource    string
	VersionID   string
	LastUpdated string
}

// Summary is a screening as a patient's list shows it.
type Summary struct {
	ID      string
	Created time.Time
	Verdict string
	Surface string
}

// Page is one page of a patient's screenings, newest first; Next is the cursor of the
// following page, "" at the end.
type Page struct {
	Items []Summary
	Next  string
}

// MaxPageSize bounds ListByPatient's limit.
const MaxPageSize = 100

// evidenceJSON is an EvidenceRef as the evidence column holds it.
type evidenceJSON struct {
	Resource    string `json:"resource"`
	VersionID   string `json:"version_id,omitempty"`
	LastUpdated string `json:"last_updated,omitempty"`
}

// Save stores a screening: one INSERT, so one round trip to PostgreSQL. A trigger on the
// table keeps the patient's worklist row (worklist.go) in the same statement.
func (s *Store) Save(ctx context.Context, sc Screening) error {
	args, err := saveArgs(sc)
	if err != nil {
		return err
	}
	stmt, err := s.saveStatement(ctx)
	if err != nil {
		return fmt.Errorf("store: save screening: %w", err)
	}
	if _, err = stmt.ExecContext(ctx, args...); err != nil {
		return fmt.Errorf("store: save screening: %w", err)
	}
	return nil
}

// saveSQL is Save's statement (SaveReadingDecisions wraps it on PostgreSQL). Its trigger
// (migration 00007) makes it a large program to compile: SQLite compiles the trigger into
// every statement that fires it, which took longer than the write itself, so Save
// prepares it once (saveStatement).
const saveSQL = `INSERT INTO screenings
	(id, patient_id, created_us, surface, caller_id, protocol_id, protocol_version, as_of_us, lymphodepletion_date, verdict, document, evidence,
	 card_uuid, patient_name, patient_gender, patient_birth_date, to_obtain, review_count)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// saveArgs are saveSQL's arguments for sc.
func saveArgs(sc Screening) ([]any, error) {
	if sc.ID == "" || sc.PatientID == "" {
		return nil, errors.New("store: save screening: id and patient id are required")
	}
	evidence, err := evidenceColumn(sc.Evidence)
	if err != nil {
		return nil, fmt.Errorf("store: save screening: %w", err)
	}
	toObtain, err := marshalObtain(sc.ToObtain)
	if err != nil {
		return nil, fmt.Errorf("store: save screening: to obtain: %w", err)
	}
	return []any{sc.ID, sc.PatientID, sc.Created.UnixMicro(), sc.Surface, sc.CallerID, sc.ProtocolID,
		sc.ProtocolVersion, sc.AsOf.UnixMicro(), sc.LymphodepletionDate, sc.Verdict, string(sc.Document), evidence,
		sc.CardUUID, sc.PatientName, sc.PatientGender, sc.PatientBirthDate, toObtain, sc.ReviewCount}, nil
}

// saveStatement is Save's prepared statement, prepared on first use (database/sql then
// prepares it on each connection as it needs it). A failed prepare is tried again next
// time: the database may be back.
func (s *Store) saveStatement(ctx context.Context) (*sql.Stmt, error) {
	s.saveMu.Lock()
	defer s.saveMu.Unlock()
	if s.save == nil {
		stmt, err := s.screeningsDB.PrepareContext(ctx, s.rebind(saveSQL))
		if err != nil {
			return nil, err
		}
		s.save = stmt
	}
	return s.save, nil
}

// uniqueRefs keeps the first reference to each resource, in order: a resource often
// decides several criteria.
func uniqueRefs(refs []EvidenceRef) []EvidenceRef {
	seen := make(map[string]bool, len(refs))
	out := make([]EvidenceRef, 0, len(refs))
	for _, r := range refs {
		if r.Resource == "" || seen[r.Resource] {
			continue
		}
		seen[r.Resource] = true
		out = append(out, r)
	}
	return out
}

// Get reads a stored screening by id; ErrNotFound when there is none.
func (s *Store) Get(ctx context.Context, id string) (Screening, error) {
	var sc Screening
	var created, asOf int64
	var doc, evidence, toObtain string
	err := s.db.QueryRowContext(ctx, s.rebind(`SELECT id, patient_id, created_us, surface, caller_id, protocol_id,
		protocol_version, as_of_us, lymphodepletion_date, verdict, document, evidence, card_uuid,
		patient_name, patient_gender, patient_birth_date, to_obtain, review_count FROM screenings WHERE id = ?`), id).
		Scan(&sc.ID, &sc.PatientID, &created, &sc.Surface, &sc.CallerID, &sc.ProtocolID, &sc.ProtocolVersion,
			&asOf, &sc.LymphodepletionDate, &sc.Verdict, &doc, &evidence, &sc.CardUUID,
			&sc.PatientName, &sc.PatientGender, &sc.PatientBirthDate, &toObtain, &sc.ReviewCount)
	if errors.Is(err, sql.ErrNoRows) {
		return Screening{}, ErrNotFound
	}
	if err != nil {
		return Screening{}, fmt.Errorf("store: get screening: %w", err)
	}
	sc.Created, sc.AsOf, sc.Document = time.UnixMicro(created).UTC(), time.UnixMicro(asOf).UTC(), []byte(doc)
	if sc.Evidence, err = parseEvidenceColumn(evidence); err != nil {
		return Screening{}, fmt.Errorf("store: get screening: %w", err)
	}
	if sc.ToObtain, err = unmarshalObtain(toObtain); err != nil {
		return Screening{}, fmt.Errorf("store: get screening: to obtain: %w", err)
	}
	return sc, nil
}

// ListByPatient gives a patient's screenings, newest first, limit at a time (1 to
// MaxPageSize), from the page a cursor (Page.Next) names; "" is the first page.
func (s *Store) ListByPatient(ctx context.Context, patientID, cursor string, limit int) (Page, error) {
	if limit < 1 || limit > MaxPageSize {
		return Page{}, fmt.Errorf("store: list screenings: limit %d is not 1 to %d", limit, MaxPageSize)
	}
	q := `SELECT id, created_us, verdict, surface FROM screenings WHERE patient_id = ?`
	args := []any{patientID}
	if cursor != "" {
		c, err := parseCursor(cursor)
		if err != nil {
			return Page{}, err
		}
		q += ` AND (created_us < ? OR (created_us = ? AND id < ?))`
		args = append(args, c.createdUS, c.createdUS, c.id)
	}
	q += ` ORDER BY created_us DESC, id DESC LIMIT ?`
	args = append(args, limit+1) // one more tells whether a next page exists
	rows, err := s.db.QueryContext(ctx, s.rebind(q), args...)
	if err != nil {
		return Page{}, fmt.Errorf("store: list screenings: %w", err)
	}
	defer rows.Close()
	var page Page
	var last cursorPos
	for rows.Next() {
		var it Summary
		var created int64
		if err := rows.Scan(&it.ID, &created, &it.Verdict, &it.Surface); err != nil {
			return Page{}, fmt.Errorf("store: list screenings: %w", err)
		}
		if len(page.Items) == limit {
			page.Next = last.String()
			break
		}
		it.Created = time.UnixMicro(created).UTC()
		page.Items = append(page.Items, it)
		last = cursorPos{createdUS: created, id: it.ID}
	}
	if err := rows.Err(); err != nil {
		return Page{}, fmt.Errorf("store: list screenings: %w", err)
	}
	return page, nil
}

// DeleteScreeningsBefore deletes the screenings created before cutoff (the retention
// job), saying how many. Audit rows are never touched: they are kept apart, and longer.
// A worklist row goes with its latest screening: that one is the patient's newest, so
// when it is deleted all of the patient's are, and nothing is left to point the row at.
// Both deletes commit together, so the worklist never links to a deleted screening.
// The review data that only those screenings kept reachable goes in the same
// transaction (deleteReviewDataBefore).
func (s *Store) DeleteScreeningsBefore(ctx context.Context, cutoff time.Time) (int64, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("store: delete old screenings: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if err := s.deleteFeedbackBefore(ctx, tx, cutoff); err != nil {
		return 0, err
	}
	res, err := tx.ExecContext(ctx, s.rebind(`DELETE FROM screenings WHERE created_us < ?`), cutoff.UnixMicro())
	if err != nil {
		return 0, fmt.Errorf("store: delete old screenings: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("store: delete old screenings: %w", err)
	}
	if _, err := tx.ExecContext(ctx, s.rebind(`DELETE FROM patient_worklist WHERE created_us < ?`), cutoff.UnixMicro()); err != nil {
		return 0, fmt.Errorf("store: delete old screenings: worklist: %w", err)
	}
	if err := s.deleteOrphanDecisionsBefore(ctx, tx, cutoff); err != nil {
		return 0, err
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("store: delete old screenings: %w", err)
	}
	return n, nil
}
