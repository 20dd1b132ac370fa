package batch

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

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
	// codes are the codes fhirbundle's peek decides relevance on (peeked.codes):
	// medicationCodeableConcept's, else code's followed by the ingredients' and the
	// components' (an Observation panel matters when one of its results does).
	codes []codingKV
	// containedMembers: hasMember names an Observation contained in this one ("#id"),
	// which fhirbundle reads as a result of its own whatever the resource's own codes.
	containedMembers bool
	// clean: every field fhirbundle's peek decodes has the JSON type it expects, and the
	// meta says nothing was withheld (scanmeta.go), so the peek of the full line and of a
	// stub with the same fields behave alike.
	clean bool
	// repeated: some top-level member is given twice, which fhirbundle may find
	// unreadable (repeatedMember) whatever the resource's codes.
	repeated bool
	// spaced: the line holds whitespace outside its strings (json.Compact changes it).
	spaced bool
}

type codingKV struct{ system, code string }

// wanted are the top-level members scanResource decodes; every other member is skipped
// without being decoded.
var wanted = map[string]int{
	"resourceType": 0, "id": 1, "subject": 2, "patient": 3,
	"medicationReference": 4, "code": 5, "medicationCodeableConcept": 6, "meta": 7,
	"ingredient": 8, "component": 9, "hasMember": 10, "issue": 11, "result": 12,
	"reaction": 13, "diagnosis": 14,
}

// scanResource reads a resource's type, id, references and codes from one NDJSON line.
// The line is checked to be valid JSON first (checkJSON, as json.Valid but faster; a
// line that is not is reported), so the member walk below can rely on well-formed input.
func scanResource(line []byte) (lineInfo, error) {
	var info lineInfo
	valid, spaced := checkJSON(line)
	if !valid {
		return info, syntaxProblem(line)
	}
	info.spaced = spaced
	i := jsonscan.Space(line, 0)
	if line[i] != '{' {
		return info, fmt.Errorf("a JSON %s, not a FHIR resource (an object)", kindAt(line[i]))
	}
	var raw [15][]byte
	unusual := false
	var keys keySet
	i = jsonscan.Space(line, i+1)
	for line[i] != '}' {
		keyEnd := jsonscan.StringEnd(line, i)
		key := line[i+1 : keyEnd-1]
		info.repeated = keys.add(key) || info.repeated
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
	// As peeked.codes: the medicationCodeableConcept's codes alone when it is given;
	// every other concept is still decoded for its cleanliness.
	code, mcc := raw[5], raw[6]
	codes := concept(code, &info.clean)
	codes = append(codes, ingredients(raw[8], &info.clean)...)
	codes = components(raw[9], codes, &info.clean)
	codes = reactions(raw[13], codes, &info.clean)
	if mcc != nil && !isNull(mcc) {
		codes = concept(mcc, &info.clean)
	}
	info.codes = codes
	// A DiagnosticReport's results are read like a panel's members (fhirbundle).
	info.containedMembers = containsMembers(raw[10], &info.clean) || containsMembers(raw[12], &info.clean) ||
		containsDiagnoses(raw[14], &info.clean)
	if raw[11] != nil && !isNull(raw[11]) {
		issuesClean(raw[11], &info.clean)
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

// conceptJSON is a CodeableConcept as fhirbundle's peek decodes it (peekConcept).
type conceptJSON struct {
	Coding []struct {
		System string `json:"system"`
		Code   string `json:"code"`
	} `json:"coding"`
	Text string `json:"text"`
}

func (c *conceptJSON) codes() []codingKV {
	if c == nil {
		return nil
	}
	out := make([]codingKV, 0, len(c.Coding))
	for _, x := range c.Coding {
		out = append(out, codingKV{x.System, x.Code})
	}
	return out
}

// concept decodes a CodeableConcept's codings as fhirbundle's peek does.
func concept(b []byte, clean *bool) []codingKV {
	if b == nil || isNull(b) {
		return nil
	}
	if out, ok := plainConcept(b); ok {
		return out
	}
	var c conceptJSON
	if json.Unmarshal(b, &c) != nil {
		*clean = false
	}
	return c.codes()
}

// components appends the codes of an Observation's components (component[].code) to
// out, as fhirbundle's peek reads them.
func components(b []byte, out []codingKV, clean *bool) []codingKV {
	if b == nil || isNull(b) {
		return out
	}
	if more, ok := plainComponents(b, out); ok {
		return more
	}
	var cs []struct {
		Code *conceptJSON `json:"code"`
	}
	if json.Unmarshal(b, &cs) != nil {
		*clean = false
	}
	for _, c := range cs {
		out = append(out, c.Code.codes()...)
	}
	return out
}

// reactions appends an AllergyIntolerance's reaction[].substance codes to out, as
// fhirbundle's peek reads them.
func reactions(b []byte, out []codingKV, clean *bool) []codingKV {
	if b == nil || isNull(b) {
		return out
	}
	var rs []struct {
		Substance *conceptJSON `json:"substance"`
	}
	if json.Unmarshal(b, &rs) != nil {
		*clean = false
	}
	for _, r := range rs {
		out = append(out, r.Substance.codes()...)
	}
	return out
}

// containsDiagnoses reports whether an Encounter's diagnosis[].condition names a
// contained Condition ("#id"), as fhirbundle's peek (hasContainedDiagnoses) reads it.
func containsDiagnoses(b []byte, clean *bool) bool {
	if b == nil || isNull(b) {
		return false
	}
	var ds []struct {
		Condition struct {
			Reference string `json:"reference"`
		} `json:"condition"`
	}
	if json.Unmarshal(b, &ds) != nil {
		*clean = false
	}
	for _, d := range ds {
		if strings.HasPrefix(d.Condition.Reference, "#") {
			return true
		}
	}
	return false
}

// ingredients decodes ingredient[].itemCodeableConcept's codes as fhirbundle's peek does
// (a Medication's; Medication lines are indexed, not stubbed, so no fast path).
func ingredients(b []byte, clean *bool) []codingKV {
	if b == nil || isNull(b) {
		return nil
	}
	var is []struct {
		Item *conceptJSON `json:"itemCodeableConcept"`
	}
	if json.Unmarshal(b, &is) != nil {
		*clean = false
	}
	var out []codingKV
	for _, in := range is {
		out = append(out, in.Item.codes()...)
	}
	return out
}

// containsMembers reports whether hasMember names a contained resource ("#id"), as
// fhirbundle's peek (hasContainedMembers) reads it.
func containsMembers(b []byte, clean *bool) bool {
	if b == nil || isNull(b) {
		return false
	}
	contained := false
	if jsonscan.Elements(b, func(el []byte) bool {
		r, ok := plainRef(el)
		contained = contained || strings.HasPrefix(r, "#")
		return ok
	}) {
		return contained
	}
	var ms []struct {
		Reference string `json:"reference"`
	}
	if json.Unmarshal(b, &ms) != nil {
		*clean = false
	}
	for _, m := range ms {
		if strings.HasPrefix(m.Reference, "#") {
			return true
		}
	}
	return false
}

// issuesClean checks an issue member (an OperationOutcome's, which no other resource
// has) as fhirbundle's peek decodes it.
func issuesClean(b []byte, clean *bool) {
	var is []struct {
		Severity string `json:"severity"`
		Code     string `json:"code"`
	}
	if json.Unmarshal(b, &is) != nil {
		*clean = false
	}
}

// keySet finds a top-level member name given twice. Names are compared as written
// (fhirbundle's repeatedMember does the same); a mask of name lengths and end bytes
// keeps the usual line, whose names all differ, from comparing them pairwise.
type keySet struct {
	mask uint64
	n    int
	keys [40][]byte
}

// add notes a name and reports whether it was noted before; past the names it has room
// for, every name counts as given again (a resource has a few dozen members at most).
func (k *keySet) add(name []byte) bool {
	if k.n == len(k.keys) {
		return true
	}
	var h byte
	if len(name) > 0 {
		h = name[0] ^ name[len(name)-1]
	}
	bit := uint64(1) << ((uint(len(name))*7 + uint(h)) & 63)
	dup := false
	if k.mask&bit != 0 {
		for _, x := range k.keys[:k.n] {
			if bytes.Equal(x, name) {
				dup = true
				break
			}
		}
	}
	k.mask |= bit
	k.keys[k.n] = name
	k.n++
	return dup
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
