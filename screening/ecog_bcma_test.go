package screening_test

import (
	"testing"

	"github.com/trialscreen/trialscreen/screening"
)

func TestECOG(t *testing.T) {
	const ecog = "loinc|89247-1"
	pt := func() *patient { return newPatient("male", "1960-04-04") }
	runCriterion(t, "ecog", []criterionCase{
		// valueInteger: a quantity with neither code nor unit.
		{name: "valueInteger 0 passes", patient: pt().incInt(ecog, 0, daysAgo(1)), outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "valueInteger 1 passes", patient: pt().incInt(ecog, 1, daysAgo(1)), outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "valueInteger 2 fails", patient: pt().incInt(ecog, 2, daysAgo(1)), outcome: screening.Fail, reason: screening.ReasonNotMet},
		// Quantities in {score} or 1.
		{name: "1 {score} passes", patient: pt().lab(ecog, 1, "{score}", daysAgo(1)), outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "2 {score} fails", patient: pt().lab(ecog, 2, "{score}", daysAgo(1)), outcome: screening.Fail, reason: screening.ReasonNotMet},
		{name: "unit 1 counts as a score", patient: pt().lab(ecog, 3, "1", daysAgo(1)), outcome: screening.Fail, reason: screening.ReasonNotMet},
		{name: "score with a display-only unit is unknown/unit", patient: pt().incObs(ecog, incDisplayOnly(1, "points"), "final", daysAgo(1)), outcome: screening.Unknown, reason: screening.ReasonUnit},
		// LOINC answer codes.
		{name: "LA9622-7 (0) passes", patient: pt().coded(ecog, "loinc|LA9622-7", daysAgo(1)), outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "LA9623-5 (1) passes", patient: pt().coded(ecog, "loinc|LA9623-5", daysAgo(1)), outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "LA9624-3 (2) fails", patient: pt().coded(ecog, "loinc|LA9624-3", daysAgo(1)), outcome: screening.Fail, reason: screening.ReasonNotMet},
		{name: "LA9626-8 (4) fails", patient: pt().coded(ecog, "loinc|LA9626-8", daysAgo(1)), outcome: screening.Fail, reason: screening.ReasonNotMet},
		{name: "an unmapped coded answer is review/free-text", patient: pt().coded(ecog, "snomed|425389002", daysAgo(1)), outcome: screening.Review, reason: screening.ReasonFreeText},
		{name: "free text is review/free-text", patient: pt().incText(ecog, "ECOG 1", daysAgo(1)), outcome: screening.Review, reason: screening.ReasonFreeText},
		// Window, status, conflict.
		{name: "no ECOG is unknown/no-data", patient: pt(), outcome: screening.Unknown, reason: screening.ReasonNoData},
		{name: "15 days old is unknown/stale", patient: pt().incInt(ecog, 0, daysAgo(15)), outcome: screening.Unknown, reason: screening.ReasonStale},
		{name: "exactly 14 days old counts", patient: pt().incInt(ecog, 0, daysAgo(14)), outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "preliminary only is unknown/not-final", patient: pt().incObs(ecog, &screening.Quantity{Value: 1}, "preliminary", daysAgo(1)), outcome: screening.Unknown, reason: screening.ReasonNotFinal},
		{name: "LA code 1 and integer 2 at one instant is unknown/conflict", patient: pt().coded(ecog, "loinc|LA9623-5", daysAgo(1)).incInt(ecog, 2, daysAgo(1)), outcome: screening.Unknown, reason: screening.ReasonConflict},
		{name: "LA code 1 and integer 1 at one instant agree", patient: pt().coded(ecog, "loinc|LA9623-5", daysAgo(1)).incInt(ecog, 1, daysAgo(1)), outcome: screening.Pass, reason: screening.ReasonMet},
	})
}

func TestBCMAExpression(t *testing.T) {
	const bcma = "local|BCMA-PC-PCT"
	pt := func() *patient { return newPatient("female", "1963-08-08") }
	runCriterion(t, "bcma-expression", []criterionCase{
		{name: "51 % passes", patient: pt().lab(bcma, 51, "%", daysAgo(10)), outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "50.1 % passes", patient: pt().lab(bcma, 50.1, "%", daysAgo(10)), outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "exactly 50 % fails (> 50 required)", patient: pt().lab(bcma, 50, "%", daysAgo(10)), outcome: screening.Fail, reason: screening.ReasonNotMet},
		{name: "none is unknown/no-data", patient: pt(), outcome: screening.Unknown, reason: screening.ReasonNoData},
		{name: "free text is review/free-text", patient: pt().incText(bcma, "BCMA strongly positive on most plasma cells", daysAgo(10)), outcome: screening.Review, reason: screening.ReasonFreeText},
		{name: "exactly 90 days old counts", patient: pt().lab(bcma, 80, "%", daysAgo(90)), outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "91 days old is unknown/stale", patient: pt().lab(bcma, 80, "%", daysAgo(91)), outcome: screening.Unknown, reason: screening.ReasonStale},
		{name: "a fraction in unit 1 is not a percent: unknown/unit", patient: pt().lab(bcma, 0.8, "1", daysAgo(10)), outcome: screening.Unknown, reason: screening.ReasonUnit},
		{name: "percent as display text only is unknown/unit", patient: pt().incObs(bcma, incDisplayOnly(80, "%"), "final", daysAgo(10)), outcome: screening.Unknown, reason: screening.ReasonUnit},
		{name: "preliminary only is unknown/not-final", patient: pt().incPrelim(bcma, 80, "%", daysAgo(10)), outcome: screening.Unknown, reason: screening.ReasonNotFinal},
		{name: "BCMA-PC-PCT in another system does not count", patient: pt().obs(screening.Observation{Status: "final", Code: []screening.Coding{{System: "http://example.org/other-lab", Code: "BCMA-PC-PCT"}}, Effective: daysAgo(10), Value: qty(80, "%")}),
			outcome: screening.Unknown, reason: screening.ReasonNoData},
	})
}
