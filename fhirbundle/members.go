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
	members := seen[:0]
	i := jsonscan.Space(raw, 0)
	if i >= len(raw) || raw[i] != '{' {
		return ""
	}
	for i = jsonscan.Space(raw, i+1); i < len(raw) && raw[i] == '"'; {
		end := jsonscan.StringEnd(raw, i)
		if end-1 <= i {
			return "" // cut short: not JSON, and not for this check to judge
		}
		name := raw[i+1 : end-1]
		i = jsonscan.Space(raw, jsonscan.Space(raw, end)+1) // past the colon
		if i >= len(raw) {
			return ""
		}
		vend := jsonscan.ValueEnd(raw, i)
		value := raw[i:vend]
		for _, m := range members {
			if bytes.Equal(m.name, name) && !sameJSON(m.value, value) {
				return string(name)
			}
		}
		members = append(members, member{name, value})
		i = jsonscan.Space(raw, vend)
		if i < len(raw) && raw[i] == ',' {
			i = jsonscan.Space(raw, i+1)
		}
	}
	return ""
}
