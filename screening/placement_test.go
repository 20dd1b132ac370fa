package screening_test

import (
	"strings"
	"testing"

	"github.com/trialscreen/trialscreen/protocols"
	"github.com/trialscreen/trialscreen/screening"
	"github.com/trialscreen/trialscreen/terminology"
)

// Codes as hospitals send them (the contract's "Codes as hospitals send them"): every
// rule has a case that passes, one that fails and one that stays unknown or review.

const (
	oidSNOMED  = "urn:oid:2.16.840.1.113883.6.96"
	oidICD10CM = "urn:oid:2.16.840.1.113883.6.90"
	oidLOINC   = "urn:oid:2.16.840.1.113883.6.1"
	oidRxNorm  = "urn:oid:2.16.840.1.113883.6.88"
	whoICD10   = "http://hl7.org/fhir/sid/icd-10"
	chinaICD10 = "urn:oid:2.16.156.10011.2.3.3.11" // China's clinical edition, as its CDA and FHIR documents write it
	ndc        = "http://hl7.org/fhir/sid/ndc"
	localLab   = "urn:oid:1.2.840.114350.1.13.0.1.7.5.737384.6" // an Epic-style local system
)

func raw(system, c string) screening.Coding { return screening.Coding{System: system, Code: c} }

func (p *patient) condRaw(onset screening.When, cs ...screening.Coding) *patient {
	return p.cond(screening.Condition{Code: cs, Clinical: "active", Verification: "confirmed", Onset: onset})
}

func (p *patient) medRaw(status, text string, start, end screening.When, cs ...screening.Coding) *patient {
	p.rec.Medications = append(p.rec.Medications, screening.MedicationUse{Ref: p.ref("MedicationAdministration"), Code: cs, Status: status, Start: start, End: end, Text: text})
	return p
}

func TestDiagnosesInAnySystemSpelling(t *testing.T) {
	mm := func() *patient { return newPatient("male", "1961-06-06") }
	runCriterion(t, "myeloma-diagnosis", []criterionCase{
		{name: "SNOMED CT written as its OID passes", patient: mm().condRaw(daysAgo(300), raw(oidSNOMED, "109989006")), outcome: screening.Pass},
		{name: "an IgA myeloma (a SNOMED CT subtype from the published expansion) passes", patient: mm().condRaw(daysAgo(300), raw(screening.SystemSNOMED, "285420006")), outcome: screening.Pass},
		{name: "WHO ICD-10 C90.0 passes", patient: mm().condRaw(daysAgo(300), raw(whoICD10, "C90.0")), outcome: screening.Pass},
		{name: "China's clinical edition C90.000 passes", patient: mm().condRaw(daysAgo(300), raw(chinaICD10, "C90.000")), outcome: screening.Pass},
		{name: "ICD-10-CM as an OID, without its dot, passes", patient: mm().condRaw(daysAgo(300), raw(oidICD10CM, "C9002")), outcome: screening.Pass},
		{name: "WHO ICD-10 C91 (not myeloma) fails", patient: mm().condRaw(daysAgo(300), raw(whoICD10, "C91.0")), outcome: screening.Fail},
		{name: "a diagnosis only in a local system is review: it may be the myeloma", patient: mm().condRaw(daysAgo(300), raw(localLab, "MM-01")),
			outcome: screening.Review, reason: screening.ReasonUnplaced},
	})
	ex := func() *patient { return exAdult() }
	runCriterion(t, "cns-disease", []criterionCase{
		{name: "no condition passes", patient: ex(), outcome: screening.Pass},
		{name: "focal epilepsy (SNOMED CT descendant) fails", patient: ex().condRaw(exYearsAgo(3), raw(screening.SystemSNOMED, "230381009")), outcome: screening.Fail},
		{name: "WHO ICD-10 G40.1 fails", patient: ex().condRaw(exYearsAgo(3), raw(whoICD10, "G40.1")), outcome: screening.Fail},
		{name: "WHO-only I64 fails", patient: ex().condRaw(exYearsAgo(3), raw(chinaICD10, "I64.x00")), outcome: screening.Fail},
		{name: "an unplaced local diagnosis is review", patient: ex().condRaw(exYearsAgo(3), raw(localLab, "EPI")), outcome: screening.Review, reason: screening.ReasonUnplaced},
		{name: "an unplaced diagnosis entered in error does not count", patient: ex().cond(screening.Condition{Code: []screening.Coding{raw(localLab, "EPI")}, Verification: "entered-in-error"}),
			outcome: screening.Pass},
	})
}

func TestMedicationsByIngredient(t *testing.T) {
	pt := func() *patient { return newPatient("male", "1961-06-06") }
	ld := asOf.AddDate(0, 0, 5)
	runCriterion(t, "therapy-washout", []criterionCase{
		{name: "Velcade (SBD) given 3 days ago fails with a lymphodepletion date", ld: ld,
			patient: pt().medRaw("completed", "", daysAgo(3), daysAgo(3), raw(screening.SystemRxNorm, "402244")), outcome: screening.Fail},
		{name: "Velcade as a brand name written under the RxNorm OID fails", ld: ld,
			patient: pt().medRaw("completed", "", daysAgo(3), daysAgo(3), raw(oidRxNorm, "356733")), outcome: screening.Fail},
		{name: "Velcade (SBD) given 60 days ago passes", ld: ld,
			patient: pt().medRaw("completed", "", daysAgo(60), daysAgo(60), raw(screening.SystemRxNorm, "402244")), outcome: screening.Pass},
		{name: "a drug given 3 days ago known only by text is review", ld: ld,
			patient: pt().medRaw("completed", "VRd cycle 4 day 8", daysAgo(3), daysAgo(3)), outcome: screening.Review, reason: screening.ReasonUnplaced},
		{name: "an NDC the table does not know, given 3 days ago, is review", ld: ld,
			patient: pt().medRaw("completed", "", daysAgo(3), daysAgo(3), raw(ndc, "99999-999-99")), outcome: screening.Review, reason: screening.ReasonUnplaced},
		{name: "an unknown drug that ended 60 days ago cannot matter: pass", ld: ld,
			patient: pt().medRaw("completed", "", daysAgo(60), daysAgo(60), raw(screening.SystemRxNorm, "477045")), outcome: screening.Pass},
		{name: "an unknown drug still active is review", ld: ld,
			patient: pt().medRaw("active", "", daysAgo(200), screening.When{}, raw(screening.SystemRxNorm, "477045")), outcome: screening.Review, reason: screening.ReasonUnplaced},
	})
	runCriterion(t, "chemo-allergy", []criterionCase{
		{name: "an allergy to Cytoxan (brand name) fails", patient: exAdult().allergy("rxnorm|202589", "confirmed"), outcome: screening.Fail},
		{name: "an allergy to fludarabine phosphate 50 MG injection (SCD) fails", patient: exAdult().allergy("rxnorm|1740864", "confirmed"), outcome: screening.Fail},
		{name: "a food allergy under any code passes", patient: exAdult().allergyWith(screening.Allergy{Code: []screening.Coding{raw(screening.SystemSNOMED, "91935009")}, Category: []string{"food"}}),
			outcome: screening.Pass},
		{name: "a drug allergy given only as text is review", patient: exAdult().allergyWith(screening.Allergy{Text: "Cytoxan", Category: []string{"medication"}}),
			outcome: screening.Review, reason: screening.ReasonUnplaced},
	})
}

func (p *patient) allergyWith(a screening.Allergy) *patient {
	a.Ref = p.ref("AllergyIntolerance")
	a.Clinical, a.Verification = "active", "confirmed"
	p.rec.Allergies = append(p.rec.Allergies, a)
	return p
}

func TestQualitativeResultsAsHospitalsSendThem(t *testing.T) {
	runCriterion(t, "viral-serology", []criterionCase{
		{name: "HCV antibody LOINC answer LA6576-8 Positive fails", patient: exSerology(exAdult(), 10, exHCV).coded(exHCV, "loinc|LA6576-8", daysAgo(10)), outcome: screening.Fail},
		{name: "all four LA6577-6 Negative pass", patient: exAdult().coded(exHIV, "loinc|LA6577-6", daysAgo(9)).coded(exHCV, "loinc|LA6577-6", daysAgo(9)).
			coded(exHBsAg, "loinc|LA6577-6", daysAgo(9)).coded(exTPPA, "loinc|LA11883-8", daysAgo(9)), outcome: screening.Pass},
		{name: "the word Non-reactive passes", patient: exSerology(exAdult(), 10, exHCV).incText(exHCV, "Non-reactive", daysAgo(10)), outcome: screening.Pass},
		{name: "the word REACTIVE fails", patient: exSerology(exAdult(), 10, exHCV).incText(exHCV, "REACTIVE", daysAgo(10)), outcome: screening.Fail},
		{name: "other text stays undecided", patient: exSerology(exAdult(), 10, exHCV).incText(exHCV, "equivocal, repeat", daysAgo(10)), outcome: screening.Unknown},
		{name: "LOINC written as its OID is read", patient: exSerology(exAdult(), 10, exHCV).obs(screening.Observation{Status: "final", Code: []screening.Coding{raw(oidLOINC, "13955-0")}, Effective: daysAgo(10), ValueCode: codes("loinc|LA6576-8")}),
			outcome: screening.Fail},
		{name: "a local-coded test with a positive value could be one of the four: review", patient: exSerology(exAdult(), 10).obs(screening.Observation{Status: "final", Code: []screening.Coding{raw(localLab, "HIV-AB")}, CodeText: "HIV 1/2 Ab", Effective: daysAgo(2), ValueText: "Reactive"}),
			outcome: screening.Review, reason: screening.ReasonUnplaced},
	})
}

func TestResultsInsidePanels(t *testing.T) {
	pt := func() *patient { return newPatient("male", "1960-05-05") }
	cbc := func(p *patient, plt float64, when screening.When) *patient {
		return p.obs(screening.Observation{Status: "final", Code: codes("loinc|58410-2"), Effective: when,
			Components: []screening.Component{{Code: codes("loinc|777-3"), Value: qty(plt, "10*3/uL")}, {Code: codes("loinc|718-7"), Value: qty(12, "g/dL")}}})
	}
	runCriterion(t, "platelets", []criterionCase{
		{name: "a newer low count in a CBC component fails over an older passing one", patient: cbc(pt().lab("loinc|777-3", 120, "10*3/uL", daysAgo(12)), 38, daysAgo(2)), outcome: screening.Fail},
		{name: "a newer passing count in a component passes", patient: cbc(pt().lab("loinc|777-3", 40, "10*3/uL", daysAgo(12)), 130, daysAgo(2)), outcome: screening.Pass},
		{name: "a component without a value leaves no result", patient: pt().obs(screening.Observation{Status: "final", Code: codes("loinc|58410-2"), Effective: daysAgo(2),
			Components: []screening.Component{{Code: codes("loinc|777-3")}}}), outcome: screening.Unknown, reason: screening.ReasonNoData},
		{name: "a preliminary panel's component does not count", patient: pt().obs(screening.Observation{Status: "preliminary", Code: codes("loinc|58410-2"), Effective: daysAgo(2),
			Components: []screening.Component{{Code: codes("loinc|777-3"), Value: qty(130, "10*3/uL")}}}), outcome: screening.Unknown},
	})
}

// A site's ConceptMap places its local codes; evidence names the local code it read.
func TestSiteMappedLocalCodes(t *testing.T) {
	shipped, err := terminology.Shipped()
	if err != nil {
		t.Fatal(err)
	}
	v := shipped.With()
	cm := `{"resourceType":"ConceptMap","url":"http://hospital.example.org/fhir/ConceptMap/lab","version":"3","status":"active",
	 "group":[{"source":"` + localLab + `","target":"urn:oid:2.16.840.1.113883.6.1","element":[{"code":"HIV-AB","target":[{"code":"7917-8","equivalence":"equivalent"}]}]}]}`
	if err := v.Site.AddConceptMap([]byte(cm), "lab.json", v.Systems); err != nil {
		t.Fatal(err)
	}
	p, err := screening.LoadProtocol(protocols.AntiBCMA, screening.Options{Vocabulary: v})
	if err != nil {
		t.Fatal(err)
	}
	local := func(value string) *patient {
		return exSerology(exAdult(), 10, exHIV).obs(screening.Observation{Status: "final", Code: []screening.Coding{raw(localLab, "HIV-AB")}, Effective: daysAgo(3), ValueText: value})
	}
	for _, tc := range []struct {
		name    string
		p       *patient
		outcome screening.Outcome
	}{
		{"a mapped local test, negative, passes", local("Negative"), screening.Pass},
		{"a mapped local test, positive, fails", local("Positive"), screening.Fail},
		{"a mapped local test, text not a standard word, is undecided", local("see note"), screening.Unknown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := screen(t, p, tc.p.rec, "viral-serology")
			if r.Outcome != tc.outcome {
				t.Fatalf("got %s/%s (%s), want %s", r.Outcome, r.Reason, r.Summary, tc.outcome)
			}
			if tc.outcome == screening.Fail {
				found := false
				for _, e := range r.Evidence {
					found = found || strings.Contains(e.RecordedAs, "HIV-AB")
				}
				if !found {
					t.Errorf("no evidence names the local code: %+v", r.Evidence)
				}
			}
		})
	}
	// Without the map, beside four negative results, the local test is review: it could be
	// a positive one of the four.
	unmapped := exSerology(exAdult(), 10).obs(screening.Observation{Status: "final", Code: []screening.Coding{raw(localLab, "HIV-AB")}, Effective: daysAgo(3), ValueText: "Positive"})
	r := screen(t, loadProtocol(t), unmapped.rec, "viral-serology")
	if r.Outcome != screening.Review || r.Reason != screening.ReasonUnplaced {
		t.Errorf("unmapped: got %s/%s, want review/unplaced-code", r.Outcome, r.Reason)
	}
}

// The red team's second round: records that decide without a person, or must not.
func TestDeceasedAndStraddlingDates(t *testing.T) {
	dead := newPatient("male", "1961-06-06")
	dead.rec.Patient.Deceased, dead.rec.Patient.DeceasedAt = true, daysAgo(1)
	alive := newPatient("male", "1961-06-06")
	later := newPatient("male", "1961-06-06")
	later.rec.Patient.Deceased, later.rec.Patient.DeceasedAt = true, daysAgo(-3) // after as-of: not yet
	runCriterion(t, "life-expectancy", []criterionCase{
		{name: "a patient who died fails", patient: dead, outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "a living patient is for the investigator", patient: alive, outcome: screening.Review, reason: screening.ReasonManual},
		{name: "a death recorded after as-of is not read", patient: later, outcome: screening.Review, reason: screening.ReasonManual},
	})
	month := func(s string) screening.When {
		w := date(s + "-01")
		w.Precision = screening.PrecisionMonth
		return w
	}
	yearAgo := asOf.AddDate(-1, 0, 0)
	runCriterion(t, "cardiac-disease", []criterionCase{
		{name: "an MI in a month that straddles the one-year window is review", patient: exAdult().condition("snomed|22298006", month(yearAgo.Format("2006-01"))),
			outcome: screening.Review, reason: screening.ReasonUndated},
		{name: "an MI in a month wholly inside the window fails", patient: exAdult().condition("snomed|22298006", month(asOf.AddDate(0, -2, 0).Format("2006-01"))),
			outcome: screening.Fail},
		{name: "an MI in a month wholly before the window passes", patient: exAdult().condition("snomed|22298006", month(asOf.AddDate(-2, 0, 0).Format("2006-01"))),
			outcome: screening.Pass},
	})
}

// A rule that counts an observation only with certain coded values reads a value given
// as text as something a person must read, never as no finding.
func TestObservationValuesGivenAsText(t *testing.T) {
	bf := "loinc|63895-7"
	runCriterion(t, "lactation", []criterionCase{
		{name: "breastfeeding status as text is review", patient: exWoman().incText(bf, "Currently breastfeeding", daysAgo(3)),
			outcome: screening.Review, reason: screening.ReasonFreeText},
		{name: "no breastfeeding record passes", patient: exWoman(), outcome: screening.Pass},
		{name: "a breastfeeding finding coded as an observation is review", patient: exWoman().obs(screening.Observation{Status: "final", Code: codes("snomed|169750002"), Effective: daysAgo(3)}),
			outcome: screening.Review},
	})
}
