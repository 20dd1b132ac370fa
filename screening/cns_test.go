package screening_test

import (
	"testing"

	"github.com/trialscreen/trialscreen/screening"
)

// cns-malignancy: any history of CNS lymphoma, brain metastasis or CNS malignancy fails.
func TestCNSMalignancy(t *testing.T) {
	runCriterion(t, "cns-malignancy", []criterionCase{
		{name: "nothing recorded passes", patient: exAdult(),
			outcome: screening.Pass, reason: screening.ReasonNotFound},
		{name: "brain malignancy C71.9 fails", patient: exAdult().condition("icd10cm|C71.9", exYearsAgo(2)),
			outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "brain malignancy C719 without dot fails", patient: exAdult().condition("icd10cm|C719", exYearsAgo(2)),
			outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "lower-case c71.9 still matches", patient: exAdult().condition("icd10cm|c71.9", exYearsAgo(2)),
			outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "brain metastasis C79.31 fails", patient: exAdult().condition("icd10cm|C79.31", exYearsAgo(2)),
			outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "secondary malignant neoplasm of brain (SNOMED) fails", patient: exAdult().condition("snomed|94225005", daysAgo(30)),
			outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "primary cerebral lymphoma in remission long ago still fails (history)", patient: exAdult().exCured("snomed|276836002", exYearsAgo(15), exYearsAgo(12)),
			outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "bone secondary C79.51 is not a CNS malignancy", patient: exAdult().condition("icd10cm|C79.51", daysAgo(30)),
			outcome: screening.Pass, reason: screening.ReasonNotFound},
		{name: "C79.3 does not match C79.31 (prefix works one way only)", patient: exAdult().condition("icd10cm|C79.3", daysAgo(30)),
			outcome: screening.Pass, reason: screening.ReasonNotFound},
		{name: "refuted brain metastasis is ignored", patient: exAdult().exCond("snomed|94225005", "active", "refuted", daysAgo(30)),
			outcome: screening.Pass, reason: screening.ReasonNotFound},
		{name: "entered-in-error brain metastasis is ignored", patient: exAdult().exCond("icd10cm|C79.31", "active", "entered-in-error", daysAgo(30)),
			outcome: screening.Pass, reason: screening.ReasonNotFound},
		{name: "failed Condition fetch is unknown", patient: exAdult().exSource("Condition", screening.FetchFailed),
			outcome: screening.Unknown, reason: screening.ReasonSourceError},
		{name: "brain metastasis stays fail although the Condition fetch failed",
			patient: exAdult().condition("icd10cm|C79.31", daysAgo(30)).exSource("Condition", screening.FetchFailed),
			outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "unreadable Condition with no codes is unknown", patient: exAdult().exUnreadable("Condition"),
			outcome: screening.Unknown, reason: screening.ReasonUnreadable},
		{name: "unreadable Condition with an unrelated code leaves pass", patient: exAdult().exUnreadable("Condition", "http://snomed.info/sct|38341003"),
			outcome: screening.Pass, reason: screening.ReasonNotFound},
		{name: "unreadable Condition coded C71.9 is unknown", patient: exAdult().exUnreadable("Condition", exFullURL("icd10cm|C71.9")),
			outcome: screening.Unknown, reason: screening.ReasonUnreadable},
	})
}

// cns-disease: epilepsy, cerebrovascular events, dementia, cerebellar and CNS autoimmune
// disease fail at any time; vaguer CNS findings are review.
func TestCNSDisease(t *testing.T) {
	runCriterion(t, "cns-disease", []criterionCase{
		{name: "nothing recorded passes", patient: exAdult(),
			outcome: screening.Pass, reason: screening.ReasonNotFound},
		{name: "seizure disorder 30 years ago, resolved, fails", patient: exAdult().exCured("snomed|128613002", exYearsAgo(30), exYearsAgo(28)),
			outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "active seizure disorder fails", patient: exAdult().condition("snomed|128613002", exYearsAgo(1)),
			outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "seizure disorder without any date fails", patient: exAdult().exUndated("snomed|128613002"),
			outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "epilepsy G40.909 fails", patient: exAdult().condition("icd10cm|G40.909", exYearsAgo(5)),
			outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "epilepsy G40909 without dots fails", patient: exAdult().condition("icd10cm|G40909", exYearsAgo(5)),
			outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "stroke (CVA) fails", patient: exAdult().condition("snomed|230690007", exYearsAgo(6)),
			outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "cerebral infarction I63.9 fails", patient: exAdult().condition("icd10cm|I63.9", exYearsAgo(6)),
			outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "Alzheimer's disease fails", patient: exAdult().condition("snomed|26929004", exYearsAgo(1)),
			outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "multiple sclerosis G35 fails", patient: exAdult().condition("icd10cm|G35", exYearsAgo(9)),
			outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "cerebrovascular disease (broad) is review", patient: exAdult().condition("snomed|62914000", exYearsAgo(2)),
			outcome: screening.Review, reason: screening.ReasonJudgement},
		{name: "history of single seizure is review", patient: exAdult().condition("snomed|703151001", exYearsAgo(2)),
			outcome: screening.Review, reason: screening.ReasonJudgement},
		{name: "refuted seizure disorder is ignored", patient: exAdult().exCond("snomed|128613002", "active", "refuted", exYearsAgo(1)),
			outcome: screening.Pass, reason: screening.ReasonNotFound},
		{name: "entered-in-error stroke is ignored", patient: exAdult().exCond("snomed|230690007", "active", "entered-in-error", exYearsAgo(1)),
			outcome: screening.Pass, reason: screening.ReasonNotFound},
		{name: "failed Condition fetch is unknown", patient: exAdult().exSource("Condition", screening.FetchFailed),
			outcome: screening.Unknown, reason: screening.ReasonSourceError},
		{name: "a failed fetch reported for this criterion only is unknown", patient: exAdult().exSource("Condition#cns-disease", screening.FetchFailed),
			outcome: screening.Unknown, reason: screening.ReasonSourceError},
		{name: "a failed fetch reported for another criterion does not matter", patient: exAdult().exSource("Condition#cns-malignancy", screening.FetchFailed),
			outcome: screening.Pass, reason: screening.ReasonNotFound},
		{name: "seizure disorder stays fail although the Condition fetch failed",
			patient: exAdult().condition("snomed|128613002", exYearsAgo(1)).exSource("Condition", screening.FetchFailed),
			outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "review finding becomes unknown when the Condition fetch failed",
			patient: exAdult().condition("snomed|62914000", exYearsAgo(2)).exSource("Condition", screening.FetchPartial),
			outcome: screening.Unknown, reason: screening.ReasonSourceError},
		{name: "unreadable Condition with no codes is unknown", patient: exAdult().exUnreadable("Condition"),
			outcome: screening.Unknown, reason: screening.ReasonUnreadable},
		{name: "unreadable Condition with an unrelated code leaves pass", patient: exAdult().exUnreadable("Condition", "http://snomed.info/sct|38341003"),
			outcome: screening.Pass, reason: screening.ReasonNotFound},
	})
}

func TestCNSEvidence(t *testing.T) {
	t.Run("nothing found says how many conditions were searched", func(t *testing.T) {
		p := exAdult().condition("snomed|38341003", exYearsAgo(10)).condition("snomed|44054006", exYearsAgo(8)).condition("snomed|109989006", exYearsAgo(2))
		exCheck(t, "cns-disease", p, screening.Pass, screening.ReasonNotFound, "searched 3 Condition")
		exCheck(t, "cns-malignancy", p, screening.Pass, screening.ReasonNotFound, "searched 3 Condition")
	})
	t.Run("a fail names the condition and the code that matched", func(t *testing.T) {
		p := exAdult().condition("snomed|38341003", exYearsAgo(10)).condition("icd10cm|C71.9", exYearsAgo(2))
		exCheck(t, "cns-malignancy", p, screening.Fail, screening.ReasonFound, "Condition/2", exFullURL("icd10cm|C71.9"), "cns-malignancy")
	})
}
