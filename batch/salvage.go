package batch

import (
	"encoding/json"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/trialscreen/trialscreen/fhirbundle"
	"github.com/trialscreen/trialscreen/internal/jsonscan"
	"github.com/trialscreen/trialscreen/screening"
)

// salvaged is what can still be told about a line that cannot be read as a resource
// (not JSON, cut short, a subject of the wrong shape): its type and whose it is, so that
// it can make its patient's criteria unknown instead of being dropped.
type salvaged struct {
	resourceType string
	id           string
	patientID    string // "" when whose it is cannot be told for sure
}

// salvage walks the top-level members of a line as far as they are well formed, from
// the start, and stops at the first thing that is not (the cut, a syntax error). Only
// complete members count. The patient is taken only when every subject/patient member
// seen is one and the same literal Patient reference: a resource that names two
// patients, or one the walk cannot read, belongs to no one for sure.
func salvage(line []byte) salvaged {
	var out salvaged
	var refs []string
	ambiguous := false
	walkMembers(line, func(key, val []byte) {
		switch k := string(key); {
		case k == "resourceType":
			out.resourceType, _ = jsonString(val)
		case k == "id":
			out.id, _ = jsonString(val)
		case k == "subject" || k == "patient":
			ref, ok := refValue(val)
			if !ok {
				ambiguous = true
			} else if ref != "" {
				refs = append(refs, ref)
			}
		case strings.EqualFold(k, "subject") || strings.EqualFold(k, "patient") || strings.Contains(k, `\`):
			ambiguous = true // a decoder might take it for subject or patient
		}
	})
	if ambiguous || len(refs) == 0 {
		return out
	}
	for _, r := range refs[1:] {
		if r != refs[0] {
			return out
		}
	}
	if id, ok := fhirbundle.ReferenceID(refs[0], screening.TypePatient); ok && id != "" {
		out.patientID = id
	}
	return out
}

// refValue reads a subject/patient value: a Reference object's reference, or (not
// FHIR, but its meaning is plain) a bare string. ok is false for any other shape.
func refValue(val []byte) (string, bool) {
	if s, ok := jsonString(val); ok {
		return s, true
	}
	var r struct {
		Reference *string `json:"reference"`
	}
	if len(val) == 0 || val[0] != '{' || json.Unmarshal(val, &r) != nil {
		return "", false
	}
	if r.Reference == nil {
		return "", true
	}
	return *r.Reference, true
}

func jsonString(val []byte) (string, bool) {
	var s string
	if len(val) == 0 || val[0] != '"' || json.Unmarshal(val, &s) != nil {
		return "", false
	}
	return s, true
}

// walkMembers calls f with each complete top-level member of a JSON object that may be
// cut short or broken further on; it stops at the first member it cannot delimit. It uses
// jsonscan's Complete scanners: StringEnd and ValueEnd are for lines already found
// valid, and on a cut line would report a value that runs to the end of the line as
// complete.
func walkMembers(b []byte, f func(key, val []byte)) {
	i := jsonscan.Space(b, 0)
	if i >= len(b) || b[i] != '{' {
		return
	}
	i = jsonscan.Space(b, i+1)
	for i < len(b) && b[i] == '"' {
		keyEnd := jsonscan.CompleteStringEnd(b, i)
		if keyEnd < 0 {
			return
		}
		j := jsonscan.Space(b, keyEnd)
		if j >= len(b) || b[j] != ':' {
			return
		}
		j = jsonscan.Space(b, j+1)
		valEnd := jsonscan.CompleteValueEnd(b, j)
		if valEnd < 0 {
			return
		}
		f(b[i+1:keyEnd-1], b[j:valEnd])
		i = jsonscan.Space(b, valEnd)
		if i >= len(b) || b[i] != ',' {
			return
		}
		i = jsonscan.Space(b, i+1)
	}
}

// typeFileName matches a Bulk Data file name: <Type>.ndjson or <Type>-<n>.ndjson (and
// .jsonl, gzipped too).
var typeFileName = regexp.MustCompile(`^([A-Z][A-Za-z]+)(?:-[0-9]+)?\.(?:ndjson|jsonl)(?:\.gz)?$`)

// typeFromFileName is the resource type a file's name says it holds, or "".
func typeFromFileName(path string) string {
	if m := typeFileName.FindStringSubmatch(filepath.Base(path)); m != nil {
		return m[1]
	}
	return ""
}
