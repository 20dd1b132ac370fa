package fhirbundle

import (
	"bytes"

	"github.com/trialscreen/trialscreen/internal/jsonscan"
)

// A resource that gives one member twice ({"code": A, ..., "code": B}) is not valid FHIR
// JSON, and readers disagree on it: encoding/json keeps the last value (or merges two
// objects), others keep the first. Whichever the sender meant cannot be told, so such a
// resource is unreadable rather than read one way (a code of epilepsy followed by one of
// headache would otherwise pass a CNS exclusion).

// repeatedMember is the first top-level member name given twice with different values
// in a resource (valid JSON, as SplitBundle leaves it), or "". Names are compared as
// written; the same value given twice is one value.
func repeatedMember(raw []byte) string {
	type member struct{ name, value []byte }
	var seen [24]member // top-level members of a resource are few; beyond this, a slice
	members, repeated := seen[:0], ""
	jsonscan.Members(raw, func(name, value []byte) bool {
		for _, m := range members {
			if bytes.Equal(m.name, name) && !sameJSON(m.value, value) {
				repeated = string(name)
				return false
			}
		}
		members = append(members, member{name, value})
		return true
	})
	return repeated
}
