package screening_test

import (
	"strings"
	"testing"
	"time"

	"github.com/trialscreen/trialscreen/protocols"
	"github.com/trialscreen/trialscreen/screening"
)

// Hand-built patients for criterion tests. Every test screens at asOf unless it says
// otherwise; dates are written relative to it so that windows read naturally.

var asOf = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

// daysAgo is a dateTime n days (of 24 h) before asOf.
func daysAgo(n float64) screening.When {
	return screening.When{Time: asOf.Add(-time.Duration(n * float64(24*time.Hour))), Precision: screening.PrecisionTime}
}

// date is a calendar date (midnight UTC, day precision).
func date(s string) screening.When {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return screening.When{Time: t, Precision: screening.PrecisionDay}
}

// code parses "loinc|751-8" style shorthands into a Coding.
func code(s string) screening.Coding {
	sys, c, _ := strings.Cut(s, "|")
	switch sys {
	case "loinc":
		sys = screening.SystemLOINC
	case "snomed":
		sys = screening.SystemSNOMED
	case "icd10cm":
		sys = screening.SystemICD10
	case "rxnorm":
		sys = screening.SystemRxNorm
	case "v3":
		sys = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
	case "local":
		sys = "http://trialscreen.example.org/fhir/CodeSystem/local-lab"
	}
	return screening.Coding{System: sys, Code: c}
}

func codes(ss ...string) []screening.Coding {
	out := make([]screening.Coding, len(ss))
	for i, s := range ss {
		out[i] = code(s)
	}
	return out
}

// qty is a UCUM quantity.
func qty(v float64, ucum string) *screening.Quantity {
	return &screening.Quantity{Value: v, Code: ucum, System: screening.SystemUCUM}
}

// patient is a record builder. Every resource type is marked complete, as for a Bundle.
type patient struct{ rec *screening.Record }

func newPatient(gender, birth string) *patient {
	rec := &screening.Record{
		Patient: &screening.Patient{Ref: "Patient/p1", ID: "p1", Gender: gender, BirthDate: date(birth)},
		Sources: map[string]screening.SourceStatus{},
		Seen:    map[string]int{},
	}
	for _, t := range []string{"Patient", "Observation", "Condition", "Procedure", "AllergyIntolerance", "MedicationRequest", "MedicationStatement", "MedicationAdministration", "MedicationDispense"} {
		rec.Sources[t] = screening.SourceStatus{State: screening.FetchComplete}
	}
	return &patient{rec: rec}
}

func (p *patient) ref(t string) string {
	n := len(p.rec.Observations) + len(p.rec.Conditions) + len(p.rec.Procedures) + len(p.rec.Medications) + len(p.rec.Allergies) + 1
	return t + "/" + itoa(n)
}

func itoa(n int) string {
	const digits = "0123456789"
	if n < 10 {
		return digits[n : n+1]
	}
	return itoa(n/10) + digits[n%10:n%10+1]
}

// lab adds a final numeric observation.
func (p *patient) lab(c string, v float64, ucum string, when screening.When) *patient {
	return p.obs(screening.Observation{Status: "final", Code: codes(c), Effective: when, Value: qty(v, ucum)})
}

// coded adds a final observation with a coded value.
func (p *patient) coded(c, value string, when screening.When) *patient {
	return p.obs(screening.Observation{Status: "final", Code: codes(c), Effective: when, ValueCode: codes(value)})
}

// obs adds any observation; Ref is filled in when empty.
func (p *patient) obs(o screening.Observation) *patient {
	if o.Ref == "" {
		o.Ref = p.ref("Observation")
	}
	p.rec.Observations = append(p.rec.Observations, o)
	return p
}

// condition adds an active, confirmed condition with an onset.
func (p *patient) condition(c string, onset screening.When) *patient {
	return p.cond(screening.Condition{Code: codes(c), Clinical: "active", Verification: "confirmed", Onset: onset})
}

func (p *patient) cond(c screening.Condition) *patient {
	if c.Ref == "" {
		c.Ref = p.ref("Condition")
	}
	p.rec.Conditions = append(p.rec.Conditions, c)
	return p
}

// proc adds any procedure; Ref is filled in when empty.
func (p *patient) proc(pr screening.Procedure) *patient {
	if pr.Ref == "" {
		pr.Ref = p.ref("Procedure")
	}
	p.rec.Procedures = append(p.rec.Procedures, pr)
	return p
}

func (p *patient) procedure(c string, performed screening.When) *patient {
	p.rec.Procedures = append(p.rec.Procedures, screening.Procedure{Ref: p.ref("Procedure"), Code: codes(c), Status: "completed", Performed: performed})
	return p
}

// med adds a medication exposure; a zero end means none recorded.
func (p *patient) med(c, status string, start, end screening.When) *patient {
	p.rec.Medications = append(p.rec.Medications, screening.MedicationUse{Ref: p.ref("MedicationStatement"), Code: codes(c), Status: status, Start: start, End: end})
	return p
}

func (p *patient) allergy(c, verification string) *patient {
	p.rec.Allergies = append(p.rec.Allergies, screening.Allergy{Ref: p.ref("AllergyIntolerance"), Code: codes(c), Clinical: "active", Verification: verification})
	return p
}

// loadProtocol compiles the shipped protocol once per test binary.
func loadProtocol(t testing.TB) *screening.Protocol {
	t.Helper()
	p, err := protocols.LoadDefault()
	if err != nil {
		t.Fatalf("load protocol: %v", err)
	}
	return p
}

// screen evaluates a record at asOf and returns the result for one criterion.
func screen(t testing.TB, p *screening.Protocol, rec *screening.Record, id string) screening.Result {
	t.Helper()
	return screenWith(t, p, rec, id, screening.Settings{AsOf: asOf})
}

func screenWith(t testing.TB, p *screening.Protocol, rec *screening.Record, id string, s screening.Settings) screening.Result {
	t.Helper()
	out := p.Evaluate(rec, s)
	for _, r := range out.Criteria {
		if r.ID == id {
			return r
		}
	}
	t.Fatalf("criterion %q not in result", id)
	return screening.Result{}
}

// criterionCase is one hand-built patient and the outcome one criterion must give.
type criterionCase struct {
	name    string
	patient *patient
	asOf    time.Time // zero: asOf
	ld      time.Time
	outcome screening.Outcome
	reason  screening.Reason // empty: not checked
}

// runCriterion checks every case of one criterion.
func runCriterion(t *testing.T, id string, cases []criterionCase) {
	t.Helper()
	p := loadProtocol(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := screening.Settings{AsOf: asOf, LymphodepletionDate: tc.ld}
			if !tc.asOf.IsZero() {
				s.AsOf = tc.asOf
			}
			r := screenWith(t, p, tc.patient.rec, id, s)
			if r.Outcome != tc.outcome || (tc.reason != "" && r.Reason != tc.reason) {
				t.Errorf("%s: got %s/%s (%s), want %s/%s", id, r.Outcome, r.Reason, r.Summary, tc.outcome, tc.reason)
			}
		})
	}
}
