package screening_test

import (
	"testing"

	"github.com/trialscreen/trialscreen/screening"
)

// The data-problem cases every Condition-based findings criterion shares: a failed or
// partial fetch and an unreadable Condition without codes are unknown; an unreadable
// Condition with an unrelated code changes nothing.
func exConditionDataCases() []criterionCase {
	return []criterionCase{
		{name: "failed Condition fetch is unknown", patient: exAdult().exSource("Condition", screening.FetchFailed),
			outcome: screening.Unknown, reason: screening.ReasonSourceError},
		{name: "partial Condition fetch is unknown", patient: exAdult().exSource("Condition", screening.FetchPartial),
			outcome: screening.Unknown, reason: screening.ReasonSourceError},
		{name: "unreadable Condition with no codes is unknown", patient: exAdult().exUnreadable("Condition"),
			outcome: screening.Unknown, reason: screening.ReasonUnreadable},
		{name: "unreadable Condition with an unrelated code leaves pass", patient: exAdult().exUnreadable("Condition", "http://snomed.info/sct|38341003"),
			outcome: screening.Pass, reason: screening.ReasonNotFound},
	}
}

// mental-disorder: coded severe disorders fail; disorders without a coded severity are
// review while current.
func TestMentalDisorder(t *testing.T) {
	cases := []criterionCase{
		{name: "nothing recorded passes", patient: exAdult(),
			outcome: screening.Pass, reason: screening.ReasonNotFound},
		{name: "schizophrenia fails", patient: exAdult().condition("snomed|58214004", exYearsAgo(10)),
			outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "schizophrenia F20.9 fails", patient: exAdult().condition("icd10cm|F20.9", exYearsAgo(10)),
			outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "schizophrenia F209 without dot fails", patient: exAdult().condition("icd10cm|F209", exYearsAgo(10)),
			outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "bipolar disorder fails", patient: exAdult().condition("snomed|13746004", exYearsAgo(3)),
			outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "severe recurrent depression F33.2 fails", patient: exAdult().condition("icd10cm|F33.2", exYearsAgo(1)),
			outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "moderate depression F33.1 passes", patient: exAdult().condition("icd10cm|F33.1", exYearsAgo(1)),
			outcome: screening.Pass, reason: screening.ReasonNotFound},
		{name: "active major depressive disorder is review", patient: exAdult().condition("snomed|370143000", exYearsAgo(1)),
			outcome: screening.Review, reason: screening.ReasonJudgement},
		{name: "resolved major depressive disorder passes", patient: exAdult().exCured("snomed|370143000", exYearsAgo(6), exYearsAgo(4)),
			outcome: screening.Pass, reason: screening.ReasonNotFound},
		{name: "schizophrenia outweighs depression", patient: exAdult().condition("snomed|370143000", exYearsAgo(1)).condition("snomed|58214004", exYearsAgo(10)),
			outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "refuted schizophrenia is ignored", patient: exAdult().exCond("snomed|58214004", "active", "refuted", exYearsAgo(1)),
			outcome: screening.Pass, reason: screening.ReasonNotFound},
		{name: "entered-in-error schizophrenia is ignored", patient: exAdult().exCond("snomed|58214004", "active", "entered-in-error", exYearsAgo(1)),
			outcome: screening.Pass, reason: screening.ReasonNotFound},
		{name: "schizophrenia stays fail although the Condition fetch failed",
			patient: exAdult().condition("snomed|58214004", exYearsAgo(10)).exSource("Condition", screening.FetchFailed),
			outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "depression review becomes unknown when the Condition fetch failed",
			patient: exAdult().condition("snomed|370143000", exYearsAgo(1)).exSource("Condition", screening.FetchFailed),
			outcome: screening.Unknown, reason: screening.ReasonSourceError},
	}
	runCriterion(t, "mental-disorder", append(cases, exConditionDataCases()...))
}

// marrow-failure-syndrome: inherited syndromes fail; acquired cytopenias are review.
func TestMarrowFailureSyndrome(t *testing.T) {
	cases := []criterionCase{
		{name: "nothing recorded passes", patient: exAdult(),
			outcome: screening.Pass, reason: screening.ReasonNotFound},
		{name: "Fanconi anaemia D61.03 fails", patient: exAdult().condition("icd10cm|D61.03", exYearsAgo(40)),
			outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "Fanconi anaemia D6103 without dot fails", patient: exAdult().condition("icd10cm|D6103", exYearsAgo(40)),
			outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "Fanconi anaemia (SNOMED) fails", patient: exAdult().condition("snomed|30575002", exYearsAgo(40)),
			outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "Shwachman-Diamond D61.02 fails", patient: exAdult().condition("icd10cm|D61.02", exYearsAgo(40)),
			outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "Kostmann D70.0 fails", patient: exAdult().condition("icd10cm|D70.0", exYearsAgo(40)),
			outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "chemotherapy-induced pancytopenia D61.810 is review", patient: exAdult().condition("icd10cm|D61.810", daysAgo(40)),
			outcome: screening.Review, reason: screening.ReasonJudgement},
		{name: "myelophthisis D61.82 is review", patient: exAdult().condition("icd10cm|D61.82", daysAgo(40)),
			outcome: screening.Review, reason: screening.ReasonJudgement},
		{name: "renal Fanconi syndrome 236466005 is not marrow failure", patient: exAdult().condition("snomed|236466005", exYearsAgo(2)),
			outcome: screening.Pass, reason: screening.ReasonNotFound},
		{name: "drug-induced agranulocytosis D70.1 is not Kostmann", patient: exAdult().condition("icd10cm|D70.1", daysAgo(40)),
			outcome: screening.Pass, reason: screening.ReasonNotFound},
		{name: "refuted Fanconi anaemia is ignored", patient: exAdult().exCond("icd10cm|D61.03", "active", "refuted", exYearsAgo(1)),
			outcome: screening.Pass, reason: screening.ReasonNotFound},
		{name: "Fanconi anaemia stays fail although the Condition fetch failed",
			patient: exAdult().condition("icd10cm|D61.03", exYearsAgo(40)).exSource("Condition", screening.FetchFailed),
			outcome: screening.Fail, reason: screening.ReasonFound},
	}
	runCriterion(t, "marrow-failure-syndrome", append(cases, exConditionDataCases()...))
}

// indwelling-catheter: drain insertions and device status codes are review (whether the
// drain is still in place needs checking); central venous catheters are allowed. Devices
// are not read, so finding nothing is review/manual (none_found), never a plain pass.
func TestIndwellingCatheter(t *testing.T) {
	runCriterion(t, "indwelling-catheter", []criterionCase{
		{name: "nothing recorded is review: devices are not read", patient: exAdult(),
			outcome: screening.Review, reason: screening.ReasonManual},
		{name: "percutaneous nephrostomy is review", patient: exAdult().procedure("snomed|39834009", daysAgo(30)),
			outcome: screening.Review, reason: screening.ReasonJudgement},
		{name: "pericardial drain insertion is review", patient: exAdult().procedure("snomed|233189003", exYearsAgo(2)),
			outcome: screening.Review, reason: screening.ReasonJudgement},
		{name: "nephrostomy without a date is review", patient: exAdult().procedure("snomed|313270001", screening.When{}),
			outcome: screening.Review, reason: screening.ReasonJudgement},
		{name: "nephrostomy entered in error is ignored", patient: exAdult().exProc("snomed|39834009", "entered-in-error", daysAgo(30)),
			outcome: screening.Review, reason: screening.ReasonManual},
		{name: "nephrostomy status Z93.6 is review", patient: exAdult().condition("icd10cm|Z93.6", daysAgo(30)),
			outcome: screening.Review, reason: screening.ReasonJudgement},
		{name: "a resolved nephrostomy status is set aside", patient: exAdult().exCured("icd10cm|Z93.6", daysAgo(300), daysAgo(200)),
			outcome: screening.Review, reason: screening.ReasonManual},
		{name: "central venous catheter insertion is allowed", patient: exAdult().procedure("snomed|439355003", daysAgo(10)),
			outcome: screening.Review, reason: screening.ReasonManual},
		{name: "failed Procedure fetch is unknown", patient: exAdult().exSource("Procedure", screening.FetchFailed),
			outcome: screening.Unknown, reason: screening.ReasonSourceError},
		{name: "failed Condition fetch is unknown", patient: exAdult().exSource("Condition", screening.FetchFailed),
			outcome: screening.Unknown, reason: screening.ReasonSourceError},
		{name: "unreadable Procedure with no codes is unknown", patient: exAdult().exUnreadable("Procedure"),
			outcome: screening.Unknown, reason: screening.ReasonUnreadable},
		{name: "unreadable Procedure with an unrelated code leaves the none-found review", patient: exAdult().exUnreadable("Procedure", "http://snomed.info/sct|73761001"),
			outcome: screening.Review, reason: screening.ReasonManual},
	})
	t.Run("evidence", func(t *testing.T) {
		exCheck(t, "indwelling-catheter", exAdult(), screening.Review, screening.ReasonManual, "searched 0 Condition, 0 Procedure", "DeviceUseStatement records are not read")
		exCheck(t, "indwelling-catheter", exAdult().procedure("snomed|39834009", daysAgo(30)), screening.Review, screening.ReasonJudgement,
			"Procedure/1", exFullURL("snomed|39834009"), "still in place")
	})
}

// pulmonary-fibrosis: current pulmonary fibrosis fails.
func TestPulmonaryFibrosis(t *testing.T) {
	cases := []criterionCase{
		{name: "nothing recorded passes", patient: exAdult(),
			outcome: screening.Pass, reason: screening.ReasonNotFound},
		{name: "active idiopathic pulmonary fibrosis fails", patient: exAdult().condition("snomed|700250006", exYearsAgo(2)),
			outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "active fibrosis of lung fails", patient: exAdult().condition("snomed|51615001", exYearsAgo(2)),
			outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "J84.10 fails", patient: exAdult().condition("icd10cm|J84.10", exYearsAgo(2)),
			outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "J84112 without dot fails", patient: exAdult().condition("icd10cm|J84112", exYearsAgo(2)),
			outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "recurrence counts as current", patient: exAdult().exCond("snomed|700250006", "recurrence", "confirmed", exYearsAgo(2)),
			outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "resolved pulmonary fibrosis passes", patient: exAdult().exCured("snomed|700250006", exYearsAgo(5), exYearsAgo(3)),
			outcome: screening.Pass, reason: screening.ReasonNotFound},
		{name: "inactive pulmonary fibrosis passes", patient: exAdult().exCond("snomed|51615001", "inactive", "confirmed", exYearsAgo(5)),
			outcome: screening.Pass, reason: screening.ReasonNotFound},
		{name: "refuted pulmonary fibrosis is ignored", patient: exAdult().exCond("snomed|700250006", "active", "refuted", exYearsAgo(2)),
			outcome: screening.Pass, reason: screening.ReasonNotFound},
		{name: "other interstitial lung disease J84.9 passes", patient: exAdult().condition("icd10cm|J84.9", exYearsAgo(2)),
			outcome: screening.Pass, reason: screening.ReasonNotFound},
		{name: "fibrosis stays fail although the Condition fetch failed",
			patient: exAdult().condition("snomed|700250006", exYearsAgo(2)).exSource("Condition", screening.FetchFailed),
			outcome: screening.Fail, reason: screening.ReasonFound},
	}
	runCriterion(t, "pulmonary-fibrosis", append(cases, exConditionDataCases()...))
}

// lactation: applies to women only; a current breastfeeding record is review (willingness
// to stop is a question for the patient).
func TestLactation(t *testing.T) {
	const breastfeeding = "snomed|169750002"
	runCriterion(t, "lactation", []criterionCase{
		{name: "a man is not applicable", patient: exAdult(),
			outcome: screening.Pass, reason: screening.ReasonNotApplicable},
		{name: "a man with a (miscoded) breastfeeding record is still not applicable", patient: exAdult().condition(breastfeeding, daysAgo(10)),
			outcome: screening.Pass, reason: screening.ReasonNotApplicable},
		{name: "a man stays not applicable when the Condition fetch failed", patient: exAdult().exSource("Condition", screening.FetchFailed),
			outcome: screening.Pass, reason: screening.ReasonNotApplicable},
		{name: "a woman with nothing recorded passes", patient: exWoman(),
			outcome: screening.Pass, reason: screening.ReasonNotFound},
		{name: "a breastfeeding woman is review", patient: exWoman().condition(breastfeeding, daysAgo(60)),
			outcome: screening.Review, reason: screening.ReasonJudgement},
		{name: "breastfeeding situation 866041003 is review", patient: exWoman().condition("snomed|866041003", daysAgo(60)),
			outcome: screening.Review, reason: screening.ReasonJudgement},
		{name: "gender unknown: breastfeeding is review, not skipped", patient: newPatient("unknown", "1985-03-15").condition(breastfeeding, daysAgo(60)),
			outcome: screening.Review, reason: screening.ReasonJudgement},
		{name: "Z39.1 is review", patient: exWoman().condition("icd10cm|Z39.1", daysAgo(60)),
			outcome: screening.Review, reason: screening.ReasonJudgement},
		{name: "breastfeeding that has ended passes", patient: exWoman().exCured(breastfeeding, exYearsAgo(3), exYearsAgo(2)),
			outcome: screening.Pass, reason: screening.ReasonNotFound},
		{name: "refuted breastfeeding is ignored", patient: exWoman().exCond(breastfeeding, "active", "refuted", daysAgo(60)),
			outcome: screening.Pass, reason: screening.ReasonNotFound},
		{name: "a woman with a failed Condition fetch is unknown", patient: exWoman().exSource("Condition", screening.FetchFailed),
			outcome: screening.Unknown, reason: screening.ReasonSourceError},
		{name: "a breastfeeding woman with a failed Condition fetch is unknown", patient: exWoman().condition(breastfeeding, daysAgo(60)).exSource("Condition", screening.FetchFailed),
			outcome: screening.Unknown, reason: screening.ReasonSourceError},
		{name: "a woman with an unreadable Condition is unknown", patient: exWoman().exUnreadable("Condition"),
			outcome: screening.Unknown, reason: screening.ReasonUnreadable},
		{name: "a woman with an unrelated unreadable Condition passes", patient: exWoman().exUnreadable("Condition", "http://snomed.info/sct|38341003"),
			outcome: screening.Pass, reason: screening.ReasonNotFound},
	})
	t.Run("evidence", func(t *testing.T) {
		exCheck(t, "lactation", exAdult(), screening.Pass, screening.ReasonNotApplicable, "Patient/p1", "gender male")
		exCheck(t, "lactation", exWoman().condition(breastfeeding, daysAgo(60)), screening.Review, screening.ReasonJudgement,
			"Condition/1", exFullURL(breastfeeding), "willing to stop")
	})
}
