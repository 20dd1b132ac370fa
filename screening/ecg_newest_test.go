package screening_test

import (
	"testing"

	"github.com/trialscreen/trialscreen/screening"
)

// ECG: a normal code beside an interpretation given only as text needs a person, and the
// newest ECG decides, whether it is an interpreted observation or a bare procedure.
func TestECGNewestAndTextInterpretation(t *testing.T) {
	const (
		ecgObs  = "loinc|11524-6"
		ecgProc = "snomed|268400002"
		normal  = "snomed|164854000"
	)
	pt := func() *patient { return newPatient("male", "1959-10-10") }
	textInterp := pt().obs(screening.Observation{Status: "final", Code: codes(ecgObs), Effective: daysAgo(3),
		ValueCode: codes(normal), InterpretationText: []string{"atrial fibrillation"}})
	textValue := pt().obs(screening.Observation{Status: "final", Code: codes(ecgObs), Effective: daysAgo(3),
		Interpretation: codes("v3|N"), ValueText: "sinus tachycardia, ST depression"})
	newerProc := pt().incInterp(ecgObs, "v3|N", daysAgo(7)).procedure(ecgProc, daysAgo(2))
	monthProc := pt().incInterp(ecgObs, "v3|N", daysAgo(7)).procedure(ecgProc, r3Month("2026-11"))

	runR3(t, "ecg", []r3Case{
		{name: "normal code alone passes", patient: pt().incInterp(ecgObs, "v3|N", daysAgo(3)), outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "normal code with a text-only interpretation is review", patient: textInterp, outcome: screening.Review, reason: screening.ReasonJudgement, names: "atrial fibrillation"},
		{name: "normal interpretation with a text value is review", patient: textValue, outcome: screening.Review, reason: screening.ReasonJudgement},
		{name: "older normal observation, newer uninterpreted procedure is review", patient: newerProc,
			outcome: screening.Review, reason: screening.ReasonJudgement, names: "Procedure/", evidence: "Observation/1", note: "newest one decides"},
		{name: "older procedure, newer normal observation passes", patient: pt().procedure(ecgProc, daysAgo(7)).incInterp(ecgObs, "v3|N", daysAgo(2)),
			outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "procedure at the same instant as the normal observation passes", patient: pt().incInterp(ecgObs, "v3|N", daysAgo(2)).procedure(ecgProc, daysAgo(2)),
			outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "procedure alone is review", patient: pt().procedure(ecgProc, daysAgo(2)), outcome: screening.Review, reason: screening.ReasonJudgement},
		{name: "a month-only procedure that may be newer than the normal observation is unknown/conflict", patient: monthProc,
			outcome: screening.Unknown, reason: screening.ReasonConflict, names: "Procedure/2"},
		{name: "a procedure older than the window does not outrank a normal observation", patient: pt().procedure(ecgProc, daysAgo(40)).incInterp(ecgObs, "v3|N", daysAgo(2)),
			outcome: screening.Pass, reason: screening.ReasonMet},
	})
}
