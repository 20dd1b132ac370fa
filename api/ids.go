package api

// isFHIRID reports whether id is a FHIR resource id: 1-64 of A-Z, a-z, 0-9, '-' and '.'.
func isFHIRID(id string) bool {
	if len(id) < 1 || len(id) > 64 {
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

// checkFHIRID is a 400 naming field unless id is a FHIR resource id. The message does
// not quote the value: it may be anything a caller put in a URL or body.
func checkFHIRID(field, id string) error {
	if !isFHIRID(id) {
		return invalid(field, "is not a FHIR resource id (1-64 characters of A-Z, a-z, 0-9, '-', '.'; got %d bytes)", len(id))
	}
	return nil
}
