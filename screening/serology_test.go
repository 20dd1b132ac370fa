package screening_test

import (
	"testing"

	"github.com/trialscreen/trialscreen/screening"
)

// Serology codes used below.
const (
	exHIV      = "loinc|7917-8"
	exHCV      = "loinc|13955-0"
	exHBsAg    = "loinc|5196-1"
	exTPPA     = "loinc|24312-1"
	exNeg      = "snomed|260385009"
	exPos      = "snomed|10828004"
	exHIVNotDx = "snomed|165815009"
)

// exSerology adds negative HIV, HCV, HBsAg and TPPA results taken days ago, leaving out
// the tests named in skip.
func exSerology(p *patient, days float64, skip ...string) *patient {
	for _, test := range []string{exHIV, exHCV, exHBsAg, exTPPA} {
		skipped := false
		for _, s := range skip {
			skipped = skipped || s == test
		}
		if !skipped {
			p.coded(test, exNeg, daysAgo(days))
		}
	}
	return p
}

// viral-serology: every test needs a negative result within 28 days; a positive one (or a
// coded infection) fails; an older positive is review; missing or stale is unknown.
func TestViralSerology(t *testing.T) {
	runCriterion(t, "viral-serology", []criterionCase{
		{name: "all four negative within 28 days passes", patient: exSerology(exAdult(), 10),
			outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "HIV coded 'HIV not detected' counts as negative", patient: exSerology(exAdult(), 10, exHIV).coded(exHIV, exHIVNotDx, daysAgo(10)),
			outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "negatives given only as a v3 NEG interpretation pass", patient: exSerology(exAdult(), 10, exHCV).exInterpreted(exHCV, "v3|NEG", daysAgo(10)),
			outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "negatives exactly 28 days old still pass", patient: exSerology(exAdult(), 28),
			outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "one positive value fails", patient: exSerology(exAdult(), 10, exHCV).coded(exHCV, exPos, daysAgo(10)),
			outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "a v3 POS interpretation fails", patient: exSerology(exAdult(), 10, exHBsAg).exInterpreted(exHBsAg, "v3|POS", daysAgo(5)),
			outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "positive TPPA fails even when other results are missing", patient: exAdult().coded(exTPPA, exPos, daysAgo(3)),
			outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "a newer positive outweighs an older negative within the window",
			patient: exSerology(exAdult(), 20).coded(exHCV, exPos, daysAgo(2)),
			outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "a positive within the window fails even when a newer negative follows it",
			patient: exSerology(exAdult(), 2).coded(exHCV, exPos, daysAgo(20)),
			outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "one test missing is unknown", patient: exSerology(exAdult(), 10, exTPPA),
			outcome: screening.Unknown, reason: screening.ReasonNoData},
		{name: "no serology at all is unknown", patient: exAdult(),
			outcome: screening.Unknown, reason: screening.ReasonNoData},
		{name: "one test 29 days old is unknown (stale)", patient: exSerology(exAdult(), 10, exHBsAg).coded(exHBsAg, exNeg, daysAgo(29)),
			outcome: screening.Unknown, reason: screening.ReasonStale},
		{name: "a preliminary result does not count", patient: exSerology(exAdult(), 10, exHIV).obs(screening.Observation{
			Status: "preliminary", Code: codes(exHIV), Effective: daysAgo(5), ValueCode: codes(exNeg)}),
			outcome: screening.Unknown, reason: screening.ReasonNotFinal},
		{name: "a preliminary positive does not fail", patient: exSerology(exAdult(), 10).obs(screening.Observation{
			Status: "preliminary", Code: codes(exHCV), Effective: daysAgo(5), ValueCode: codes(exPos)}),
			outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "a result dated after as-of is ignored", patient: exSerology(exAdult(), 10).coded(exHIV, exPos, daysAgo(-2)),
			outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "an older positive with recent negatives is review", patient: exSerology(exAdult(), 10).coded(exHCV, exPos, daysAgo(200)),
			outcome: screening.Review, reason: screening.ReasonOlderPositive},
		{name: "an older positive with a missing test is unknown", patient: exSerology(exAdult(), 10, exTPPA).coded(exHCV, exPos, daysAgo(200)),
			outcome: screening.Unknown, reason: screening.ReasonNoData},
		// The contract: any positive within the window fails, so a negative beside it at the
		// same instant is no conflict.
		{name: "positive and negative at the same instant fails", patient: exSerology(exAdult(), 10).coded(exHCV, exPos, daysAgo(10)),
			outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "negative and uncoded at the same instant still conflict", patient: exSerology(exAdult(), 10).lab(exHCV, 0.12, "{s_co_ratio}", daysAgo(10)),
			outcome: screening.Unknown, reason: screening.ReasonConflict},
		{name: "numeric signal-to-cutoff value is unknown (not coded)", patient: exSerology(exAdult(), 10, exHCV).lab(exHCV, 0.12, "{s_co_ratio}", daysAgo(10)),
			outcome: screening.Unknown, reason: screening.ReasonUncoded},
		{name: "coded HIV infection fails despite negative tests", patient: exSerology(exAdult(), 10).condition("snomed|86406008", exYearsAgo(4)),
			outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "coded HIV infection fails without any tests", patient: exAdult().condition("snomed|86406008", exYearsAgo(4)),
			outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "chronic hepatitis C B18.2 fails", patient: exSerology(exAdult(), 10).condition("icd10cm|B18.2", exYearsAgo(4)),
			outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "asymptomatic HIV Z21 fails", patient: exSerology(exAdult(), 10).condition("icd10cm|Z21", exYearsAgo(4)),
			outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "refuted HIV infection is ignored", patient: exSerology(exAdult(), 10).exCond("snomed|86406008", "active", "refuted", exYearsAgo(4)),
			outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "entered-in-error HIV infection is ignored", patient: exSerology(exAdult(), 10).exCond("snomed|86406008", "active", "entered-in-error", exYearsAgo(4)),
			outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "failed Observation fetch is unknown", patient: exSerology(exAdult(), 10).exSource("Observation", screening.FetchFailed),
			outcome: screening.Unknown, reason: screening.ReasonSourceError},
		{name: "failed Condition fetch is unknown even with all negatives", patient: exSerology(exAdult(), 10).exSource("Condition", screening.FetchFailed),
			outcome: screening.Unknown, reason: screening.ReasonSourceError},
		{name: "a positive stays fail although the Observation fetch was partial",
			patient: exSerology(exAdult(), 10, exHCV).coded(exHCV, exPos, daysAgo(10)).exSource("Observation", screening.FetchPartial),
			outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "unreadable Condition with no codes is unknown", patient: exSerology(exAdult(), 10).exUnreadable("Condition"),
			outcome: screening.Unknown, reason: screening.ReasonUnreadable},
		{name: "unreadable serology observation is unknown", patient: exSerology(exAdult(), 10).exUnreadable("Observation", exFullURL(exHCV)),
			outcome: screening.Unknown, reason: screening.ReasonUnreadable},
		{name: "unreadable Condition with an unrelated code leaves pass", patient: exSerology(exAdult(), 10).exUnreadable("Condition", "http://snomed.info/sct|38341003"),
			outcome: screening.Pass, reason: screening.ReasonMet},
	})
}

func TestViralSerologyEvidence(t *testing.T) {
	t.Run("a pass cites all four results", func(t *testing.T) {
		p := exSerology(exAdult(), 10)
		r := exCheck(t, "viral-serology", p, screening.Pass, screening.ReasonMet,
			exFullURL(exHIV), exFullURL(exHCV), exFullURL(exHBsAg), exFullURL(exTPPA))
		if len(r.Evidence) != 4 {
			t.Errorf("want 4 evidence entries, got %d: %+v", len(r.Evidence), r.Evidence)
		}
	})
	t.Run("a fail cites the positive result and its value", func(t *testing.T) {
		p := exSerology(exAdult(), 10, exHCV).coded(exHCV, exPos, daysAgo(10))
		exCheck(t, "viral-serology", p, screening.Fail, screening.ReasonFound, "Observation/4", exFullURL(exPos))
	})
	t.Run("an older positive cites the old result", func(t *testing.T) {
		p := exSerology(exAdult(), 10).coded(exHCV, exPos, daysAgo(200))
		exCheck(t, "viral-serology", p, screening.Review, screening.ReasonOlderPositive, "Observation/5", daysAgo(200).String())
	})
	t.Run("a coded infection is cited", func(t *testing.T) {
		p := exSerology(exAdult(), 10).condition("snomed|86406008", exYearsAgo(4))
		exCheck(t, "viral-serology", p, screening.Fail, screening.ReasonFound, "Condition/5", exFullURL("snomed|86406008"))
	})
	t.Run("a stale result is cited with its date", func(t *testing.T) {
		p := exSerology(exAdult(), 10, exHBsAg).coded(exHBsAg, exNeg, daysAgo(29))
		exCheck(t, "viral-serology", p, screening.Unknown, screening.ReasonStale, "Observation/4", daysAgo(29).String())
	})
}
