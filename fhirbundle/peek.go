package fhirbundle

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/trialscreen/trialscreen/screening"
)

// peeked is what is read of every resource before deciding whether to parse it fully:
// type, id, codes and the patient it is about. encoding/json into this small struct is
// several times faster than jsonformat.
type peeked struct {
	ResourceType              string       `json:"resourceType"`
	ID                        string       `json:"id"`
	Code                      *peekConcept `json:"code"`
	MedicationCodeableConcept *peekConcept `json:"medicationCodeableConcept"`
	MedicationReference       *peekRef     `json:"medicationReference"`
	Subject                   *peekRef     `json:"subject"`
	Patient                   *peekRef     `json:"patient"`
	Meta                      *peekMeta    `json:"meta"`  // withheld.go
	Issue                     []peekIssue  `json:"issue"` // an OperationOutcome's
	// A Medication's ingredients: a drug coded only by what it contains is still known.
	Ingredient []struct {
		ItemCodeableConcept *peekConcept `json:"itemCodeableConcept"`
		ItemReference       *peekRef     `json:"itemReference"` // a Substance (or Medication)
	} `json:"ingredient"`
	// An Observation panel's components and members: a result inside a panel is a
	// result like any other, so the panel matters when one of them does.
	Component []struct {
		Code *peekConcept `json:"code"`
	} `json:"component"`
	HasMember []peekRef `json:"hasMember"`
	Result    []peekRef `json:"result"` // a DiagnosticReport's results
	// An AllergyIntolerance's reactions: the substance a reaction names is the culprit,
	// whatever the allergy's own code says ("allergy to drug", "no known allergy").
	Reaction []struct {
		Substance *peekConcept `json:"substance"`
	} `json:"reaction"`
	// An Encounter's diagnoses: a Condition it contains and names there is a diagnosis
	// like any other.
	Diagnosis []struct {
		Condition peekRef `json:"condition"`
	} `json:"diagnosis"`
	// A Composition's sections (an IPS, a discharge summary): one may say its entries are
	// unavailable or withheld (withheld.go).
	Section []peekSection `json:"section"`
}

type peekSection struct {
	Code        *peekConcept  `json:"code"`
	EmptyReason *peekConcept  `json:"emptyReason"`
	Section     []peekSection `json:"section"`
}

type peekConcept struct {
	Coding []struct {
		System string `json:"system"`
		Code   string `json:"code"`
	} `json:"coding"`
	Text string `json:"text"`
}

type peekRef struct {
	Reference string `json:"reference"`
}

func (c *peekConcept) codings() []screening.Coding {
	if c == nil || len(c.Coding) == 0 {
		return nil
	}
	out := make([]screening.Coding, 0, len(c.Coding))
	for _, x := range c.Coding {
		out = append(out, screening.Coding{System: x.System, Code: x.Code})
	}
	return out
}

// peekResource reads the small struct. A resource that is not a JSON object gives an
// error and nothing else; a field of the wrong JSON type gives an error but the other
// fields are still filled in (encoding/json goes on after a type mismatch).
func peekResource(raw json.RawMessage) (peeked, error) {
	var p peeked
	if !isObject(raw) {
		return p, fmt.Errorf("resource is JSON %s, not an object", jsonKind(raw))
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		return p, describeJSONError(err)
	}
	if p.ResourceType == "" {
		return p, errors.New("resource has no resourceType")
	}
	return p, nil
}

// codes is the codes relevance is decided on, before medication references are resolved:
// a Medication's own code and its ingredients', an Observation's code and its components'.
func (p *peeked) codes() []screening.Coding {
	if p.MedicationCodeableConcept != nil {
		return p.MedicationCodeableConcept.codings()
	}
	out := p.Code.codings()
	for _, in := range p.Ingredient {
		out = append(out, in.ItemCodeableConcept.codings()...)
	}
	for _, c := range p.Component {
		out = append(out, c.Code.codings()...)
	}
	for _, r := range p.Reaction {
		out = append(out, r.Substance.codings()...)
	}
	return out
}

// drugText is what the sender called the drug or the test: the concept's text.
func (c *peekConcept) text() string {
	if c == nil {
		return ""
	}
	return c.Text
}

// hasContainedMembers reports whether an Observation (or a DiagnosticReport) names
// members (results) contained in it,
// which are read as results of their own.
func (p *peeked) hasContainedMembers() bool {
	return anyContained(p.HasMember) || anyContained(p.Result)
}

func anyContained(refs []peekRef) bool {
	for _, r := range refs {
		if strings.HasPrefix(r.Reference, "#") {
			return true
		}
	}
	return false
}

// hasContainedDiagnoses reports whether an Encounter names a Condition contained in it
// among its diagnoses.
func (p *peeked) hasContainedDiagnoses() bool {
	for _, d := range p.Diagnosis {
		if strings.HasPrefix(d.Condition.Reference, "#") {
			return true
		}
	}
	return false
}

// patientRef is the subject or patient reference; "" when there is none.
func (p *peeked) patientRef() string {
	if p.Subject != nil && p.Subject.Reference != "" {
		return p.Subject.Reference
	}
	if p.Patient != nil {
		return p.Patient.Reference
	}
	return ""
}

// codeStrings renders codes as "system|code" for UnreadableEntry (the form screening
// parses back), spelled out here so a change to Coding's String cannot break it.
func codeStrings(cs []screening.Coding) []string {
	if len(cs) == 0 {
		return nil
	}
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.System + "|" + c.Code
	}
	return out
}

// describeJSONError words an encoding/json error without Go type names or data values.
func describeJSONError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := te.Field
		if field == "" {
			field = "resource"
		}
		return fmt.Errorf("%s: JSON %s where %s was expected", field, te.Value, jsonKindOf(te.Type))
	}
	return err
}

func jsonKindOf(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map, reflect.Pointer:
		return "an object"
	case reflect.Bool:
		return "a boolean"
	}
	return "a number"
}

func isObject(raw []byte) bool {
	for _, c := range raw {
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		}
		return c == '{'
	}
	return false
}

// jsonKind names the JSON type of a valid JSON value, for messages.
func jsonKind(raw []byte) string {
	s := strings.TrimLeft(string(raw), " \t\r\n")
	if s == "" {
		return "nothing"
	}
	switch s[0] {
	case '{':
		return "object"
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

// patientKeys identifies the chosen patient in references.
type patientKeys map[string]bool

func (k patientKeys) add(ref string) {
	if ref == "" {
		return
	}
	k[ref] = true
	if t := refTail(ref); t != "" {
		k[t] = true
	}
}

// ours reports whether a subject/patient reference points at the chosen patient: the same
// fullUrl (urn:uuid in transaction bundles), "Patient/id", or an absolute URL ending in it.
func (k patientKeys) ours(ref string) bool {
	if k[ref] {
		return true
	}
	t := refTail(ref)
	return t != "" && k[t]
}

// refTail reduces a literal reference to "Type/id", dropping a base URL and a
// /_history/version suffix; "" when it is not of that shape (urn:uuid, #fragment).
func refTail(ref string) string {
	if strings.HasPrefix(ref, "urn:") || strings.HasPrefix(ref, "#") {
		return ""
	}
	parts := strings.Split(strings.TrimRight(ref, "/"), "/")
	if n := len(parts); n >= 4 && parts[n-2] == "_history" {
		parts = parts[:n-2]
	}
	n := len(parts)
	if n < 2 || parts[n-2] == "" || parts[n-1] == "" {
		return ""
	}
	return parts[n-2] + "/" + parts[n-1]
}
