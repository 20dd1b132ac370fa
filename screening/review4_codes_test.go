package screening_test

import (
	"testing"

	"github.com/trialscreen/trialscreen/screening"
)

// A fail found through codes the protocol lists only as unverified (U) is a review only
// when every coding of the record that matches is unverified: a verified coding beside an
// unverified one excludes, in whichever order the record gives them.
func TestUnverifiedGuardReadsEveryCoding(t *testing.T) {
	const (
		delusional = "icd10cm|F22.0"   // under the U-only prefix F22
		otherDelus = "icd10cm|F22.8"   // the same U-only prefix
		schizo     = "snomed|58214004" // verified
		unrelated  = "local|XYZ"
	)
	withCodes := func(cs ...string) *patient {
		return exAdult().cond(screening.Condition{Code: codes(cs...), Clinical: "active", Verification: "confirmed", Onset: exYearsAgo(2)})
	}
	runR3(t, "mental-disorder", []r3Case{
		{name: "verified only fails", patient: withCodes(schizo), outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "unverified only is review", patient: withCodes(delusional), outcome: screening.Review, reason: screening.ReasonJudgement},
		{name: "unverified first, verified second fails", patient: withCodes(delusional, schizo), outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "verified first, unverified second fails", patient: withCodes(schizo, delusional), outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "two unverified codings are review", patient: withCodes(delusional, otherDelus), outcome: screening.Review, reason: screening.ReasonJudgement},
		{name: "an unverified coding beside one that does not match is review", patient: withCodes(unrelated, delusional), outcome: screening.Review, reason: screening.ReasonJudgement},
	})
}
