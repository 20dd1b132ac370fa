package screening_test

import (
	"testing"

	"github.com/trialscreen/trialscreen/screening"
)

// therapy-washout: a radiotherapy or chemotherapy procedure whose performedPeriod has a
// start but no end did not end at its start: when it ended is unknown, so it is review
// (as a medication with a start only is), never read as ended at the start.
func TestWashoutProcedureWithStartOnly(t *testing.T) {
	const radio = "snomed|33195004"
	startOnly := func(status string) *patient {
		p := newPatient("male", "1959-10-10")
		p.rec.Procedures = append(p.rec.Procedures, screening.Procedure{Ref: "Procedure/rt", Code: codes(radio), Status: status,
			Performed: date("2026-10-01"), EndUnknown: true})
		return p
	}
	ended := func(when screening.When) *patient { return newPatient("male", "1959-10-10").procedure(radio, when) }
	runR3(t, "therapy-washout", []r3Case{
		{name: "completed, start only, no LD is review/undated", patient: startOnly("completed"),
			outcome: screening.Review, reason: screening.ReasonUndated, names: "2026-10-01", evidence: "Procedure/rt", note: "end not recorded"},
		{name: "completed, start only, LD planned is review/undated", patient: startOnly("completed"), ld: incAfter(5),
			outcome: screening.Review, reason: screening.ReasonUndated},
		{name: "in progress, start only is review/pending", patient: startOnly("in-progress"),
			outcome: screening.Review, reason: screening.ReasonPending},
		{name: "ended 2026-10-01 (date, not a start) passes", patient: ended(date("2026-10-01")),
			outcome: screening.Pass, reason: screening.ReasonMet},
	})
}
