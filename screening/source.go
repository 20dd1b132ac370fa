package screening

import "context"

// Source gives a patient's record: a FHIR server client, a Bundle, the demo data. It
// reports in Record.Sources how completely each resource type was obtained, so that
// what could not be fetched never reads as "no records".
type Source interface {
	Record(ctx context.Context, patientID string) (*Record, error)
}
