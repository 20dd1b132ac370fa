package screening_test

import (
	"testing"

	"github.com/trialscreen/trialscreen/screening"
)

// A confirmed multiple myeloma diagnosis passes; anything less, or a related plasma-cell
// disorder, is review; none in the full record fails.
func TestMyelomaDiagnosis(t *testing.T) {
	pt := func() *patient { return newPatient("male", "1960-02-20") }
	runCriterion(t, "myeloma-diagnosis", []criterionCase{
		{name: "SNOMED 109989006 confirmed passes", patient: pt().incCond("snomed|109989006", "active", "confirmed"), outcome: screening.Pass, reason: screening.ReasonFound},
		{name: "IgG myeloma 285421005 (listed descendant) passes", patient: pt().incCond("snomed|285421005", "active", "confirmed"), outcome: screening.Pass, reason: screening.ReasonFound},
		{name: "myeloma in remission 94704006 passes", patient: pt().incCond("snomed|94704006", "remission", "confirmed"), outcome: screening.Pass, reason: screening.ReasonFound},
		{name: "ICD-10-CM C90.02 passes", patient: pt().incCond("icd10cm|C90.02", "active", "confirmed"), outcome: screening.Pass, reason: screening.ReasonFound},
		{name: "ICD-10-CM without the dot (C9002) passes", patient: pt().incCond("icd10cm|C9002", "active", "confirmed"), outcome: screening.Pass, reason: screening.ReasonFound},
		{name: "ICD-10-CM lower case (c90.00) passes", patient: pt().incCond("icd10cm|c90.00", "active", "confirmed"), outcome: screening.Pass, reason: screening.ReasonFound},
		{name: "provisional is review/judgement", patient: pt().incCond("snomed|109989006", "active", "provisional"), outcome: screening.Review, reason: screening.ReasonJudgement},
		{name: "differential is review/judgement", patient: pt().incCond("icd10cm|C90.00", "active", "differential"), outcome: screening.Review, reason: screening.ReasonJudgement},
		{name: "no verification status is review/judgement", patient: pt().incCond("snomed|109989006", "active", ""), outcome: screening.Review, reason: screening.ReasonJudgement},
		{name: "refuted only is fail/not-found", patient: pt().incCond("snomed|109989006", "active", "refuted"), outcome: screening.Fail, reason: screening.ReasonNotFound},
		{name: "entered-in-error only is fail/not-found", patient: pt().incCond("icd10cm|C90.00", "active", "entered-in-error"), outcome: screening.Fail, reason: screening.ReasonNotFound},
		{name: "smoldering myeloma 413587002 is review/judgement", patient: pt().incCond("snomed|413587002", "active", "confirmed"), outcome: screening.Review, reason: screening.ReasonJudgement},
		{name: "plasma cell leukaemia C90.10 is review/judgement", patient: pt().incCond("icd10cm|C90.10", "active", "confirmed"), outcome: screening.Review, reason: screening.ReasonJudgement},
		{name: "no diagnosis is fail/not-found", patient: pt(), outcome: screening.Fail, reason: screening.ReasonNotFound},
		{name: "an unrelated malignancy (C91.00) is fail/not-found", patient: pt().incCond("icd10cm|C91.00", "active", "confirmed"), outcome: screening.Fail, reason: screening.ReasonNotFound},
		// A local code is matched by no display: it cannot pass, and as it cannot be
		// placed either (it may be the myeloma), a person reads it.
		{name: "the display is never matched, only the code", patient: pt().cond(screening.Condition{Code: []screening.Coding{{System: "http://example.org/local", Code: "MM"}}, Text: "Multiple myeloma", Clinical: "active", Verification: "confirmed"}),
			outcome: screening.Review, reason: screening.ReasonUnplaced},
		{name: "a confirmed diagnosis outweighs a smoldering one", patient: pt().incCond("snomed|413587002", "active", "confirmed").incCond("snomed|109989006", "active", "confirmed"),
			outcome: screening.Pass, reason: screening.ReasonFound},
		{name: "a refuted confirmed code and a provisional one is review", patient: pt().incCond("snomed|109989006", "active", "refuted").incCond("icd10cm|C90.00", "active", "provisional"),
			outcome: screening.Review, reason: screening.ReasonJudgement},
	})
}

// Refractoriness is not coded: records that support it are review, none is unknown.
func TestRelapsedRefractory(t *testing.T) {
	pt := func() *patient { return newPatient("female", "1960-02-20") }
	runCriterion(t, "relapsed-refractory", []criterionCase{
		{name: "nothing on record is unknown/no-data", patient: pt(), outcome: screening.Unknown, reason: screening.ReasonNoData},
		{name: "prior bortezomib is review/judgement", patient: pt().med("rxnorm|358258", "completed", daysAgo(400), daysAgo(300)), outcome: screening.Review, reason: screening.ReasonJudgement},
		{name: "prior lenalidomide (active) is review/judgement", patient: pt().med("rxnorm|342369", "active", daysAgo(100), screening.When{}), outcome: screening.Review, reason: screening.ReasonJudgement},
		{name: "myeloma in relapse C90.02 is review/judgement", patient: pt().incCond("icd10cm|C90.02", "active", "confirmed"), outcome: screening.Review, reason: screening.ReasonJudgement},
		{name: "disease progression assessment 'worsened' is review/judgement", patient: pt().coded("loinc|97509-4", "snomed|271299001", daysAgo(20)), outcome: screening.Review, reason: screening.ReasonJudgement},
		{name: "a progression assessment with another answer is unknown/no-data", patient: pt().coded("loinc|97509-4", "snomed|359746009", daysAgo(20)), outcome: screening.Unknown, reason: screening.ReasonNoData},
		{name: "an entered-in-error bortezomib is unknown/no-data", patient: pt().med("rxnorm|358258", "entered-in-error", daysAgo(400), daysAgo(300)), outcome: screening.Unknown, reason: screening.ReasonNoData},
		{name: "myeloma not in relapse (C90.00) is unknown/no-data", patient: pt().incCond("icd10cm|C90.00", "active", "confirmed"), outcome: screening.Unknown, reason: screening.ReasonNoData},
	})
}

// No clinically significant pericardial effusion: nothing found passes, an effusion of
// unknown significance is review.
func TestPericardialEffusion(t *testing.T) {
	pt := func() *patient { return newPatient("male", "1960-02-20") }
	runCriterion(t, "pericardial-effusion", []criterionCase{
		{name: "none is pass/not-found", patient: pt(), outcome: screening.Pass, reason: screening.ReasonNotFound},
		{name: "an unrelated condition is pass/not-found", patient: pt().incCond("snomed|109989006", "active", "confirmed"), outcome: screening.Pass, reason: screening.ReasonNotFound},
		{name: "active 373945007 is review/judgement", patient: pt().incCond("snomed|373945007", "active", "confirmed"), outcome: screening.Review, reason: screening.ReasonJudgement},
		{name: "malignant effusion 405546008 is review/judgement", patient: pt().incCond("snomed|405546008", "active", "confirmed"), outcome: screening.Review, reason: screening.ReasonJudgement},
		{name: "ICD-10-CM I31.3 is review/judgement", patient: pt().incCond("icd10cm|I31.3", "active", "provisional"), outcome: screening.Review, reason: screening.ReasonJudgement},
		{name: "no clinical status is review/judgement", patient: pt().incCond("snomed|373945007", "", "confirmed"), outcome: screening.Review, reason: screening.ReasonJudgement},
		{name: "refuted is pass/not-found", patient: pt().incCond("snomed|373945007", "active", "refuted"), outcome: screening.Pass, reason: screening.ReasonNotFound},
		{name: "resolved is pass/not-found", patient: pt().incCond("snomed|373945007", "resolved", "confirmed"), outcome: screening.Pass, reason: screening.ReasonNotFound},
	})
}
