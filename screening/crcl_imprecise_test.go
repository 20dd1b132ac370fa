package screening_test

import (
	"testing"

	"github.com/trialscreen/trialscreen/screening"
)

// A creatinine with no date, or dated only to the month, may be later than the day-dated
// one used. Its CrCl needs the age at its date: with no date it is never computed (once
// it was, at year 1, and passed); a month is judged at both ends, and it counts as
// deciding the same only when every age the month allows does.
func TestCreatinineClearanceImpreciseCandidateAge(t *testing.T) {
	const (
		scr    = "loinc|2160-0"
		weight = "loinc|29463-7"
	)
	month := screening.When{Time: date("2026-11-01").Time, Precision: screening.PrecisionMonth}
	// Born 1951-11-10: 74 on 1 November 2026, 75 from the 10th. With 66 kg and SCr 1.0,
	// CrCl is 60.5 at 74 (meets >= 60) and 59.6 at 75 (does not).
	man := func() *patient {
		return newPatient("male", "1951-11-10").lab(weight, 66, "kg", daysAgo(2)).lab(scr, 0.8, "mg/dL", daysAgo(1))
	}
	undated := func(v float64) *patient {
		return man().obs(screening.Observation{Status: "final", Code: codes(scr), Value: qty(v, "mg/dL")})
	}
	runR3(t, "creatinine-clearance", []r3Case{
		{name: "day-dated creatinine alone passes", patient: man(), outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "an undated creatinine of 5.0 mg/dL is a conflict, not judged at an invented age",
			patient: undated(5.0), outcome: screening.Unknown, reason: screening.ReasonConflict, names: "Observation/3",
			evidence: "Observation/3", note: "with no date"},
		{name: "an undated creatinine equal to the one used is still a conflict: its age is unknown",
			patient: undated(0.8), outcome: screening.Unknown, reason: screening.ReasonConflict, names: "Observation/3"},
		{name: "a month-dated creatinine whose ages in the month decide differently is a conflict",
			patient: man().obs(screening.Observation{Status: "final", Code: codes(scr), Effective: month, Value: qty(1.0, "mg/dL")}),
			outcome: screening.Unknown, reason: screening.ReasonConflict, names: "Observation/3"},
		{name: "a month-dated creatinine that passes at every age the month allows decides the same",
			patient: man().obs(screening.Observation{Status: "final", Code: codes(scr), Effective: month, Value: qty(0.9, "mg/dL")}),
			outcome: screening.Pass, reason: screening.ReasonMet, evidence: "Observation/3", note: "would decide the same"},
	})
}
