package batch

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/trialscreen/trialscreen/internal/jsonscan"
)

// lineInfo is what the grouping pass reads of one NDJSON resource: enough to tell whose
// it is and whether the screening can do without its content.
type lineInfo struct {
	resourceType string
	id           string
	patientRef   string // subject.reference, else patient.reference, as fhirbundle reads it
	medRef       string // medicationReference.reference
	hasMedRef    bool
	codes        []codingKV // medicationCodeableConcept's codes, else code's
	// clean: every field fhirbundle's peek decodes has the JSON type it expects, and the
	// meta says nothing was withheld (scanmeta.go), so the peek of the full line and of a
	// stub with the same fields behave alike.
	clean bool
}

type codingKV struct{ system, code string }

// wanted are the top-level members scanResource decodes; every other member is skipped
// without being decoded.
var wanted = map[string]int{
	"resourceType": 0, "id": 1, "subject": 2, "patient": 3,
	"medicationReference": 4, "code": 5, "medicationCodeableConcept": 6, "meta": 7,
}

// scanResource reads a resource's type, id and references from one NDJSON line. The
// line is checked to be valid JSON first (validJSON, as json.Valid but faster; a line
// that is not is reported), so the member walk below can rely on well-formed input.
func scanResource(line []byte) (lineInfo, error) {
	var info lineInfo
	if !validJSON(line) {
		return info, syntaxProblem(line)
	}
	i := jsonscan.Space(line, 0)
	if line[i] != '{' {
		return info, fmt.Errorf("a JSON %s, not a FHIR resource (an object)", kindAt(line[i]))
	}
	var raw [8][]byte
	unusual := false
	i = jsonscan.Space(line, i+1)
	for line[i] != '}' {
		keyEnd := jsonscan.StringEnd(line, i)
		key := line[i+1 : keyEnd-1]
		i = jsonscan.Space(line, keyEnd)
		i = jsonscan.Space(line, i+1) // the colon
		valEnd := jsonscan.ValueEnd(line, i)
		if slot, ok := wanted[string(key)]; ok {
			// A member given twice is read by encoding/json as the two merged (objects)
			// or the last (others): fhirbundle must see the line itself.
			unusual = unusual || raw[slot] != nil
			raw[slot] = line[i:valEnd]
		} else if lookalike(key) {
			unusual = true
		}
		i = jsonscan.Space(line, valEnd)
		if line[i] == ',' {
			i = jsonscan.Space(line, i+1)
		}
	}
	info.clean = !unusual
	str := func(b []byte) string {
		if s, ok := plainString(b); ok {
			return s
		}
		var s string
		if b != nil && !isNull(b) && json.Unmarshal(b, &s) != nil {
			info.clean = false
		}
		return s
	}
	ref := func(b []byte) (string, bool) {
		var r struct {
			Reference string `json:"reference"`
		}
		if b == nil || isNull(b) {
			return "", false
		}
		if s, ok := plainRef(b); ok {
			return s, true
		}
		if json.Unmarshal(b, &r) != nil {
			info.clean = false
			return "", false
		}
		return r.Reference, true
	}
	info.resourceType = str(raw[0])
	info.id = str(raw[1])
	subject, _ := ref(raw[2])
	patient, _ := ref(raw[3])
	info.patientRef = subject
	if info.patientRef == "" {
		info.patientRef = patient
	}
	info.medRef, info.hasMedRef = ref(raw[4])
	code, mcc := raw[5], raw[6]
	if mcc != nil && !isNull(mcc) {
		info.codes = concept(mcc, &info.clean)
		concept(code, &info.clean) // only for its cleanliness
	} else {
		info.codes = concept(code, &info.clean)
	}
	if raw[7] != nil && !metaIsPlain(raw[7]) {
		info.clean = false
	}
	if info.resourceType == "" {
		return info, errors.New("a resource without resourceType")
	}
	return info, nil
}

// lookalike reports a member name encoding/json would take for a wanted one (it matches
// names case-insensitively and unescapes them) although it is not spelled exactly so.
func lookalike(key []byte) bool {
	if bytes.IndexByte(key, '\\') >= 0 {
		return true
	}
	for _, w := range wantedNames {
		if len(w) == len(key) && bytes.EqualFold(w, key) {
			return true
		}
	}
	return false
}

// wantedNames are wanted's names as a slice: ranging over a map per member is slow.
var wantedNames = func() [][]byte {
	var out [][]byte
	for w := range wanted {
		out = append(out, []byte(w))
	}
	return out
}()

// concept decodes a CodeableConcept's codings as fhirbundle's peek does.
func concept(b []byte, clean *bool) []codingKV {
	if b == nil || isNull(b) {
		return nil
	}
	if out, ok := plainConcept(b); ok {
		return out
	}
	var c struct {
		Coding []struct {
			System string `json:"system"`
			Code   string `json:"code"`
		} `json:"coding"`
	}
	if json.Unmarshal(b, &c) != nil {
		*clean = false
	}
	out := make([]codingKV, 0, len(c.Coding))
	for _, x := range c.Coding {
		out = append(out, codingKV{x.System, x.Code})
	}
	return out
}

// syntaxProblem words why a line is not JSON, with the byte offset, never quoting it.
func syntaxProblem(line []byte) error {
	var v any
	err := json.Unmarshal(line, &v)
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("not valid JSON: syntax error at byte %d", se.Offset)
	}
	return errors.New("not valid JSON")
}

func isNull(b []byte) bool { return string(b) == "null" }

func kindAt(c byte) string {
	switch c {
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "number"
}
