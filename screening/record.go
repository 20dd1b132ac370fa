package screening

import (
	"time"

	"github.com/trialscreen/trialscreen/terminology"
)

// Coding is a code in a code system (the terminology package owns the type, so that the
// tables placing codes need not import the engine).
type Coding = terminology.Coding

// Precision is how much of a FHIR date or dateTime was given.
type Precision int

const (
	PrecisionNone Precision = iota
	PrecisionYear
	PrecisionMonth
	PrecisionDay
	PrecisionTime
)

// When is a FHIR date or dateTime kept with its precision, so that a year-only
// birth date is never mistaken for 1 January.
type When struct {
	Time      time.Time // the earliest instant the value can mean
	Precision Precision
}

// Known reports whether a date was given at all.
func (w When) Known() bool { return w.Precision != PrecisionNone }

// Latest is the last instant the value can mean (exclusive end of its span).
func (w When) Latest() time.Time {
	switch w.Precision {
	case PrecisionYear:
		return w.Time.AddDate(1, 0, 0)
	case PrecisionMonth:
		return w.Time.AddDate(0, 1, 0)
	case PrecisionDay:
		return w.Time.AddDate(0, 0, 1)
	}
	return w.Time
}

// String renders the value at its own precision.
func (w When) String() string {
	switch w.Precision {
	case PrecisionDay:
		return dayString(w.Time)
	case PrecisionYear:
		return w.Time.Format("2006")
	case PrecisionMonth:
		return w.Time.Format("2006-01")
	case PrecisionTime:
		return timeString(w.Time)
	}
	return ""
}

// Quantity is a FHIR Quantity. Code is the UCUM code; Unit is display text only.
type Quantity struct {
	Value  float64
	Code   string
	System string
	Unit   string
}

// Patient holds what the criteria read from the Patient resource.
type Patient struct {
	Ref       string // "Patient/123"
	ID        string
	BirthDate When
	Gender    string // FHIR administrative gender: male, female, other, unknown or ""
	// Name is the patient's name as a person reads it (official or usual first), for
	// the report's header so a printed sheet is filed under the right patient. It is
	// patient data: never log it or put it in a metric.
	Name string
	// Deceased: deceasedBoolean true or a deceasedDateTime (DeceasedAt, when given).
	Deceased   bool
	DeceasedAt When
}

// Observation is a normalized FHIR Observation.
type Observation struct {
	Ref            string
	Status         string
	Code           []Coding
	Effective      When
	Value          *Quantity // valueQuantity, or valueInteger with an empty unit
	ValueCode      []Coding  // valueCodeableConcept
	ValueText      string    // valueString or valueCodeableConcept.text without codings
	Interpretation []Coding
	ValueBound     *Bound     // a valueQuantity with a comparator ("<0.5"); Value is then nil
	RefRanges      []RefRange // the referenceRanges that have a high
	Components     []Component
	// InterpretationText holds interpretations given as text only, with no coding: what
	// they say cannot be matched, so a person must read them.
	InterpretationText []string
	// CodeText is code.text: what the sender called the test, named in evidence when its
	// codes cannot be placed.
	CodeText string
	// ValueCodeText is valueCodeableConcept.text given beside codings: a standard word
	// there decides when none of the codings can be placed (a local answer code).
	ValueCodeText string
	// RefRangeText holds reference ranges given only as text (no high): the lab's own
	// range is there but cannot be read, so no default ULN may stand in for it.
	RefRangeText []string
	// CodeDisplay and ValueDisplay are the record's words for the code and the coded
	// value (text, else the first coding's display), shown to people, never matched.
	CodeDisplay  string
	ValueDisplay string
}

// Bound is a value known only to lie beyond a limit: a Quantity with a comparator.
type Bound struct {
	Comparator string // <, <=, >= or >
	Limit      Quantity
}

// RefRange is one Observation.referenceRange with a high: the upper limit of normal
// for the population it applies to (appliesTo and age; none means everyone).
type RefRange struct {
	High      Quantity
	Type      []Coding   // normal, recommended, treatment...; none means normal
	AppliesTo [][]Coding // each appliesTo's codings; all of them must hold
	AgeLow    *Quantity  // age.low, e.g. 18 a
	AgeHigh   *Quantity
	// TypeText: a type is given, but as text only (no coding): it may say therapeutic,
	// so whether the range is the normal one cannot be told.
	TypeText bool
}

// Component is an Observation.component.
type Component struct {
	Code           []Coding
	Value          *Quantity
	ValueBound     *Bound // a valueQuantity with a comparator ("<10"); Value is then nil
	ValueCode      []Coding
	ValueText      string // valueString, or valueCodeableConcept.text without codings
	Interpretation []Coding
	RefRanges      []RefRange
}

// Condition is a normalized FHIR Condition.
type Condition struct {
	Ref          string
	Code         []Coding
	Clinical     string // clinicalStatus code
	Verification string // verificationStatus code
	Onset        When
	Recorded     When
	Abated       bool   // abatement[x] is present in any form
	Abatement    When   // abatement date, when given as a date
	Text         string // code.text, named when the code cannot be placed
	Display      string // code.text, else the first coding's display: shown, never matched
}

// Procedure is a normalized FHIR Procedure.
type Procedure struct {
	Ref       string
	Code      []Coding
	Status    string
	Performed When // performedDateTime, or the end (else start) of performedPeriod
	// PerformedStart is performedPeriod.start (unknown for performedDateTime): with the
	// end alone it cannot be told what the procedure covered.
	PerformedStart When
	// EndUnknown: performedPeriod has a start but no end, so Performed is when it began
	// and when it ended is not recorded.
	EndUnknown bool
	// StartUnknown: performedPeriod has an end but no start, so Performed is when it ended
	// and it may have been going on for any time before (unlike a performedDateTime).
	StartUnknown bool
	Text         string // code.text, named when the code cannot be placed
	Display      string // code.text, else the first coding's display: shown, never matched
}

// MedicationUse is a MedicationRequest, MedicationStatement or MedicationAdministration
// reduced to what a drug was and when it was taken.
type MedicationUse struct {
	Ref    string
	Code   []Coding
	Status string
	Start  When
	End    When // when the exposure ended; unknown if not recorded
	// Text is the drug as the sender wrote it (the concept's text, or the Medication's),
	// named in evidence when its codes cannot be placed.
	Text string
	// Planned: an order that proposes or plans the drug (MedicationRequest.intent
	// proposal or plan), not one that says it is given.
	Planned bool
	Display string // the concept's text, else its first coding's display: shown, never matched
}

// Allergy is a normalized FHIR AllergyIntolerance.
type Allergy struct {
	Ref          string
	Code         []Coding
	Clinical     string
	Verification string
	Criticality  string
	// Category: food, medication, environment, biologic. An allergy only to food or the
	// environment is no drug allergy, whatever its code.
	Category []string
	Text     string // code.text, named when the code cannot be placed
	Display  string // code.text, else the first coding's display: shown, never matched
}

// Fetch states of one resource type in a Record.
type FetchState string

const (
	FetchComplete FetchState = "complete" // every resource of this type was read
	FetchPartial  FetchState = "partial"  // some were withheld, masked or cut off
	FetchFailed   FetchState = "failed"   // the source could not provide them
)

// SourceStatus tells how completely one resource type was obtained.
type SourceStatus struct {
	State  FetchState `json:"state"`
	Detail string     `json:"detail,omitempty"`
	// Transient is set on a failed fetch that may pass on its own (the server was
	// unavailable or throttled): asking again later may complete the record.
	Transient bool `json:"transient,omitempty"`
}

// UnreadableEntry is an input entry that could not be read. Its type and codes are kept
// when they could be seen, so that only the criteria that might have needed it say so.
type UnreadableEntry struct {
	Index        int      `json:"index"`
	ResourceType string   `json:"resource_type,omitempty"`
	Codes        []string `json:"codes,omitempty"`
	Problem      string   `json:"problem"`
}

// Record is everything known about one patient, normalized from FHIR.
type Record struct {
	Patient       *Patient
	Observations  []Observation
	Conditions    []Condition
	Procedures    []Procedure
	Medications   []MedicationUse
	Allergies     []Allergy
	Sources       map[string]SourceStatus // by resource type; a missing type was not fetched
	Unreadable    []UnreadableEntry
	OtherPatients int            // resources about other patients, ignored
	Seen          map[string]int // resources read, by type, including those no criterion needed
	// Versions holds meta.versionId and meta.lastUpdated by reference ("Observation/1"),
	// for the resources that gave either; nil when none did (versions.go).
	Versions map[string]ResourceVersion
}

// Resource type names used in Sources and Seen.
const (
	TypePatient       = "Patient"
	TypeObservation   = "Observation"
	TypeCondition     = "Condition"
	TypeProcedure     = "Procedure"
	TypeAllergy       = "AllergyIntolerance"
	TypeMedRequest    = "MedicationRequest"
	TypeMedStatement  = "MedicationStatement"
	TypeMedAdminister = "MedicationAdministration"
	// TypeMedDispense: a pharmacy's record of what was handed over; with its days of
	// supply it is often the only record of an oral drug (lenalidomide) taken at home.
	TypeMedDispense = "MedicationDispense"
)

// MedicationTypes are the FHIR resource types that make up MedicationUse.
var MedicationTypes = []string{TypeMedRequest, TypeMedStatement, TypeMedAdminister, TypeMedDispense}

// dayString is YYYY-MM-DD without time.Format: dates are rendered for every piece of
// evidence, and this is on the evaluation's hot path.
func dayString(t time.Time) string {
	y, m, d := t.Date()
	if y < 0 || y > 9999 {
		return t.Format("2006-01-02")
	}
	b := [10]byte{byte('0' + y/1000), byte('0' + y/100%10), byte('0' + y/10%10), byte('0' + y%10), '-',
		byte('0' + int(m)/10), byte('0' + int(m)%10), '-', byte('0' + d/10), byte('0' + d%10)}
	return string(b[:])
}

// timeString is RFC 3339 in UTC, second precision, without time.Format (see dayString).
func timeString(t time.Time) string {
	t = t.UTC()
	y, mo, d := t.Date()
	h, mi, sec := t.Clock()
	if y < 0 || y > 9999 {
		return t.Format(time.RFC3339)
	}
	b := [20]byte{byte('0' + y/1000), byte('0' + y/100%10), byte('0' + y/10%10), byte('0' + y%10), '-',
		byte('0' + int(mo)/10), byte('0' + int(mo)%10), '-', byte('0' + d/10), byte('0' + d%10), 'T',
		byte('0' + h/10), byte('0' + h%10), ':', byte('0' + mi/10), byte('0' + mi%10), ':',
		byte('0' + sec/10), byte('0' + sec%10), 'Z'}
	return string(b[:])
}
