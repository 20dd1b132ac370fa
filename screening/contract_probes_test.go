package screening_test

import (
	"strings"
	"testing"

	"github.com/trialscreen/trialscreen/screening"
)

// Cases from the second contract review: data whose date or clinical status cannot be
// read never passes, and records set aside are named.

// cpMonth is a month-only date (FHIR "2026-11"); cpYear a year-only one.
func cpMonth(s string) screening.When {
	w := date(s + "-01")
	w.Precision = screening.PrecisionMonth
	return w
}

func cpYear(s string) screening.When {
	w := date(s + "-01-01")
	w.Precision = screening.PrecisionYear
	return w
}

// cpNoDate is a missing date.
var cpNoDate = screening.When{}

// cpSummaryHas checks that a result's summary mentions every wanted text.
func cpSummaryHas(t *testing.T, r screening.Result, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(r.Summary, w) {
			t.Errorf("summary %q does not mention %q", r.Summary, w)
		}
	}
}

// Review #1: a body weight dated only to the month (or not at all) is never used.
func TestCreatinineClearanceImpreciseWeight(t *testing.T) {
	base := func() *patient { return newPatient("male", incBorn60).lab(incSCr, 1.0, "mg/dL", daysAgo(1)) }
	runCriterion(t, "creatinine-clearance", []criterionCase{
		{name: "a month-only weight (the month of as-of) is not used: unknown/no-data",
			patient: base().lab(incWeight, 70, "kg", cpMonth("2026-11")), outcome: screening.Unknown, reason: screening.ReasonNoData},
		{name: "a weight with no date is not used: unknown/no-data",
			patient: base().lab(incWeight, 70, "kg", cpNoDate), outcome: screening.Unknown, reason: screening.ReasonNoData},
		{name: "a year-only weight is not used: unknown/no-data",
			patient: base().lab(incWeight, 70, "kg", cpYear("2026")), outcome: screening.Unknown, reason: screening.ReasonNoData},
		// The month-only 40 kg (10 days from the creatinine if read as 1 November) would
		// fail; the day-dated 70 kg (16 days away) passes.
		{name: "a day-dated weight is used, never a nearer month-only one beside it",
			patient: newPatient("male", incBorn60).lab(incSCr, 1.0, "mg/dL", date("2026-11-11")).lab(incWeight, 40, "kg", cpMonth("2026-11")).lab(incWeight, 70, "kg", date("2026-10-26")),
			outcome: screening.Pass, reason: screening.ReasonMet},
	})
	t.Run("the unused weight is named in the evidence", func(t *testing.T) {
		r := exCheck(t, "creatinine-clearance", base().lab(incWeight, 70, "kg", cpMonth("2026-11")), screening.Unknown, screening.ReasonNoData,
			"Observation/2", "dated only 2026-11")
		cpSummaryHas(t, r, "body weight", "2026-11")
	})
}

// Review #2/#3: a positive serology result that cannot be placed outside the window
// never lets the criterion pass.
func TestViralSerologyImpreciseDates(t *testing.T) {
	runCriterion(t, "viral-serology", []criterionCase{
		{name: "a positive with no date beside four negatives is review/undated",
			patient: exSerology(exAdult(), 10).coded(exHIV, exPos, cpNoDate), outcome: screening.Review, reason: screening.ReasonUndated},
		{name: "a positive dated only to the month of as-of is review/undated",
			patient: exSerology(exAdult(), 10).coded(exHIV, exPos, cpMonth("2026-11")), outcome: screening.Review, reason: screening.ReasonUndated},
		{name: "a month-only positive after the negatives' day is review/undated",
			patient: exSerology(exAdult(), 25).coded(exHIV, exPos, cpMonth("2026-11")), outcome: screening.Review, reason: screening.ReasonUndated},
		{name: "a month-only positive whose month reaches into the window is review/undated",
			patient: exSerology(exAdult(), 10).coded(exHCV, exPos, cpMonth("2026-10")), outcome: screening.Review, reason: screening.ReasonUndated},
		{name: "a year-only positive for the year of as-of is review/undated",
			patient: exSerology(exAdult(), 10).coded(exHBsAg, exPos, cpYear("2026")), outcome: screening.Review, reason: screening.ReasonUndated},
		{name: "a year-only positive clearly before the window is review/older-positive",
			patient: exSerology(exAdult(), 10).coded(exHIV, exPos, cpYear("2025")), outcome: screening.Review, reason: screening.ReasonOlderPositive},
		{name: "a month-only positive clearly before the window is review/older-positive",
			patient: exSerology(exAdult(), 10).coded(exHIV, exPos, cpMonth("2026-09")), outcome: screening.Review, reason: screening.ReasonOlderPositive},
		{name: "a month-only positive after as-of is ignored",
			patient: exSerology(exAdult(), 10).coded(exHIV, exPos, cpMonth("2026-12")), outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "a dated positive within the window still fails beside an undated one",
			patient: exSerology(exAdult(), 10, exHCV).coded(exHCV, exPos, daysAgo(3)).coded(exHIV, exPos, cpNoDate), outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "a coded infection still fails beside an undated positive",
			patient: exSerology(exAdult(), 10).coded(exHIV, exPos, cpNoDate).condition("snomed|86406008", exYearsAgo(4)), outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "an undated positive with a test missing is unknown (data to obtain first)",
			patient: exSerology(exAdult(), 10, exTPPA).coded(exHIV, exPos, cpNoDate), outcome: screening.Unknown, reason: screening.ReasonNoData},
		{name: "an undated negative alone does not pass",
			patient: exSerology(exAdult(), 10, exHIV).coded(exHIV, exNeg, cpNoDate), outcome: screening.Unknown, reason: screening.ReasonNoData},
	})
	t.Run("the undated positive is named in the evidence", func(t *testing.T) {
		r := exCheck(t, "viral-serology", exSerology(exAdult(), 10).coded(exHIV, exPos, cpMonth("2026-11")), screening.Review, screening.ReasonUndated,
			"Observation/5", "cannot be placed inside or outside the 28-day window")
		cpSummaryHas(t, r, "HIV", "2026-11")
	})
}

// Review #10: any positive within the window fails, even with a negative at the same
// instant; other labs keep the conflict rule.
func TestSameInstantPositiveAndNegative(t *testing.T) {
	runCriterion(t, "viral-serology", []criterionCase{
		{name: "HIV negative and positive at one instant fails",
			patient: exSerology(exAdult(), 10).coded(exHIV, exPos, daysAgo(10)), outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "positive listed before the negative at one instant fails too",
			patient: exSerology(exAdult(), 10, exHIV).coded(exHIV, exPos, daysAgo(10)).coded(exHIV, exNeg, daysAgo(10)), outcome: screening.Fail, reason: screening.ReasonFound},
	})
	runCriterion(t, "neutrophils", []criterionCase{
		{name: "ANC pass and fail at one instant is still unknown/conflict",
			patient: newPatient("male", "1960-01-01").lab("loinc|751-8", 0.5, "10*9/L", daysAgo(1)).lab("loinc|751-8", 2.0, "10*9/L", daysAgo(1)),
			outcome: screening.Unknown, reason: screening.ReasonConflict},
	})
	runCriterion(t, "ecg", []criterionCase{
		{name: "ECG normal and abnormal at one instant is still unknown/conflict",
			patient: newPatient("male", "1960-01-01").incInterp("loinc|11524-6", "v3|N", daysAgo(5)).incInterp("loinc|8601-7", "v3|A", daysAgo(5)),
			outcome: screening.Unknown, reason: screening.ReasonConflict},
	})
	t.Run("both results are evidence", func(t *testing.T) {
		exCheck(t, "viral-serology", exSerology(exAdult(), 10).coded(exHIV, exPos, daysAgo(10)), screening.Fail, screening.ReasonFound,
			"Observation/1", "Observation/5", exFullURL(exPos), exFullURL(exNeg))
	})
}

// Review #5: on an active_only rule a clinical status that cannot be read never makes
// the record vanish, and records set aside as over are named.
func TestActiveOnlyClinicalStatus(t *testing.T) {
	const (
		fibrosis  = "snomed|700250006"
		effusion  = "snomed|373945007"
		pneumonia = "snomed|233604007"
	)
	runCriterion(t, "pulmonary-fibrosis", []criterionCase{
		{name: "active fails", patient: exAdult().exCond(fibrosis, "active", "confirmed", exYearsAgo(2)), outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "no clinical status still fails (counted as possibly current)", patient: exAdult().exCond(fibrosis, "", "confirmed", exYearsAgo(2)), outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "an unknown code is review/judgement", patient: exAdult().exCond(fibrosis, "bogus-code", "confirmed", exYearsAgo(2)), outcome: screening.Review, reason: screening.ReasonJudgement},
		{name: "'Active' (codes are case-sensitive) is review/judgement", patient: exAdult().exCond(fibrosis, "Active", "confirmed", exYearsAgo(2)), outcome: screening.Review, reason: screening.ReasonJudgement},
		{name: "a SNOMED code in clinicalStatus is review/judgement", patient: exAdult().exCond(fibrosis, "55561003", "confirmed", exYearsAgo(2)), outcome: screening.Review, reason: screening.ReasonJudgement},
		{name: "an unknown status beside an active one still fails",
			patient: exAdult().exCond(fibrosis, "bogus-code", "confirmed", exYearsAgo(2)).exCond(fibrosis, "active", "confirmed", exYearsAgo(1)), outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "an unknown status on a refuted record is ignored", patient: exAdult().exCond(fibrosis, "bogus-code", "refuted", exYearsAgo(2)), outcome: screening.Pass, reason: screening.ReasonNotFound},
		{name: "resolved is set aside: pass/not-found", patient: exAdult().exCond(fibrosis, "resolved", "confirmed", exYearsAgo(2)), outcome: screening.Pass, reason: screening.ReasonNotFound},
		{name: "inactive is set aside: pass/not-found", patient: exAdult().exCond(fibrosis, "inactive", "confirmed", exYearsAgo(2)), outcome: screening.Pass, reason: screening.ReasonNotFound},
		{name: "remission is set aside: pass/not-found", patient: exAdult().exCond(fibrosis, "remission", "confirmed", exYearsAgo(2)), outcome: screening.Pass, reason: screening.ReasonNotFound},
	})
	runCriterion(t, "pericardial-effusion", []criterionCase{
		{name: "an unknown code is review/judgement", patient: exAdult().exCond(effusion, "bogus-code", "confirmed", daysAgo(30)), outcome: screening.Review, reason: screening.ReasonJudgement},
		{name: "resolved is set aside: pass/not-found", patient: exAdult().exCond(effusion, "resolved", "confirmed", daysAgo(30)), outcome: screening.Pass, reason: screening.ReasonNotFound},
	})
	runCriterion(t, "active-infection", []criterionCase{
		{name: "an unknown code is review/judgement however old the onset", patient: exAdult().exCond(pneumonia, "bogus-code", "confirmed", daysAgo(60)), outcome: screening.Review, reason: screening.ReasonJudgement},
		{name: "no clinical status with an onset before the window is review/judgement", patient: exAdult().exCond(pneumonia, "", "confirmed", daysAgo(60)), outcome: screening.Review, reason: screening.ReasonJudgement},
		{name: "no clinical status with an onset within the window is review/judgement", patient: exAdult().exCond(pneumonia, "", "confirmed", daysAgo(5)), outcome: screening.Review, reason: screening.ReasonJudgement},
		{name: "no clinical status but abated before the window is set aside", patient: exAdult().exAbatedOnly(pneumonia, daysAgo(60)), outcome: screening.Pass, reason: screening.ReasonNotFound},
		{name: "no clinical status with an onset after as-of is ignored", patient: exAdult().exCond(pneumonia, "", "confirmed", daysAgo(-3)), outcome: screening.Pass, reason: screening.ReasonNotFound},
	})

	t.Run("an unreadable status names the record and says so", func(t *testing.T) {
		r := exCheck(t, "pulmonary-fibrosis", exAdult().exCond(fibrosis, "Active", "confirmed", exYearsAgo(2)), screening.Review, screening.ReasonJudgement,
			"Condition/1", `clinical status "Active" could not be read`, "case-sensitive")
		cpSummaryHas(t, r, "could not be read")
	})
	t.Run("a missing status on an old onset names the record", func(t *testing.T) {
		exCheck(t, "active-infection", exAdult().exCond(pneumonia, "", "confirmed", daysAgo(60)), screening.Review, screening.ReasonJudgement,
			"Condition/1", "no clinical status recorded")
	})
	t.Run("a pass says how many records were set aside and names them", func(t *testing.T) {
		p := exAdult().exCond(fibrosis, "resolved", "confirmed", exYearsAgo(3)).exCond(fibrosis, "inactive", "confirmed", exYearsAgo(2))
		r := exCheck(t, "pulmonary-fibrosis", p, screening.Pass, screening.ReasonNotFound,
			"Condition/1", "Condition/2", "set aside: clinical status resolved", "set aside: clinical status inactive", "searched 2 Condition; 2 records set aside")
		cpSummaryHas(t, r, "2 records set aside as not current")
	})
	t.Run("pericardial effusion: the set-aside record is evidence of the pass", func(t *testing.T) {
		r := exCheck(t, "pericardial-effusion", exAdult().exCond(effusion, "resolved", "confirmed", daysAgo(30)), screening.Pass, screening.ReasonNotFound,
			"Condition/1", "set aside")
		cpSummaryHas(t, r, "1 record set aside")
	})
	t.Run("a finding beside a set-aside record says both", func(t *testing.T) {
		p := exAdult().exCond(fibrosis, "active", "confirmed", exYearsAgo(1)).exCond(fibrosis, "resolved", "confirmed", exYearsAgo(3))
		r := exCheck(t, "pulmonary-fibrosis", p, screening.Fail, screening.ReasonFound, "Condition/1", "Condition/2")
		cpSummaryHas(t, r, "1 record set aside")
	})
	t.Run("nothing set aside: the pass reads as before", func(t *testing.T) {
		r := exCheck(t, "pulmonary-fibrosis", exAdult(), screening.Pass, screening.ReasonNotFound, "searched 0 Condition")
		if r.Summary != "no pulmonary fibrosis found" || len(r.Evidence) != 1 {
			t.Errorf("got %q with %d evidence entries, want the plain pass", r.Summary, len(r.Evidence))
		}
	})
}

// Review #7: an ECG whose date is coarser than a day, or missing, is not an ECG within
// the window.
func TestECGImpreciseDates(t *testing.T) {
	const (
		ecgProc = "snomed|268400002"
		study   = "loinc|11524-6"
		normal  = "snomed|164854000"
	)
	pt := func() *patient { return newPatient("male", "1957-01-15") }
	runCriterion(t, "ecg", []criterionCase{
		{name: "a procedure dated only to the month of as-of is unknown/no-data", patient: pt().procedure(ecgProc, cpMonth("2026-11")), outcome: screening.Unknown, reason: screening.ReasonNoData},
		{name: "a procedure with no date is unknown/no-data", patient: pt().procedure(ecgProc, cpNoDate), outcome: screening.Unknown, reason: screening.ReasonNoData},
		{name: "a year-only procedure is unknown/no-data", patient: pt().procedure(ecgProc, cpYear("2026")), outcome: screening.Unknown, reason: screening.ReasonNoData},
		{name: "a month-only normal ECG observation is unknown/no-data", patient: pt().coded(study, normal, cpMonth("2026-11")), outcome: screening.Unknown, reason: screening.ReasonNoData},
		{name: "a dated procedure in the window beside a month-only one is review", patient: pt().procedure(ecgProc, cpMonth("2026-11")).procedure(ecgProc, daysAgo(3)),
			outcome: screening.Review, reason: screening.ReasonJudgement},
		{name: "a stale ECG beside a month-only procedure stays unknown/stale", patient: pt().coded(study, normal, daysAgo(40)).procedure(ecgProc, cpMonth("2026-11")),
			outcome: screening.Unknown, reason: screening.ReasonStale},
	})
	t.Run("the month-only procedure is named", func(t *testing.T) {
		r := exCheck(t, "ecg", pt().procedure(ecgProc, cpMonth("2026-11")), screening.Unknown, screening.ReasonNoData,
			"Procedure/1", "dated only 2026-11")
		cpSummaryHas(t, r, "Procedure/1")
	})
}
