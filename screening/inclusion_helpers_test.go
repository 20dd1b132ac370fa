package screening_test

import (
	"math"
	"testing"
	"time"

	"github.com/trialscreen/trialscreen/screening"
)

// Builder helpers for the inclusion-criterion tests. They only add to the builder in
// patient_test.go; every name starts with "inc" so that it cannot collide with helpers
// written for the exclusion tests in the same package.

// incAfter is the instant n days (of 24 h) after asOf, e.g. a planned lymphodepletion.
func incAfter(n float64) time.Time {
	return asOf.Add(time.Duration(n * float64(24*time.Hour)))
}

// incObs adds an observation with any quantity (nil for none) and status.
func (p *patient) incObs(c string, q *screening.Quantity, status string, when screening.When) *patient {
	return p.obs(screening.Observation{Status: status, Code: codes(c), Effective: when, Value: q})
}

// incPrelim adds a numeric observation with status preliminary.
func (p *patient) incPrelim(c string, v float64, ucum string, when screening.When) *patient {
	return p.incObs(c, qty(v, ucum), "preliminary", when)
}

// incLabRef adds a final numeric observation whose reference range high is given.
func (p *patient) incLabRef(c string, v float64, ucum string, high *screening.Quantity, when screening.When) *patient {
	return p.obs(screening.Observation{Status: "final", Code: codes(c), Effective: when, Value: qty(v, ucum), RefRanges: []screening.RefRange{{High: *high}}})
}

// incText adds a final observation whose value is free text only.
func (p *patient) incText(c, text string, when screening.When) *patient {
	return p.obs(screening.Observation{Status: "final", Code: codes(c), Effective: when, ValueText: text})
}

// incInterp adds a final observation with only an interpretation code.
func (p *patient) incInterp(c, interp string, when screening.When) *patient {
	return p.obs(screening.Observation{Status: "final", Code: codes(c), Effective: when, Interpretation: codes(interp)})
}

// incInt adds a final observation with a valueInteger (a quantity with no unit at all).
func (p *patient) incInt(c string, v int, when screening.When) *patient {
	return p.incObs(c, &screening.Quantity{Value: float64(v)}, "final", when)
}

// incWithComponents adds a final numeric observation with components.
func (p *patient) incWithComponents(c string, v float64, ucum string, when screening.When, comps ...screening.Component) *patient {
	return p.obs(screening.Observation{Status: "final", Code: codes(c), Effective: when, Value: qty(v, ucum), Components: comps})
}

// incComp is a numeric component.
func incComp(c string, v float64, ucum string) screening.Component {
	return screening.Component{Code: codes(c), Value: qty(v, ucum)}
}

// incDisplayOnly is a quantity whose unit is display text only (no UCUM code).
func incDisplayOnly(v float64, unit string) *screening.Quantity {
	return &screening.Quantity{Value: v, Unit: unit}
}

// incOtherSystem is a quantity coded in a unit system that is not UCUM.
func incOtherSystem(v float64, unitCode string) *screening.Quantity {
	return &screening.Quantity{Value: v, Code: unitCode, Unit: unitCode, System: "http://example.org/units"}
}

// incCond adds a condition with the given clinical and verification status.
func (p *patient) incCond(c, clinical, verification string) *patient {
	return p.cond(screening.Condition{Code: codes(c), Clinical: clinical, Verification: verification, Onset: daysAgo(200)})
}

// incProc adds a procedure with a status.
func (p *patient) incProc(c, status string, performed screening.When) *patient {
	p.rec.Procedures = append(p.rec.Procedures, screening.Procedure{Ref: p.ref("Procedure"), Code: codes(c), Status: status, Performed: performed})
	return p
}

// incSource sets how completely a resource type (or "Type#criterion") was obtained.
func (p *patient) incSource(t string, st screening.FetchState) *patient {
	p.rec.Sources[t] = screening.SourceStatus{State: st, Detail: "set by test"}
	return p
}

// incDropSource marks a resource type as never fetched.
func (p *patient) incDropSource(t string) *patient {
	delete(p.rec.Sources, t)
	return p
}

// incUnreadable adds an unreadable entry of a type with codes ("system|code").
func (p *patient) incUnreadable(t string, cs ...string) *patient {
	p.rec.Unreadable = append(p.rec.Unreadable, screening.UnreadableEntry{Index: len(p.rec.Unreadable), ResourceType: t, Codes: cs, Problem: "set by test"})
	return p
}

// incEvidenceRole returns the first evidence item with a role, failing when there is none.
func incEvidenceRole(t *testing.T, r screening.Result, role string) screening.Evidence {
	t.Helper()
	for _, e := range r.Evidence {
		if e.Role == role {
			return e
		}
	}
	t.Fatalf("%s: no evidence with role %q in %+v", r.ID, role, r.Evidence)
	return screening.Evidence{}
}

// incNear reports whether a pointer value is within tol of want.
func incNear(v *float64, want, tol float64) bool {
	return v != nil && math.Abs(*v-want) <= tol
}
