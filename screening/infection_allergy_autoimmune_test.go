package screening_test

import (
	"testing"

	"github.com/trialscreen/trialscreen/screening"
)

// active-infection: an infection current within 14 days is review; with a systemic
// anti-infective within 14 days it fails.
func TestActiveInfection(t *testing.T) {
	const (
		pneumonia   = "snomed|233604007"
		amoxicillin = "rxnorm|723"
	)
	runCriterion(t, "active-infection", []criterionCase{
		{name: "nothing recorded passes", patient: exAdult(),
			outcome: screening.Pass, reason: screening.ReasonNotFound},
		{name: "pneumonia 5 days ago is review", patient: exAdult().condition(pneumonia, daysAgo(5)),
			outcome: screening.Review, reason: screening.ReasonJudgement},
		{name: "pneumonia 5 days ago with active amoxicillin fails",
			patient: exAdult().condition(pneumonia, daysAgo(5)).med(amoxicillin, "active", daysAgo(4), screening.When{}),
			outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "pneumonia with an amoxicillin request 10 days ago that has ended fails",
			patient: exAdult().condition(pneumonia, daysAgo(12)).exMedRequest(amoxicillin, "completed", daysAgo(12), daysAgo(5)),
			outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "pneumonia with amoxicillin that ended 30 days ago is review",
			patient: exAdult().condition(pneumonia, daysAgo(5)).med(amoxicillin, "completed", daysAgo(40), daysAgo(30)),
			outcome: screening.Review, reason: screening.ReasonJudgement},
		{name: "pneumonia with a cancelled amoxicillin request is review",
			patient: exAdult().condition(pneumonia, daysAgo(5)).exMedRequest(amoxicillin, "cancelled", daysAgo(4), screening.When{}),
			outcome: screening.Review, reason: screening.ReasonJudgement},
		{name: "pneumonia with an undated amoxicillin is review, not fail",
			patient: exAdult().condition(pneumonia, daysAgo(5)).med(amoxicillin, "completed", screening.When{}, screening.When{}),
			outcome: screening.Review, reason: screening.ReasonJudgement},
		{name: "pneumonia from 30 days ago still active is review", patient: exAdult().condition(pneumonia, daysAgo(30)),
			outcome: screening.Review, reason: screening.ReasonJudgement},
		{name: "pneumonia from 30 days ago still active with amoxicillin now fails",
			patient: exAdult().condition(pneumonia, daysAgo(30)).med(amoxicillin, "active", daysAgo(4), screening.When{}),
			outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "pneumonia from 30 days ago, resolved 20 days ago, passes", patient: exAdult().exCured(pneumonia, daysAgo(30), daysAgo(20)),
			outcome: screening.Pass, reason: screening.ReasonNotFound},
		{name: "pneumonia 5 days ago, already resolved, passes", patient: exAdult().exCured(pneumonia, daysAgo(5), daysAgo(1)),
			outcome: screening.Pass, reason: screening.ReasonNotFound},
		{name: "active pneumonia without any date is review", patient: exAdult().exUndated(pneumonia),
			outcome: screening.Review, reason: screening.ReasonJudgement},
		{name: "sepsis 2 days ago is review", patient: exAdult().condition("snomed|91302008", daysAgo(2)),
			outcome: screening.Review, reason: screening.ReasonJudgement},
		{name: "amoxicillin alone (no infection coded) passes", patient: exAdult().med(amoxicillin, "active", daysAgo(4), screening.When{}),
			outcome: screening.Pass, reason: screening.ReasonNotFound},
		{name: "refuted pneumonia is ignored", patient: exAdult().exCond(pneumonia, "active", "refuted", daysAgo(5)),
			outcome: screening.Pass, reason: screening.ReasonNotFound},
		{name: "failed Condition fetch is unknown", patient: exAdult().exSource("Condition", screening.FetchFailed),
			outcome: screening.Unknown, reason: screening.ReasonSourceError},
		{name: "failed MedicationRequest fetch is unknown", patient: exAdult().exSource("MedicationRequest", screening.FetchFailed),
			outcome: screening.Unknown, reason: screening.ReasonSourceError},
		{name: "pneumonia with amoxicillin stays fail although MedicationStatement fetch was partial",
			patient: exAdult().condition(pneumonia, daysAgo(5)).med(amoxicillin, "active", daysAgo(4), screening.When{}).exSource("MedicationStatement", screening.FetchPartial),
			outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "unreadable Condition with no codes is unknown", patient: exAdult().exUnreadable("Condition"),
			outcome: screening.Unknown, reason: screening.ReasonUnreadable},
		{name: "unreadable Condition with an unrelated code leaves pass", patient: exAdult().exUnreadable("Condition", "http://snomed.info/sct|38341003"),
			outcome: screening.Pass, reason: screening.ReasonNotFound},
		{name: "unreadable MedicationRequest with no codes is unknown", patient: exAdult().exUnreadable("MedicationRequest"),
			outcome: screening.Unknown, reason: screening.ReasonUnreadable},
	})
	t.Run("a fail cites the infection and the anti-infective", func(t *testing.T) {
		p := exAdult().condition(pneumonia, daysAgo(5)).med(amoxicillin, "active", daysAgo(4), screening.When{})
		exCheck(t, "active-infection", p, screening.Fail, screening.ReasonFound,
			"Condition/1", exFullURL(pneumonia), "MedicationStatement/2", exFullURL(amoxicillin))
	})
}

// chemo-allergy: any recorded allergy to cyclophosphamide or fludarabine fails unless
// refuted or entered in error.
func TestChemoAllergy(t *testing.T) {
	const (
		cyclophosphamide = "rxnorm|3002"
		fludarabine      = "rxnorm|24698"
		fludaraPhosphate = "rxnorm|25102"
	)
	runCriterion(t, "chemo-allergy", []criterionCase{
		{name: "nothing recorded passes", patient: exAdult(),
			outcome: screening.Pass, reason: screening.ReasonNotFound},
		{name: "cyclophosphamide allergy fails", patient: exAdult().allergy(cyclophosphamide, "confirmed"),
			outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "unconfirmed cyclophosphamide allergy fails", patient: exAdult().allergy(cyclophosphamide, "unconfirmed"),
			outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "cyclophosphamide allergy without verification status fails", patient: exAdult().allergy(cyclophosphamide, ""),
			outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "refuted cyclophosphamide allergy passes", patient: exAdult().allergy(cyclophosphamide, "refuted"),
			outcome: screening.Pass, reason: screening.ReasonNotFound},
		{name: "entered-in-error cyclophosphamide allergy passes", patient: exAdult().allergy(cyclophosphamide, "entered-in-error"),
			outcome: screening.Pass, reason: screening.ReasonNotFound},
		{name: "fludarabine allergy fails", patient: exAdult().allergy(fludarabine, "confirmed"),
			outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "fludarabine phosphate allergy fails", patient: exAdult().allergy(fludaraPhosphate, "confirmed"),
			outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "an allergy to a drug the table places elsewhere (prednisone) passes", patient: exAdult().allergy("rxnorm|8640", "confirmed"),
			outcome: screening.Pass, reason: screening.ReasonNotFound},
		{name: "an allergy to a drug code the tables do not know (penicillin G) is review/unplaced-code", patient: exAdult().allergy("rxnorm|7980", "confirmed"),
			outcome: screening.Review, reason: screening.ReasonUnplaced},
		{name: "a SNOMED CT code not in the drug table may be a drug: review/unplaced-code", patient: exAdult().allergy("snomed|3002", "confirmed"),
			outcome: screening.Review, reason: screening.ReasonUnplaced},
		{name: "failed AllergyIntolerance fetch is unknown", patient: exAdult().exSource("AllergyIntolerance", screening.FetchFailed),
			outcome: screening.Unknown, reason: screening.ReasonSourceError},
		{name: "allergy list never fetched is unknown", patient: exAdult().exNotFetched("AllergyIntolerance"),
			outcome: screening.Unknown, reason: screening.ReasonSourceError},
		{name: "allergy stays fail although the fetch was partial",
			patient: exAdult().allergy(cyclophosphamide, "confirmed").exSource("AllergyIntolerance", screening.FetchPartial),
			outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "unreadable AllergyIntolerance with no codes is unknown", patient: exAdult().exUnreadable("AllergyIntolerance"),
			outcome: screening.Unknown, reason: screening.ReasonUnreadable},
		{name: "unreadable AllergyIntolerance with an unrelated code leaves pass", patient: exAdult().exUnreadable("AllergyIntolerance", exFullURL("rxnorm|8640")),
			outcome: screening.Pass, reason: screening.ReasonNotFound},
		{name: "unreadable AllergyIntolerance with a code the tables do not know is unknown", patient: exAdult().exUnreadable("AllergyIntolerance", exFullURL("rxnorm|7980")),
			outcome: screening.Unknown, reason: screening.ReasonUnreadable},
		{name: "unreadable Condition does not concern it", patient: exAdult().exUnreadable("Condition"),
			outcome: screening.Pass, reason: screening.ReasonNotFound},
	})
	t.Run("evidence", func(t *testing.T) {
		exCheck(t, "chemo-allergy", exAdult().allergy("rxnorm|8640", "confirmed"), screening.Pass, screening.ReasonNotFound, "searched 1 AllergyIntolerance")
		exCheck(t, "chemo-allergy", exAdult().allergy(cyclophosphamide, "confirmed"), screening.Fail, screening.ReasonFound,
			"AllergyIntolerance/1", exFullURL(cyclophosphamide))
	})
}

// autoimmune-disease: an autoimmune disease is review (end-organ damage needs judgement);
// with systemic immunosuppression or steroids within 2 years it fails.
func TestAutoimmuneDisease(t *testing.T) {
	const (
		ra           = "snomed|69896004"
		methotrexate = "rxnorm|6851"
	)
	cases := []criterionCase{
		{name: "nothing recorded passes", patient: exAdult(),
			outcome: screening.Pass, reason: screening.ReasonNotFound},
		{name: "rheumatoid arthritis alone is review", patient: exAdult().condition(ra, exYearsAgo(10)),
			outcome: screening.Review, reason: screening.ReasonJudgement},
		{name: "rheumatoid arthritis M05.79 is review", patient: exAdult().condition("icd10cm|M05.79", exYearsAgo(10)),
			outcome: screening.Review, reason: screening.ReasonJudgement},
		{name: "resolved rheumatoid arthritis is still review (history)", patient: exAdult().exCured(ra, exYearsAgo(10), exYearsAgo(5)),
			outcome: screening.Review, reason: screening.ReasonJudgement},
		{name: "RA with methotrexate active now fails",
			patient: exAdult().condition(ra, exYearsAgo(10)).med(methotrexate, "active", exYearsAgo(3), screening.When{}),
			outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "RA with methotrexate stopped 1 year ago fails",
			patient: exAdult().condition(ra, exYearsAgo(10)).med(methotrexate, "completed", exYearsAgo(4), exYearsAgo(1)),
			outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "RA with methotrexate 3 years ago is review",
			patient: exAdult().condition(ra, exYearsAgo(10)).med(methotrexate, "completed", exYearsAgo(4), exYearsAgo(3)),
			outcome: screening.Review, reason: screening.ReasonJudgement},
		{name: "RA with methotrexate started 3 years ago, no end, completed, is review",
			patient: exAdult().condition(ra, exYearsAgo(10)).med(methotrexate, "completed", exYearsAgo(3), screening.When{}),
			outcome: screening.Review, reason: screening.ReasonJudgement},
		{name: "RA with an undated methotrexate is review, not fail",
			patient: exAdult().condition(ra, exYearsAgo(10)).med(methotrexate, "completed", screening.When{}, screening.When{}),
			outcome: screening.Review, reason: screening.ReasonJudgement},
		{name: "RA with prednisone within 2 years is review (steroids are part of myeloma regimens)",
			patient: exAdult().condition(ra, exYearsAgo(10)).exMedRequest("rxnorm|8640", "completed", daysAgo(300), daysAgo(200)),
			outcome: screening.Review, reason: screening.ReasonJudgement},
		{name: "methotrexate alone (no autoimmune disease) passes",
			patient: exAdult().med(methotrexate, "active", daysAgo(100), screening.When{}),
			outcome: screening.Pass, reason: screening.ReasonNotFound},
		{name: "refuted RA is ignored even with methotrexate",
			patient: exAdult().exCond(ra, "active", "refuted", exYearsAgo(1)).med(methotrexate, "active", daysAgo(100), screening.When{}),
			outcome: screening.Pass, reason: screening.ReasonNotFound},
		{name: "Crohn's disease K50.90 is review", patient: exAdult().condition("icd10cm|K50.90", exYearsAgo(3)),
			outcome: screening.Review, reason: screening.ReasonJudgement},
		{name: "failed MedicationStatement fetch makes RA unknown",
			patient: exAdult().condition(ra, exYearsAgo(10)).exSource("MedicationStatement", screening.FetchFailed),
			outcome: screening.Unknown, reason: screening.ReasonSourceError},
		{name: "RA with methotrexate stays fail although the Condition fetch failed",
			patient: exAdult().condition(ra, exYearsAgo(10)).med(methotrexate, "active", daysAgo(100), screening.When{}).exSource("Condition", screening.FetchFailed),
			outcome: screening.Fail, reason: screening.ReasonFound},
	}
	runCriterion(t, "autoimmune-disease", append(cases, exConditionDataCases()...))
	t.Run("a fail cites the disease and the drug", func(t *testing.T) {
		p := exAdult().condition(ra, exYearsAgo(10)).med(methotrexate, "active", daysAgo(100), screening.When{})
		exCheck(t, "autoimmune-disease", p, screening.Fail, screening.ReasonFound,
			"Condition/1", exFullURL(ra), "MedicationStatement/2", exFullURL(methotrexate))
	})
}

// The evidence of an allergy carries the record's own words for it, for the report.
func TestAllergyEvidenceCarriesTheRecordsWords(t *testing.T) {
	p := exAdult().allergyWith(screening.Allergy{Code: codes("rxnorm|3002"), Verification: "confirmed", Display: "Cytoxan allergy"})
	r := screenWith(t, loadProtocol(t), p.rec, "chemo-allergy", screening.Settings{AsOf: asOf})
	if r.Outcome != screening.Fail || len(r.Evidence) == 0 || r.Evidence[0].Display != "Cytoxan allergy" {
		t.Errorf("chemo-allergy = %s with evidence %+v, want fail showing the record's words", r.Outcome, r.Evidence)
	}
}
