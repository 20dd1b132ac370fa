package screening

import (
	"context"
	"errors"
)

// Source gives a patient's record: a FHIR server client, a Bundle, the demo data. It
// reports in Record.Sources how completely each resource type was obtained, so that
// what could not be fetched never reads as "no records".
type Source interface {
	Record(ctx context.Context, patientID string) (*Record, error)
}

// ErrPatientNotFound is what a Source's error matches (errors.Is) when the patient does
// not exist there, so that every surface can answer "unknown patient" the same way.
var ErrPatientNotFound = errors.New("patient not found")
