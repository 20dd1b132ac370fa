package store

import (
	"context"
	"fmt"
)

// defaultSearchIndexedMax is how many patients a prefix may match for the worklist to read them
// through the prefix indexes and sort them. Above it, the worklist walks its newest-first
// index and tests the prefix on each row instead: with that many matches, the first page
// fills after a few thousand rows, while sorting every match (16,000 for "mar" among
// 100,000 patients) took 90 ms on SQLite.
const defaultSearchIndexedMax = 1000

// searchCond is the worklist's condition for a patient id or name prefix: through the
// prefix indexes when the prefix is rare, otherwise written so that no index serves it
// (SQLite plans without statistics and would pick the prefix index anyway; PostgreSQL
// weighs the two plans by its statistics, and the probe costs it a fraction of a ms).
func (s *Store) searchCond(ctx context.Context, prefix string) (string, []any, error) {
	id, name := "patient_id", "name_key"
	if s.backend == BackendPostgres {
		id = `patient_id COLLATE "C"` // its byte-wise index, whatever the database's collation
	}
	args := []any{prefix, prefix + prefixEnd, prefix, prefix, prefixEnd}
	cond := func(id, name string) string {
		return "((" + id + " >= ? AND " + id + " < ?) OR (" + name + " >= lower(?) AND " + name + " < lower(?) || ?))"
	}
	var n int
	err := s.db.QueryRowContext(ctx, s.rebind(`SELECT COUNT(*) FROM (SELECT 1 FROM patient_worklist WHERE `+
		cond(id, name)+` LIMIT `+fmt.Sprint(s.searchIndexedMax)+`) m`), args...).Scan(&n)
	if err != nil {
		return "", nil, fmt.Errorf("store: worklist: search: %w", err)
	}
	if n < s.searchIndexedMax {
		return cond(id, name), args, nil
	}
	if s.backend == BackendPostgres {
		return cond(`(patient_id || '') COLLATE "C"`, "(name_key || '')"), args, nil
	}
	return cond("+patient_id", "+name_key"), args, nil // unary +: the same value, no index
}
