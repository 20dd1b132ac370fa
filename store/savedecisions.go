package store

import (
	"context"
	"strings"
)

// SaveReadingDecisions stores a screening, as Save does, and gives its patient's current
// review decisions, for the verdict document's review standing. On PostgreSQL it is one
// statement (the INSERT in a WITH, the SELECT reading the decisions), so storing a
// screening with its standing costs the one round trip Save costs. On SQLite, in the
// process, the two statements run one after the other.
func (s *Store) SaveReadingDecisions(ctx context.Context, sc Screening) ([]Decision, error) {
	if s.backend != BackendPostgres {
		if err := s.Save(ctx, sc); err != nil {
			return nil, err
		}
		return s.CurrentDecisions(ctx, sc.PatientID)
	}
	args, err := saveArgs(sc)
	if err != nil {
		return nil, err
	}
	// The SELECT sees the decisions as they were when the statement began; the INSERT
	// runs to completion whether or not any row is read (PostgreSQL: data-modifying
	// statements in WITH).
	combined := `WITH saved AS (` + strings.TrimSpace(saveSQL) + `) ` + currentDecisionsQuery
	decisions, err := s.queryDecisionsOn(ctx, s.screeningsDB, "save screening", combined, append(args, sc.PatientID)...)
	if err != nil {
		return nil, err
	}
	return decisions, nil
}
