package screening_test

import (
	"testing"

	"github.com/trialscreen/trialscreen/screening"
)

// LVEF >= 50% by echocardiography, within 28 days; a code that does not show the method
// is review.
func TestLVEF(t *testing.T) {
	const echo = "loinc|18043-0"
	pt := func() *patient { return newPatient("female", "1964-12-12") }
	runCriterion(t, "lvef", []criterionCase{
		{name: "echo 18043-0 50 % passes", patient: pt().lab(echo, 50, "%", daysAgo(3)), outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "echo 18043-0 49 % fails", patient: pt().lab(echo, 49, "%", daysAgo(3)), outcome: screening.Fail, reason: screening.ReasonNotMet},
		{name: "echo 18043-0 49.9 % fails", patient: pt().lab(echo, 49.9, "%", daysAgo(3)), outcome: screening.Fail, reason: screening.ReasonNotMet},
		{name: "2D echo 8806-2 62 % passes", patient: pt().lab("loinc|8806-2", 62, "%", daysAgo(3)), outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "2D echo visual estimate 8807-0 45 % fails", patient: pt().lab("loinc|8807-0", 45, "%", daysAgo(3)), outcome: screening.Fail, reason: screening.ReasonNotMet},
		{name: "method-less 10230-1 60 % is review/method", patient: pt().lab("loinc|10230-1", 60, "%", daysAgo(3)), outcome: screening.Review, reason: screening.ReasonMethod},
		{name: "method-less 10230-1 40 % is review/method", patient: pt().lab("loinc|10230-1", 40, "%", daysAgo(3)), outcome: screening.Review, reason: screening.ReasonMethod},
		{name: "LVEF by MR 8811-2 is review/method", patient: pt().lab("loinc|8811-2", 58, "%", daysAgo(3)), outcome: screening.Review, reason: screening.ReasonMethod},
		{name: "none is unknown/no-data", patient: pt(), outcome: screening.Unknown, reason: screening.ReasonNoData},
		{name: "exactly 28 days old counts", patient: pt().lab(echo, 60, "%", daysAgo(28)), outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "29 days old is unknown/stale", patient: pt().lab(echo, 60, "%", daysAgo(29)), outcome: screening.Unknown, reason: screening.ReasonStale},
		{name: "preliminary only is unknown/not-final", patient: pt().incPrelim(echo, 60, "%", daysAgo(3)), outcome: screening.Unknown, reason: screening.ReasonNotFinal},
		{name: "percent as display text only is unknown/unit", patient: pt().incObs(echo, incDisplayOnly(60, "%"), "final", daysAgo(3)), outcome: screening.Unknown, reason: screening.ReasonUnit},
		{name: "free text is review/free-text", patient: pt().incText(echo, "normal systolic function", daysAgo(3)), outcome: screening.Review, reason: screening.ReasonFreeText},
		{name: "the latest echo decides", patient: pt().lab(echo, 40, "%", daysAgo(20)).lab(echo, 55, "%", daysAgo(2)), outcome: screening.Pass, reason: screening.ReasonMet},
	})
}

// An ECG within 28 days with a coded normal interpretation passes; anything else found is
// review; nothing is unknown.
func TestECG(t *testing.T) {
	const (
		study      = "loinc|11524-6"
		impression = "loinc|8601-7"
		normal     = "snomed|164854000"
	)
	pt := func() *patient { return newPatient("male", "1957-01-15") }
	runCriterion(t, "ecg", []criterionCase{
		{name: "coded normal value (SNOMED 164854000, listed only as unverified) is review/judgement", patient: pt().coded(study, normal, daysAgo(5)), outcome: screening.Review, reason: screening.ReasonJudgement},
		{name: "interpretation v3 N passes", patient: pt().incInterp(impression, "v3|N", daysAgo(5)), outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "interpretation v3 A is review/judgement", patient: pt().incInterp(impression, "v3|A", daysAgo(5)), outcome: screening.Review, reason: screening.ReasonJudgement},
		{name: "another coded finding is review/judgement", patient: pt().coded(study, "snomed|102594003", daysAgo(5)), outcome: screening.Review, reason: screening.ReasonJudgement},
		{name: "narrative only is review/judgement", patient: pt().incText(impression, "sinus rhythm, normal axis", daysAgo(5)), outcome: screening.Review, reason: screening.ReasonJudgement},
		{name: "ECG procedure only is review/judgement", patient: pt().procedure("snomed|268400002", daysAgo(5)), outcome: screening.Review, reason: screening.ReasonJudgement},
		{name: "ECG procedure 29303009 only is review/judgement", patient: pt().procedure("snomed|29303009", daysAgo(27)), outcome: screening.Review, reason: screening.ReasonJudgement},
		{name: "ECG procedure outside the window is unknown/no-data", patient: pt().procedure("snomed|268400002", daysAgo(40)), outcome: screening.Unknown, reason: screening.ReasonNoData},
		{name: "ECG procedure not done is unknown/no-data", patient: pt().incProc("snomed|268400002", "not-done", daysAgo(5)), outcome: screening.Unknown, reason: screening.ReasonNoData},
		{name: "ECG procedure after as-of is unknown/no-data", patient: pt().procedure("snomed|268400002", daysAgo(-2)), outcome: screening.Unknown, reason: screening.ReasonNoData},
		{name: "none is unknown/no-data", patient: pt(), outcome: screening.Unknown, reason: screening.ReasonNoData},
		{name: "exactly 28 days old normal ECG counts", patient: pt().incInterp(study, "v3|N", daysAgo(28)), outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "29 days old normal ECG is unknown/stale", patient: pt().coded(study, normal, daysAgo(29)), outcome: screening.Unknown, reason: screening.ReasonStale},
		{name: "preliminary normal ECG only is unknown/not-final", patient: pt().obs(screening.Observation{Status: "preliminary", Code: codes(study), Effective: daysAgo(5), ValueCode: codes(normal)}),
			outcome: screening.Unknown, reason: screening.ReasonNotFinal},
		{name: "normal and abnormal at one instant is unknown/conflict", patient: pt().incInterp(study, "v3|N", daysAgo(5)).incInterp(impression, "v3|A", daysAgo(5)),
			outcome: screening.Unknown, reason: screening.ReasonConflict},
		{name: "the latest ECG decides", patient: pt().incInterp(impression, "v3|A", daysAgo(20)).incInterp(study, "v3|N", daysAgo(2)), outcome: screening.Pass, reason: screening.ReasonMet},
	})
}
