package screening_test

import (
	"testing"

	"github.com/trialscreen/trialscreen/screening"
)

// cardiac-disease: MI, unstable angina, coronary intervention or NYHA III-IV within a
// year fails; undated cardiac history and heart failure without a class are review.
func TestCardiacDisease(t *testing.T) {
	const (
		mi       = "snomed|22298006"
		pci      = "snomed|415070008"
		nyha     = "loinc|88020-3"
		classIV  = "loinc|LA28407-7"
		classIII = "loinc|LA28406-9"
		classII  = "loinc|LA28405-1"
		hf       = "snomed|84114007"
	)
	nyhaObs := func(p *patient, value, status string, when screening.When) *patient {
		return p.obs(screening.Observation{Status: status, Code: codes(nyha), Effective: when, ValueCode: codes(value)})
	}
	runCriterion(t, "cardiac-disease", []criterionCase{
		{name: "nothing recorded passes", patient: exAdult(),
			outcome: screening.Pass, reason: screening.ReasonNotFound},
		{name: "MI 100 days ago fails", patient: exAdult().condition(mi, daysAgo(100)),
			outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "MI 364 days ago fails", patient: exAdult().condition(mi, daysAgo(364)),
			outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "MI 400 days ago passes", patient: exAdult().condition(mi, daysAgo(400)),
			outcome: screening.Pass, reason: screening.ReasonNotFound},
		{name: "MI 100 days ago, now resolved, still fails", patient: exAdult().exCured(mi, daysAgo(100), daysAgo(90)),
			outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "MI without any date is review", patient: exAdult().exUndated(mi),
			outcome: screening.Review, reason: screening.ReasonUndated},
		{name: "MI without onset is undated whatever its recorded date",
			patient: exAdult().cond(screening.Condition{Code: codes(mi), Clinical: "resolved", Verification: "confirmed", Recorded: daysAgo(400)}),
			outcome: screening.Review, reason: screening.ReasonUndated},
		{name: "refuted MI is ignored", patient: exAdult().exCond(mi, "active", "refuted", daysAgo(100)),
			outcome: screening.Pass, reason: screening.ReasonNotFound},
		{name: "entered-in-error MI is ignored", patient: exAdult().exCond(mi, "active", "entered-in-error", daysAgo(100)),
			outcome: screening.Pass, reason: screening.ReasonNotFound},
		{name: "acute MI I21.4 with dot fails", patient: exAdult().condition("icd10cm|I21.4", daysAgo(100)),
			outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "acute MI I214 without dot fails", patient: exAdult().condition("icd10cm|I214", daysAgo(100)),
			outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "unstable angina 200 days ago fails", patient: exAdult().condition("snomed|4557003", daysAgo(200)),
			outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "PCI 200 days ago fails", patient: exAdult().procedure(pci, daysAgo(200)),
			outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "PCI 400 days ago passes", patient: exAdult().procedure(pci, daysAgo(400)),
			outcome: screening.Pass, reason: screening.ReasonNotFound},
		{name: "PCI without a date is review", patient: exAdult().procedure(pci, screening.When{}),
			outcome: screening.Review, reason: screening.ReasonUndated},
		{name: "PCI entered in error is ignored", patient: exAdult().exProc(pci, "entered-in-error", daysAgo(200)),
			outcome: screening.Pass, reason: screening.ReasonNotFound},
		{name: "PCI not done is ignored", patient: exAdult().exProc(pci, "not-done", daysAgo(200)),
			outcome: screening.Pass, reason: screening.ReasonNotFound},
		{name: "coronary stent 30 days ago fails", patient: exAdult().procedure("snomed|36969009", daysAgo(30)),
			outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "NYHA class IV within a year fails", patient: nyhaObs(exAdult(), classIV, "final", daysAgo(30)),
			outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "NYHA class III within a year fails", patient: nyhaObs(exAdult(), classIII, "amended", daysAgo(200)),
			outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "NYHA class II passes", patient: nyhaObs(exAdult(), classII, "final", daysAgo(30)),
			outcome: screening.Pass, reason: screening.ReasonNotFound},
		{name: "NYHA class IV 400 days ago passes", patient: nyhaObs(exAdult(), classIV, "final", daysAgo(400)),
			outcome: screening.Pass, reason: screening.ReasonNotFound},
		{name: "preliminary NYHA class IV does not count", patient: nyhaObs(exAdult(), classIV, "preliminary", daysAgo(30)),
			outcome: screening.Pass, reason: screening.ReasonNotFound},
		{name: "NYHA class III finding within a year fails", patient: exAdult().condition("snomed|420913000", daysAgo(60)),
			outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "active heart failure without a class is review", patient: exAdult().condition(hf, exYearsAgo(3)),
			outcome: screening.Review, reason: screening.ReasonJudgement},
		{name: "active heart failure I50.22 without a class is review", patient: exAdult().condition("icd10cm|I50.22", exYearsAgo(3)),
			outcome: screening.Review, reason: screening.ReasonJudgement},
		{name: "resolved heart failure passes", patient: exAdult().exCured(hf, exYearsAgo(5), exYearsAgo(4)),
			outcome: screening.Pass, reason: screening.ReasonNotFound},
		{name: "heart failure with NYHA class IV fails", patient: nyhaObs(exAdult().condition(hf, exYearsAgo(3)), classIV, "final", daysAgo(10)),
			outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "history of MI is review", patient: exAdult().condition("snomed|399211009", exYearsAgo(3)),
			outcome: screening.Review, reason: screening.ReasonJudgement},
		{name: "old MI I25.2 is review", patient: exAdult().condition("icd10cm|I25.2", exYearsAgo(3)),
			outcome: screening.Review, reason: screening.ReasonJudgement},
		{name: "failed Condition fetch is unknown", patient: exAdult().exSource("Condition", screening.FetchFailed),
			outcome: screening.Unknown, reason: screening.ReasonSourceError},
		{name: "failed Procedure fetch is unknown", patient: exAdult().exSource("Procedure", screening.FetchFailed),
			outcome: screening.Unknown, reason: screening.ReasonSourceError},
		{name: "partial Observation fetch is unknown", patient: exAdult().exSource("Observation", screening.FetchPartial),
			outcome: screening.Unknown, reason: screening.ReasonSourceError},
		{name: "MI 100 days ago stays fail although the Condition fetch failed",
			patient: exAdult().condition(mi, daysAgo(100)).exSource("Condition", screening.FetchFailed),
			outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "unreadable Condition with no codes is unknown", patient: exAdult().exUnreadable("Condition"),
			outcome: screening.Unknown, reason: screening.ReasonUnreadable},
		{name: "unreadable Condition with an unrelated code leaves pass", patient: exAdult().exUnreadable("Condition", "http://snomed.info/sct|38341003"),
			outcome: screening.Pass, reason: screening.ReasonNotFound},
		{name: "unreadable NYHA observation is unknown", patient: exAdult().exUnreadable("Observation", exFullURL(nyha)),
			outcome: screening.Unknown, reason: screening.ReasonUnreadable},
		{name: "unreadable haemoglobin observation leaves pass", patient: exAdult().exUnreadable("Observation", exFullURL("loinc|718-7")),
			outcome: screening.Pass, reason: screening.ReasonNotFound},
	})
}

func TestCardiacDiseaseEvidence(t *testing.T) {
	t.Run("nothing found lists conditions, observations and procedures searched", func(t *testing.T) {
		p := exAdult().condition("snomed|38341003", exYearsAgo(10)).lab("loinc|718-7", 12, "g/dL", daysAgo(3))
		exCheck(t, "cardiac-disease", p, screening.Pass, screening.ReasonNotFound, "searched 1 Condition, 1 Observation, 0 Procedure")
	})
	t.Run("a NYHA fail names the observation and its class", func(t *testing.T) {
		p := exAdult().coded("loinc|88020-3", "loinc|LA28407-7", daysAgo(30))
		exCheck(t, "cardiac-disease", p, screening.Fail, screening.ReasonFound, "Observation/1", exFullURL("loinc|LA28407-7"))
	})
	t.Run("a PCI fail names the procedure and its date", func(t *testing.T) {
		p := exAdult().procedure("snomed|415070008", daysAgo(200))
		exCheck(t, "cardiac-disease", p, screening.Fail, screening.ReasonFound, "Procedure/1", daysAgo(200).String())
	})
}
