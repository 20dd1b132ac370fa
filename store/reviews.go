package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Decision is one review decision: what a coordinator (or a portal) decided about one
// review item of a patient, on which screening, judging which evidence. Decisions are
// never changed: a newer one for the same criterion supersedes the older.
type Decision struct {
	Seq         int64 // the store's order: larger is newer (set by SaveDecision's reads)
	PatientID   string
	Criterion   string
	Decision    string // met, not-met, not-applicable (the api checks the set)
	Note        string
	CallerID    string
	CallerUser  string
	DecidedAt   time.Time
	ScreeningID string
	// Evidence is the criterion's evidence in that screening, with the versions the
	// record gave: a later screening whose evidence differs makes it "to re-check".
	Evidence []EvidenceRef
}

// SaveDecision appends a decision. It supersedes the patient's current decision on the
// criterion, which stays in the history.
func (s *Store) SaveDecision(ctx context.Context, d Decision) error {
	if d.PatientID == "" || d.Criterion == "" || d.Decision == "" || d.ScreeningID == "" {
		return errors.New("store: save decision: patient id, criterion, decision and screening id are required")
	}
	evidence, err := evidenceColumn(d.Evidence)
	if err != nil {
		return fmt.Errorf("store: save decision: %w", err)
	}
	_, err = s.db.ExecContext(ctx, s.rebind(`INSERT INTO review_decisions
		(patient_id, criterion, decision, note, caller_id, caller_user, decided_us, screening_id, evidence)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		d.PatientID, d.Criterion, d.Decision, d.Note, d.CallerID, d.CallerUser, d.DecidedAt.UnixMicro(), d.ScreeningID, evidence)
	if err != nil {
		return fmt.Errorf("store: save decision: %w", err)
	}
	return nil
}

// decisionColumns are a decision's columns, in the order scanDecision reads them.
const decisionColumns = `seq, patient_id, criterion, decision, note, caller_id, caller_user, decided_us, screening_id, evidence`

// currentDecisionsQuery selects a patient's current decisions: for each criterion the
// row no newer row of that criterion supersedes. Portable SQL (no DISTINCT ON), served
// by the (patient_id, criterion, seq) index. Ordered by criterion for a stable answer.
const currentDecisionsQuery = `SELECT ` + decisionColumns + ` FROM review_decisions d
	WHERE d.patient_id = ? AND NOT EXISTS (SELECT 1 FROM review_decisions n
		WHERE n.patient_id = d.patient_id AND n.criterion = d.criterion AND n.seq > d.seq)
	ORDER BY d.criterion`

// CurrentDecisions gives a patient's current decision on each criterion decided.
func (s *Store) CurrentDecisions(ctx context.Context, patientID string) ([]Decision, error) {
	return s.queryDecisions(ctx, "current decisions", currentDecisionsQuery, patientID)
}

// DecisionHistory gives the newest limit decisions on a patient's criterion, oldest
// first: who decided what, and when. The limit bounds what one read costs: decisions
// are only ever appended, so a caller saving in a loop grows the history without end.
func (s *Store) DecisionHistory(ctx context.Context, patientID, criterion string, limit int) ([]Decision, error) {
	if limit < 1 {
		return nil, fmt.Errorf("store: decision history: limit %d is not at least 1", limit)
	}
	out, err := s.queryDecisions(ctx, "decision history", `SELECT `+decisionColumns+` FROM review_decisions
		WHERE patient_id = ? AND criterion = ? ORDER BY seq DESC LIMIT ?`, patientID, criterion, limit)
	slices.Reverse(out)
	return out, err
}

func (s *Store) queryDecisions(ctx context.Context, op, query string, args ...any) ([]Decision, error) {
	return s.queryDecisionsOn(ctx, s.db, op, query, args...)
}

// queryDecisionsOn is queryDecisions on a given pool (SaveReadingDecisions writes a
// screening on the screenings pool).
func (s *Store) queryDecisionsOn(ctx context.Context, db *sql.DB, op, query string, args ...any) ([]Decision, error) {
	rows, err := db.QueryContext(ctx, s.rebind(query), args...)
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", op, err)
	}
	defer rows.Close()
	var out []Decision
	for rows.Next() {
		d, err := scanDecision(rows)
		if err != nil {
			return nil, fmt.Errorf("store: %s: %w", op, err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: %s: %w", op, err)
	}
	return out, nil
}

func scanDecision(rows interface{ Scan(...any) error }) (Decision, error) {
	var d Decision
	var decided int64
	var evidence string
	if err := rows.Scan(&d.Seq, &d.PatientID, &d.Criterion, &d.Decision, &d.Note, &d.CallerID, &d.CallerUser,
		&decided, &d.ScreeningID, &evidence); err != nil {
		return Decision{}, err
	}
	d.DecidedAt = time.UnixMicro(decided).UTC()
	refs, err := parseEvidenceColumn(evidence)
	if err != nil {
		return Decision{}, err
	}
	d.Evidence = refs
	return d, nil
}

// evidenceColumn is refs as an evidence column holds them (JSON), each resource once.
func evidenceColumn(refs []EvidenceRef) (string, error) {
	refs = uniqueRefs(refs)
	ev := make([]evidenceJSON, len(refs))
	for i, r := range refs {
		ev[i] = evidenceJSON(r)
	}
	b, err := json.Marshal(ev)
	if err != nil {
		return "", fmt.Errorf("evidence: %w", err)
	}
	return string(b), nil
}

// parseEvidenceColumn reads an evidence column back.
func parseEvidenceColumn(col string) ([]EvidenceRef, error) {
	var ev []evidenceJSON
	if err := json.Unmarshal([]byte(col), &ev); err != nil {
		return nil, fmt.Errorf("evidence: %w", err)
	}
	var refs []EvidenceRef
	for _, e := range ev {
		refs = append(refs, EvidenceRef(e))
	}
	return refs, nil
}
