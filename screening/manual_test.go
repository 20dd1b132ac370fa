package screening_test

import (
	"testing"

	"github.com/trialscreen/trialscreen/screening"
)

// Criteria only a person can decide are always review/manual, whatever the record holds
// and however completely it was fetched.
func TestManualInclusions(t *testing.T) {
	full := func() *patient {
		return newPatient("female", "1970-01-01").
			incCond("snomed|109989006", "active", "confirmed").
			lab("loinc|751-8", 2.0, "10*9/L", daysAgo(1)).
			incInt("loinc|89247-1", 1, daysAgo(1))
	}
	partial := func() *patient {
		return newPatient("male", "1970-01-01").
			incSource("Observation", screening.FetchPartial).
			incSource("Condition", screening.FetchFailed).
			incUnreadable("")
	}
	for _, id := range []string{"life-expectancy", "venous-access", "contraception", "informed-consent"} {
		t.Run(id, func(t *testing.T) {
			runCriterion(t, id, []criterionCase{
				{name: "empty record is review/manual", patient: newPatient("male", "1960-01-01"), outcome: screening.Review, reason: screening.ReasonManual},
				{name: "full record is review/manual", patient: full(), outcome: screening.Review, reason: screening.ReasonManual},
				{name: "partial sources and unreadable entries leave it review/manual", patient: partial(), outcome: screening.Review, reason: screening.ReasonManual},
			})
		})
	}
}
