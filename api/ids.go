package api

import "github.com/trialscreen/trialscreen/internal/fhirid"

// isFHIRID reports whether id is a FHIR resource id (see fhirid.Valid: "." and ".." are not).
func isFHIRID(id string) bool { return fhirid.Valid(id) }

// checkFHIRID is a 400 naming field unless id is a FHIR resource id. The message does
// not quote the value: it may be anything a caller put in a URL or body.
func checkFHIRID(field, id string) error {
	if !isFHIRID(id) {
		return invalid(field, "is not a FHIR resource id (%s; got %d bytes)", fhirid.Rule, len(id))
	}
	return nil
}
