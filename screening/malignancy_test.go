package screening_test

import (
	"testing"

	"github.com/trialscreen/trialscreen/screening"
)

// other-malignancy: any malignancy other than the index myeloma fails, except the
// protocol's exceptions once cured and any malignancy in remission for more than 5 years.
func TestOtherMalignancy(t *testing.T) {
	const (
		breast   = "snomed|254837009"
		bcc      = "snomed|254701007"
		colon    = "snomed|363406005"
		melanoma = "snomed|372244006"
		myeloma  = "snomed|109989006"
	)
	withMyeloma := func() *patient {
		return exAdult().condition(myeloma, exYearsAgo(3)).condition("icd10cm|C90.00", exYearsAgo(3))
	}
	runCriterion(t, "other-malignancy", []criterionCase{
		{name: "nothing recorded passes", patient: exAdult(),
			outcome: screening.Pass, reason: screening.ReasonNotFound},
		{name: "the index myeloma (SNOMED and C90.00) is ignored", patient: withMyeloma(),
			outcome: screening.Pass, reason: screening.ReasonNotFound},
		{name: "myeloma in relapse coded C9002 without a dot is ignored", patient: exAdult().condition("icd10cm|C9002", daysAgo(40)),
			outcome: screening.Pass, reason: screening.ReasonNotFound},
		{name: "plasma cell leukaemia C90.10 is the index disease family, ignored here", patient: exAdult().condition("icd10cm|C90.10", daysAgo(40)),
			outcome: screening.Pass, reason: screening.ReasonNotFound},
		{name: "active breast cancer fails", patient: withMyeloma().condition(breast, exYearsAgo(1)),
			outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "breast cancer ICD C50.911 fails", patient: exAdult().condition("icd10cm|C50.911", exYearsAgo(1)),
			outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "breast cancer ICD C50911 without dots fails", patient: exAdult().condition("icd10cm|C50911", exYearsAgo(1)),
			outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "breast cancer with unconfirmed verification still counts", patient: exAdult().exCond(breast, "active", "unconfirmed", exYearsAgo(1)),
			outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "refuted breast cancer is ignored", patient: exAdult().exCond(breast, "active", "refuted", exYearsAgo(1)),
			outcome: screening.Pass, reason: screening.ReasonNotFound},
		{name: "entered-in-error breast cancer is ignored", patient: exAdult().exCond(breast, "active", "entered-in-error", exYearsAgo(1)),
			outcome: screening.Pass, reason: screening.ReasonNotFound},
		{name: "cured BCC with an abatement date passes", patient: exAdult().exCured(bcc, exYearsAgo(2), exYearsAgo(1)),
			outcome: screening.Pass, reason: screening.ReasonNotFound},
		{name: "BCC with clinicalStatus resolved and no abatement passes", patient: exAdult().exCured(bcc, exYearsAgo(2), screening.When{}),
			outcome: screening.Pass, reason: screening.ReasonNotFound},
		{name: "BCC abated (no date, no clinicalStatus) passes", patient: exAdult().exAbatedOnly(bcc, exYearsAgo(2)),
			outcome: screening.Pass, reason: screening.ReasonNotFound},
		{name: "BCC that abated and recurred is review, not cured", patient: exAdult().exBackAfter(bcc, "recurrence", exYearsAgo(4), exYearsAgo(3)),
			outcome: screening.Review, reason: screening.ReasonJudgement},
		{name: "colon cancer in relapse after a remission that ended 6 years ago fails",
			patient: exAdult().exBackAfter(colon, "relapse", exYearsAgo(9), exYearsAgo(6)),
			outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "colon cancer recurring after a remission that ended 6 years ago fails",
			patient: exAdult().exBackAfter("icd10cm|C18.9", "recurrence", exYearsAgo(9), exYearsAgo(6)),
			outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "active BCC is review", patient: exAdult().condition(bcc, daysAgo(60)),
			outcome: screening.Review, reason: screening.ReasonJudgement},
		{name: "active non-melanoma skin cancer C44.91 is review", patient: exAdult().condition("icd10cm|C44.91", daysAgo(60)),
			outcome: screening.Review, reason: screening.ReasonJudgement},
		{name: "active DCIS D05.10 is review", patient: exAdult().condition("icd10cm|D05.10", daysAgo(60)),
			outcome: screening.Review, reason: screening.ReasonJudgement},
		{name: "colon cancer resolved 6 years ago passes", patient: exAdult().exCured(colon, exYearsAgo(8), exYearsAgo(6)),
			outcome: screening.Pass, reason: screening.ReasonNotFound},
		{name: "colon cancer resolved 3 years ago fails", patient: exAdult().exCured(colon, exYearsAgo(5), exYearsAgo(3)),
			outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "colon cancer resolved without an abatement date is review", patient: exAdult().exCured(colon, exYearsAgo(8), screening.When{}),
			outcome: screening.Review, reason: screening.ReasonUndated},
		{name: "melanoma is not an allowed exception: cured 1 year ago fails", patient: exAdult().exCured(melanoma, exYearsAgo(3), exYearsAgo(1)),
			outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "C79.51 bone secondary is review", patient: withMyeloma().condition("icd10cm|C79.51", daysAgo(90)),
			outcome: screening.Review, reason: screening.ReasonJudgement},
		{name: "C7951 bone secondary without dot is review", patient: exAdult().condition("icd10cm|C7951", daysAgo(90)),
			outcome: screening.Review, reason: screening.ReasonJudgement},
		{name: "active breast cancer outweighs a cured BCC and a bone secondary",
			patient: exAdult().exCured(bcc, exYearsAgo(4), exYearsAgo(3)).condition("icd10cm|C79.51", daysAgo(90)).condition(breast, exYearsAgo(1)),
			outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "a malignancy diagnosed after as-of is ignored", patient: exAdult().condition(breast, daysAgo(-3)),
			outcome: screening.Pass, reason: screening.ReasonNotFound},
		{name: "failed Condition fetch is unknown", patient: withMyeloma().exSource("Condition", screening.FetchFailed),
			outcome: screening.Unknown, reason: screening.ReasonSourceError},
		{name: "partial Condition fetch is unknown", patient: withMyeloma().exSource("Condition", screening.FetchPartial),
			outcome: screening.Unknown, reason: screening.ReasonSourceError},
		{name: "Conditions never fetched is unknown", patient: exAdult().exNotFetched("Condition"),
			outcome: screening.Unknown, reason: screening.ReasonSourceError},
		{name: "a found breast cancer stays fail although the Condition fetch failed",
			patient: exAdult().condition(breast, exYearsAgo(1)).exSource("Condition", screening.FetchFailed),
			outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "an active BCC review becomes unknown when the Condition fetch failed",
			patient: exAdult().condition(bcc, daysAgo(60)).exSource("Condition", screening.FetchFailed),
			outcome: screening.Unknown, reason: screening.ReasonSourceError},
		{name: "unreadable Condition with no codes is unknown", patient: withMyeloma().exUnreadable("Condition"),
			outcome: screening.Unknown, reason: screening.ReasonUnreadable},
		{name: "unreadable Condition with a malignancy code is unknown", patient: exAdult().exUnreadable("Condition", exFullURL("icd10cm|C18.9")),
			outcome: screening.Unknown, reason: screening.ReasonUnreadable},
		{name: "unreadable Condition with an unrelated code leaves pass", patient: withMyeloma().exUnreadable("Condition", "http://snomed.info/sct|38341003"),
			outcome: screening.Pass, reason: screening.ReasonNotFound},
		{name: "unreadable entry of unknown type is unknown", patient: exAdult().exUnreadable(""),
			outcome: screening.Unknown, reason: screening.ReasonUnreadable},
		{name: "unreadable Observation does not concern it", patient: exAdult().exUnreadable("Observation"),
			outcome: screening.Pass, reason: screening.ReasonNotFound},
	})
}

func TestOtherMalignancyEvidence(t *testing.T) {
	t.Run("nothing found says how many conditions were searched", func(t *testing.T) {
		p := exAdult().condition("snomed|109989006", exYearsAgo(3)).condition("snomed|38341003", exYearsAgo(10))
		exCheck(t, "other-malignancy", p, screening.Pass, screening.ReasonNotFound, "searched 2 Condition")
	})
	t.Run("a fail names the condition and its code", func(t *testing.T) {
		p := exAdult().condition("snomed|38341003", exYearsAgo(10)).condition("snomed|254837009", exYearsAgo(1))
		exCheck(t, "other-malignancy", p, screening.Fail, screening.ReasonFound, "Condition/2", exFullURL("snomed|254837009"))
	})
	t.Run("a remission too short names the abated condition", func(t *testing.T) {
		p := exAdult().exCured("snomed|363406005", exYearsAgo(5), exYearsAgo(3))
		exCheck(t, "other-malignancy", p, screening.Fail, screening.ReasonFound, "Condition/1", exFullURL("snomed|363406005"))
	})
	t.Run("an unreadable entry is named", func(t *testing.T) {
		p := exAdult().exUnreadable("Condition")
		exCheck(t, "other-malignancy", p, screening.Unknown, screening.ReasonUnreadable, "unreadable entry 1 (Condition)")
	})
}
