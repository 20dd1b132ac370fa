package screening_test

import (
	"testing"

	"github.com/trialscreen/trialscreen/screening"
)

// Data that is imprecise or contradicts itself never passes.

func TestWashoutImpreciseOrStillActive(t *testing.T) {
	monthEnd := screening.When{Time: date("2026-11-01").Time, Precision: screening.PrecisionMonth}
	runCriterion(t, "therapy-washout", []criterionCase{
		{name: "an end known only to the month of as-of is not 14 days ago",
			patient: newPatient("male", "1960-01-01").med("rxnorm|358258", "completed", date("2026-06-01"), monthEnd),
			outcome: screening.Review, reason: screening.ReasonPending},
		{name: "status active wins over a past end date",
			patient: newPatient("male", "1960-01-01").med("rxnorm|342369", "active", daysAgo(200), daysAgo(60)),
			outcome: screening.Review, reason: screening.ReasonPending},
	})
}

func TestRoomAirCodeDoesNotOverrideOxygenFlow(t *testing.T) {
	o := screening.Observation{Status: "final", Code: codes("loinc|59410-1"), Effective: daysAgo(2), Value: qty(97, "%"),
		Components: []screening.Component{{Code: codes("loinc|3151-8"), Value: qty(4, "L/min")}}}
	runCriterion(t, "oxygen-saturation", []criterionCase{
		{name: "coded on room air but 4 L/min of oxygen", patient: newPatient("male", "1960-01-01").obs(o),
			outcome: screening.Unknown, reason: screening.ReasonNotRoomAir},
	})
}

func TestECGNormalFlagWithAbnormalValue(t *testing.T) {
	o := screening.Observation{Status: "final", Code: codes("loinc|11524-6"), Effective: daysAgo(5),
		ValueCode: codes("snomed|164889003"), Interpretation: codes("v3|N")}
	runCriterion(t, "ecg", []criterionCase{
		{name: "interpretation N beside an abnormal coded value is review", patient: newPatient("male", "1960-01-01").obs(o),
			outcome: screening.Review, reason: screening.ReasonJudgement},
	})
}

func TestYearOnlyResultDoesNotQualify(t *testing.T) {
	o := screening.Observation{Status: "final", Code: codes("loinc|751-8"), Value: qty(3, "10*3/uL"),
		Effective: screening.When{Time: date("2026-01-01").Time, Precision: screening.PrecisionYear}}
	runCriterion(t, "neutrophils", []criterionCase{
		{name: "an ANC dated only 2026", patient: newPatient("male", "1960-01-01").obs(o),
			outcome: screening.Unknown, reason: screening.ReasonNoData},
	})
}
