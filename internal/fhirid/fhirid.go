// Package fhirid is the one check of a FHIR resource id that every surface shares: the
// REST API, CDS Hooks, batches (REST and CLI), Bulk export Group ids and the FHIR
// client that puts ids into request URLs.
package fhirid

// Rule words the check for messages (which never quote the value).
const Rule = "1-64 characters of A-Z, a-z, 0-9, '-', '.', and not '.' or '..' alone"

// Valid reports whether id is a FHIR resource id: 1 to 64 of A-Z, a-z, 0-9, '-' and
// '.' (FHIR R4 id), except "." and "..". Those two match the FHIR pattern but are path
// segments with a meaning of their own: a URL library cleans "Patient/." into "Patient"
// (a search of every patient) and "Patient/.." into the base, and a server or proxy may
// do the same to an escaped form, so no resource can be asked for by them.
func Valid(id string) bool {
	if len(id) < 1 || len(id) > 64 || id == "." || id == ".." {
		return false
	}
	for i := 0; i < len(id); i++ {
		b := id[i]
		if !(b >= 'A' && b <= 'Z' || b >= 'a' && b <= 'z' || b >= '0' && b <= '9' || b == '-' || b == '.') {
			return false
		}
	}
	return true
}
