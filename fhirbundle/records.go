package fhirbundle

import (
	"context"
	"strings"

	"github.com/trialscreen/trialscreen/screening"
)

// ReadResources reads one patient's full record given as loose resources rather than as
// a Bundle, e.g. the lines of a FHIR Bulk Data export grouped by patient. It is
// AddResources on a new record followed by what ReadBundle does: the resources count as
// the patient's full record, so every type in RecordTypes is marked complete unless
// they say otherwise (withheld.go). More entries than the Reader's MaxEntries are
// refused (a TooManyEntriesError).
func (r *Reader) ReadResources(patientID string, entries []Entry) (*screening.Record, error) {
	if len(entries) > r.maxEntries {
		return nil, &TooManyEntriesError{What: "the patient's record", Count: len(entries), Max: r.maxEntries}
	}
	rec := NewRecord()
	done, err := r.add(context.Background(), rec, patientID, entries, false)
	if err != nil {
		return nil, err
	}
	done.markSources(rec)
	return rec, nil
}

// ReferenceID returns the id of the resource of type resourceType a literal reference
// points at ("Patient/1", an absolute URL ending in it, or a versioned one), as the
// reader matches references; ok is false for anything else (urn:uuid, a #fragment,
// another type).
func ReferenceID(ref, resourceType string) (id string, ok bool) {
	return strings.CutPrefix(refTail(ref), resourceType+"/")
}
