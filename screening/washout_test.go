package screening_test

import (
	"testing"

	"github.com/trialscreen/trialscreen/screening"
)

// Anti-tumour therapy must have ended >= 14 days before lymphodepletion: the planned date
// when given (then too short is a fail), otherwise as-of (then too short is pending).
func TestTherapyWashout(t *testing.T) {
	const (
		bortezomib   = "rxnorm|358258"
		daratumumab  = "rxnorm|1721947"
		radiotherapy = "snomed|1287742003"
		chemo        = "snomed|367336001"
	)
	pt := func() *patient { return newPatient("male", "1961-06-06") }
	runCriterion(t, "therapy-washout", []criterionCase{
		{name: "no therapy is pass/not-found", patient: pt(), outcome: screening.Pass, reason: screening.ReasonNotFound},
		{name: "a drug that is not anti-tumour is pass/not-found", patient: pt().med("rxnorm|8640", "completed", daysAgo(30), daysAgo(3)), outcome: screening.Pass, reason: screening.ReasonNotFound},
		{name: "bortezomib ended 20 days ago passes", patient: pt().med(bortezomib, "completed", daysAgo(120), daysAgo(20)), outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "bortezomib ended exactly 14 days before as-of passes", patient: pt().med(bortezomib, "completed", daysAgo(120), daysAgo(14)), outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "bortezomib ended 5 days ago without a lymphodepletion date is review/pending", patient: pt().med(bortezomib, "completed", daysAgo(120), daysAgo(5)),
			outcome: screening.Review, reason: screening.ReasonPending},
		{name: "ended 5 days ago, lymphodepletion 10 days after the end fails", patient: pt().med(bortezomib, "completed", daysAgo(120), daysAgo(5)), ld: incAfter(5),
			outcome: screening.Fail, reason: screening.ReasonNotMet},
		{name: "ended 5 days ago, lymphodepletion 10 days after as-of (15 after the end) passes", patient: pt().med(bortezomib, "completed", daysAgo(120), daysAgo(5)), ld: incAfter(10),
			outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "ended 5 days ago, lymphodepletion exactly 14 days after the end passes", patient: pt().med(bortezomib, "completed", daysAgo(120), daysAgo(5)), ld: incAfter(9),
			outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "ended 20 days ago but lymphodepletion was 10 days ago fails", patient: pt().med(bortezomib, "completed", daysAgo(120), daysAgo(20)), ld: incAfter(-10),
			outcome: screening.Fail, reason: screening.ReasonNotMet},
		{name: "ongoing active therapy is review/pending", patient: pt().med(daratumumab, "active", daysAgo(60), screening.When{}), outcome: screening.Review, reason: screening.ReasonPending},
		{name: "ongoing active therapy with a lymphodepletion date is review/pending", patient: pt().med(daratumumab, "active", daysAgo(60), screening.When{}), ld: incAfter(20),
			outcome: screening.Review, reason: screening.ReasonPending},
		{name: "therapy ending after as-of is review/pending", patient: pt().med(daratumumab, "completed", daysAgo(60), daysAgo(-3)), outcome: screening.Review, reason: screening.ReasonPending},
		{name: "completed therapy with no end date is review/undated", patient: pt().med(bortezomib, "completed", daysAgo(60), screening.When{}), outcome: screening.Review, reason: screening.ReasonUndated},
		{name: "entered-in-error therapy does not count", patient: pt().med(bortezomib, "entered-in-error", daysAgo(60), daysAgo(2)), outcome: screening.Pass, reason: screening.ReasonNotFound},
		{name: "radiotherapy 3 days before lymphodepletion fails", patient: pt().procedure(radiotherapy, daysAgo(1)), ld: incAfter(2), outcome: screening.Fail, reason: screening.ReasonNotMet},
		{name: "radiotherapy 30 days ago passes", patient: pt().procedure(radiotherapy, daysAgo(30)), outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "chemotherapy in progress is review/pending", patient: pt().incProc(chemo, "in-progress", daysAgo(2)), outcome: screening.Review, reason: screening.ReasonPending},
		{name: "cancelled chemotherapy does not count", patient: pt().incProc(chemo, "cancelled", daysAgo(2)), ld: incAfter(2), outcome: screening.Pass, reason: screening.ReasonNotFound},
		{name: "one old and one recent therapy: the recent one fails", patient: pt().med(bortezomib, "completed", daysAgo(200), daysAgo(100)).med(daratumumab, "completed", daysAgo(60), daysAgo(3)), ld: incAfter(5),
			outcome: screening.Fail, reason: screening.ReasonNotMet},
		{name: "a fail outweighs an ongoing therapy", patient: pt().med(daratumumab, "active", daysAgo(60), screening.When{}).procedure(radiotherapy, daysAgo(1)), ld: incAfter(2),
			outcome: screening.Fail, reason: screening.ReasonNotMet},
	})
}
