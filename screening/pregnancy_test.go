package screening_test

import (
	"testing"

	"github.com/trialscreen/trialscreen/screening"
)

// Women of childbearing potential need a negative pregnancy test within 7 days; the
// criterion does not apply to men or to women whose record ends childbearing potential.
func TestPregnancyTest(t *testing.T) {
	const (
		urine    = "loinc|2106-3"
		serumQnt = "loinc|19080-1"
		negative = "snomed|260385009"
		positive = "snomed|10828004"
	)
	woman30 := func() *patient { return newPatient("female", "1996-03-10") }
	runCriterion(t, "pregnancy-test", []criterionCase{
		{name: "male is pass/not-applicable", patient: newPatient("male", "1986-03-10"), outcome: screening.Pass, reason: screening.ReasonNotApplicable},
		{name: "male with a positive test on file is still not-applicable", patient: newPatient("male", "1986-03-10").coded(urine, positive, daysAgo(1)), outcome: screening.Pass, reason: screening.ReasonNotApplicable},

		// Qualitative results.
		{name: "female 30, negative urine hCG 2106-3 within 7 days passes", patient: woman30().coded(urine, negative, daysAgo(2)), outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "negative by interpretation v3 NEG passes", patient: woman30().incInterp("loinc|2118-8", "v3|NEG", daysAgo(2)), outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "positive urine hCG fails", patient: woman30().coded(urine, positive, daysAgo(2)), outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "positive by interpretation v3 POS fails", patient: woman30().incInterp("loinc|80384-1", "v3|POS", daysAgo(2)), outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "narrative result is review/free-text", patient: woman30().incText(urine, "faint line, repeat advised", daysAgo(2)), outcome: screening.Review, reason: screening.ReasonFreeText},
		{name: "the standard word Negative as text passes", patient: woman30().incText(urine, " NEGATIVE ", daysAgo(2)), outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "the standard word Positive as text fails", patient: woman30().incText(urine, "Positive", daysAgo(2)), outcome: screening.Fail, reason: screening.ReasonFound},

		// Window.
		{name: "exactly 7 days old counts", patient: woman30().coded(urine, negative, daysAgo(7)), outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "8 days old is unknown/stale", patient: woman30().coded(urine, negative, daysAgo(8)), outcome: screening.Unknown, reason: screening.ReasonStale},
		{name: "a negative test dated after as-of is ignored", patient: woman30().coded(urine, negative, daysAgo(-1)), outcome: screening.Unknown, reason: screening.ReasonNoData},
		{name: "a newer negative decides over an older positive", patient: woman30().coded(urine, positive, daysAgo(6)).coded(urine, negative, daysAgo(1)), outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "preliminary only is unknown/not-final", patient: woman30().obs(screening.Observation{Status: "preliminary", Code: codes(urine), Effective: daysAgo(1), ValueCode: codes(negative)}),
			outcome: screening.Unknown, reason: screening.ReasonNotFinal},
		{name: "negative and positive at one instant is unknown/conflict", patient: woman30().coded(urine, negative, daysAgo(1)).coded("loinc|2118-8", positive, daysAgo(1)),
			outcome: screening.Unknown, reason: screening.ReasonConflict},

		// Quantitative hCG: below 5 [IU]/L is negative.
		{name: "quantitative 3 [IU]/L passes", patient: woman30().lab(serumQnt, 3, "[IU]/L", daysAgo(2)), outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "quantitative 4.9 m[IU]/mL passes", patient: woman30().lab("loinc|21198-7", 4.9, "m[IU]/mL", daysAgo(2)), outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "quantitative exactly 5 [IU]/L fails", patient: woman30().lab(serumQnt, 5, "[IU]/L", daysAgo(2)), outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "quantitative 250 [IU]/L fails", patient: woman30().lab(serumQnt, 250, "[IU]/L", daysAgo(2)), outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "quantitative with a display-only unit is unknown/unit", patient: woman30().incObs(serumQnt, incDisplayOnly(3, "mIU/mL"), "final", daysAgo(2)), outcome: screening.Unknown, reason: screening.ReasonUnit},

		// Childbearing potential.
		{name: "tubal ligation procedure is review (a person confirms)", patient: woman30().procedure("snomed|287664005", daysAgo(400)), outcome: screening.Review, reason: screening.ReasonJudgement},
		{name: "hysterectomy procedure is review", patient: woman30().procedure("snomed|236886002", daysAgo(400)), outcome: screening.Review, reason: screening.ReasonJudgement},
		{name: "postmenopausal condition is review", patient: newPatient("female", "1975-01-01").condition("snomed|76498008", daysAgo(300)), outcome: screening.Review, reason: screening.ReasonJudgement},
		{name: "tubal ligation with a positive test fails", patient: woman30().procedure("snomed|287664005", daysAgo(400)).coded("loinc|2106-3", "snomed|10828004", daysAgo(2)), outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "tubal ligation with a negative test passes", patient: woman30().procedure("snomed|287664005", daysAgo(400)).coded("loinc|2106-3", "snomed|260385009", daysAgo(2)), outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "a refuted postmenopausal condition does not count", patient: woman30().incCond("snomed|76498008", "active", "refuted"), outcome: screening.Unknown, reason: screening.ReasonNoData},
		{name: "a tubal ligation not done does not count", patient: woman30().incProc("snomed|287664005", "not-done", daysAgo(400)), outcome: screening.Unknown, reason: screening.ReasonNoData},
		{name: "female 60 without a test is review/judgement", patient: newPatient("female", "1966-03-10"), outcome: screening.Review, reason: screening.ReasonJudgement},
		{name: "female turning 55 on as-of without a test is review/judgement", patient: newPatient("female", "1971-11-24"), outcome: screening.Review, reason: screening.ReasonJudgement},
		{name: "female aged 54 without a test is unknown/no-data", patient: newPatient("female", "1971-11-25"), outcome: screening.Unknown, reason: screening.ReasonNoData},
		{name: "female 60 with a negative test passes", patient: newPatient("female", "1966-03-10").coded(urine, negative, daysAgo(1)), outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "female 30 without a test is unknown/no-data", patient: woman30(), outcome: screening.Unknown, reason: screening.ReasonNoData},
		{name: "gender unknown is not treated as male", patient: newPatient("unknown", "1996-03-10"), outcome: screening.Unknown, reason: screening.ReasonNoData},
	})
}
