package screening_test

import (
	"testing"

	"github.com/trialscreen/trialscreen/screening"
)

// Cockcroft-Gault: (140 - age) x weight[kg] / (72 x SCr[mg/dL]), x 0.85 for women, age at
// the creatinine's date, actual weight nearest the creatinine's date within 30 days.

const (
	incSCr    = "loinc|2160-0"
	incWeight = "loinc|29463-7"
	incBorn60 = "1966-06-01" // 60 on the creatinine dates used below
	incBorn59 = "1967-06-01" // 59
)

func TestCreatinineClearance(t *testing.T) {
	crcl := func(gender, birth string, kg, scr float64) *patient {
		return newPatient(gender, birth).lab(incSCr, scr, "mg/dL", daysAgo(1)).lab(incWeight, kg, "kg", daysAgo(1))
	}
	yearOnly := crcl("male", "1966-01-01", 53.5, 1.0)
	yearOnly.rec.Patient.BirthDate.Precision = screening.PrecisionYear
	noBirth := crcl("male", incBorn60, 70, 1.0)
	noBirth.rec.Patient.BirthDate = screening.When{}

	runCriterion(t, "creatinine-clearance", []criterionCase{
		// Worked numbers.
		{name: "male 60 y, 70 kg, SCr 1.0: 80 x 70 / 72 = 77.8 passes", patient: crcl("male", incBorn60, 70, 1.0), outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "female 60 y, 70 kg, SCr 1.0: 77.8 x 0.85 = 66.1 passes", patient: crcl("female", incBorn60, 70, 1.0), outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "male 60 y, 65 kg, SCr 1.2: 60.2 passes", patient: crcl("male", incBorn60, 65, 1.2), outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "female 60 y, 65 kg, SCr 1.2: 60.2 x 0.85 = 51.2 fails", patient: crcl("female", incBorn60, 65, 1.2), outcome: screening.Fail, reason: screening.ReasonNotMet},
		{name: "male 60 y, 53 kg, SCr 1.0: 58.9 fails", patient: crcl("male", incBorn60, 53, 1.0), outcome: screening.Fail, reason: screening.ReasonNotMet},
		{name: "male 59 y, 64 kg, SCr 1.2: exactly 60 passes", patient: crcl("male", incBorn59, 64, 1.2), outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "male 60 y, 70.2 kg, SCr 1.3: exactly 60 passes (80 x 70.2 / 93.6)", patient: crcl("male", incBorn60, 70.2, 1.3), outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "male 60 y, 70.1 kg, SCr 1.3: 59.9 fails", patient: crcl("male", incBorn60, 70.1, 1.3), outcome: screening.Fail, reason: screening.ReasonNotMet},
		{name: "male 68 y, 60 kg, SCr 1.0: exactly 60 passes", patient: crcl("male", "1958-06-01", 60, 1.0), outcome: screening.Pass, reason: screening.ReasonMet},

		// Age at the creatinine's date: 59 then (60.2 passes), 60 at as-of (59.4 would fail).
		{name: "age is taken at the creatinine's date, before a birthday", patient: newPatient("male", "1966-11-19").lab(incSCr, 1.0, "mg/dL", daysAgo(10)).lab(incWeight, 53.5, "kg", daysAgo(10)),
			outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "the same patient with a creatinine after the birthday fails", patient: newPatient("male", "1966-11-19").lab(incSCr, 1.0, "mg/dL", daysAgo(1)).lab(incWeight, 53.5, "kg", daysAgo(1)),
			outcome: screening.Fail, reason: screening.ReasonNotMet},

		// Weight nearest the creatinine's date, not the latest.
		{name: "weight nearest an older creatinine is used (80 kg: 88.9 passes)", patient: newPatient("male", incBorn60).lab(incSCr, 1.0, "mg/dL", daysAgo(10)).lab(incWeight, 80, "kg", daysAgo(11)).lab(incWeight, 50, "kg", daysAgo(1)),
			outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "weight nearest a recent creatinine is used (50 kg: 55.6 fails)", patient: newPatient("male", incBorn60).lab(incSCr, 1.0, "mg/dL", daysAgo(1)).lab(incWeight, 80, "kg", daysAgo(11)).lab(incWeight, 50, "kg", daysAgo(1)),
			outcome: screening.Fail, reason: screening.ReasonNotMet},
		{name: "a weight dated after as-of is ignored even when nearer", patient: newPatient("male", incBorn60).lab(incSCr, 1.0, "mg/dL", daysAgo(1)).lab(incWeight, 50, "kg", daysAgo(-0.5)).lab(incWeight, 80, "kg", daysAgo(5)),
			outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "a preliminary weight is ignored even when nearer", patient: newPatient("male", incBorn60).lab(incSCr, 1.0, "mg/dL", daysAgo(1)).incPrelim(incWeight, 50, "kg", daysAgo(1)).lab(incWeight, 80, "kg", daysAgo(5)),
			outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "weight exactly 30 days old counts", patient: newPatient("male", incBorn60).lab(incSCr, 1.0, "mg/dL", daysAgo(1)).lab(incWeight, 70, "kg", daysAgo(30)),
			outcome: screening.Pass, reason: screening.ReasonMet},

		// Missing inputs.
		{name: "no weight is unknown/no-data", patient: newPatient("male", incBorn60).lab(incSCr, 1.0, "mg/dL", daysAgo(1)), outcome: screening.Unknown, reason: screening.ReasonNoData},
		{name: "weight 31 days old only is unknown/stale", patient: newPatient("male", incBorn60).lab(incSCr, 1.0, "mg/dL", daysAgo(1)).lab(incWeight, 70, "kg", daysAgo(31)),
			outcome: screening.Unknown, reason: screening.ReasonStale},
		{name: "preliminary weight only is unknown/not-final", patient: newPatient("male", incBorn60).lab(incSCr, 1.0, "mg/dL", daysAgo(1)).incPrelim(incWeight, 70, "kg", daysAgo(1)),
			outcome: screening.Unknown, reason: screening.ReasonNotFinal},
		{name: "no creatinine is unknown/no-data", patient: newPatient("male", incBorn60).lab(incWeight, 70, "kg", daysAgo(1)), outcome: screening.Unknown, reason: screening.ReasonNoData},
		{name: "creatinine 15 days old is unknown/stale", patient: newPatient("male", incBorn60).lab(incSCr, 1.0, "mg/dL", daysAgo(15)).lab(incWeight, 70, "kg", daysAgo(15)),
			outcome: screening.Unknown, reason: screening.ReasonStale},
		{name: "preliminary creatinine only is unknown/not-final", patient: newPatient("male", incBorn60).incPrelim(incSCr, 1.0, "mg/dL", daysAgo(1)).lab(incWeight, 70, "kg", daysAgo(1)),
			outcome: screening.Unknown, reason: screening.ReasonNotFinal},
		{name: "no birth date is unknown/no-data", patient: noBirth, outcome: screening.Unknown, reason: screening.ReasonNoData},
		{name: "year-only birth date straddling the threshold is unknown/no-data", patient: yearOnly, outcome: screening.Unknown, reason: screening.ReasonNoData},
		{name: "creatinine of zero is unknown/no-data", patient: crcl("male", incBorn60, 70, 0), outcome: screening.Unknown, reason: screening.ReasonNoData},

		// Units and codes.
		{name: "weight 154 [lb_av] (69.9 kg) passes", patient: newPatient("male", incBorn60).lab(incSCr, 1.0, "mg/dL", daysAgo(1)).lab(incWeight, 154, "[lb_av]", daysAgo(1)),
			outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "weight 100 [lb_av] (45.4 kg: 50.4) fails", patient: newPatient("male", incBorn60).lab(incSCr, 1.0, "mg/dL", daysAgo(1)).lab(incWeight, 100, "[lb_av]", daysAgo(1)),
			outcome: screening.Fail, reason: screening.ReasonNotMet},
		{name: "weight 70000 g passes", patient: newPatient("male", incBorn60).lab(incSCr, 1.0, "mg/dL", daysAgo(1)).lab("loinc|3141-9", 70000, "g", daysAgo(1)),
			outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "creatinine 88.4 umol/L (1.0 mg/dL) passes", patient: newPatient("male", incBorn60).lab("loinc|14682-9", 88.4, "umol/L", daysAgo(1)).lab(incWeight, 70, "kg", daysAgo(1)),
			outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "creatinine 132.6 umol/L (1.5 mg/dL: 51.9) fails", patient: newPatient("male", incBorn60).lab(incSCr, 132.6, "umol/L", daysAgo(1)).lab(incWeight, 70, "kg", daysAgo(1)),
			outcome: screening.Fail, reason: screening.ReasonNotMet},
		{name: "blood creatinine 38483-4 counts", patient: newPatient("male", incBorn60).lab("loinc|38483-4", 2.0, "mg/dL", daysAgo(1)).lab(incWeight, 70, "kg", daysAgo(1)),
			outcome: screening.Fail, reason: screening.ReasonNotMet},
		{name: "creatinine with a display-only unit is unknown/unit", patient: newPatient("male", incBorn60).incObs(incSCr, incDisplayOnly(1.0, "mg/dL"), "final", daysAgo(1)).lab(incWeight, 70, "kg", daysAgo(1)),
			outcome: screening.Unknown, reason: screening.ReasonUnit},
		{name: "weight with a display-only unit is unknown/unit", patient: newPatient("male", incBorn60).lab(incSCr, 1.0, "mg/dL", daysAgo(1)).incObs(incWeight, incDisplayOnly(70, "kg"), "final", daysAgo(1)),
			outcome: screening.Unknown, reason: screening.ReasonUnit},
		{name: "weight in a non-UCUM system is unknown/unit", patient: newPatient("male", incBorn60).lab(incSCr, 1.0, "mg/dL", daysAgo(1)).incObs(incWeight, incOtherSystem(70, "kg"), "final", daysAgo(1)),
			outcome: screening.Unknown, reason: screening.ReasonUnit},

		// Sex not recorded: both formulas must agree.
		{name: "gender unknown straddling 60 is unknown/no-data", patient: crcl("unknown", incBorn60, 65, 1.2), outcome: screening.Unknown, reason: screening.ReasonNoData},
		{name: "gender missing straddling 60 is unknown/no-data", patient: crcl("", incBorn60, 65, 1.2), outcome: screening.Unknown, reason: screening.ReasonNoData},
		{name: "gender unknown, both formulas pass", patient: crcl("unknown", incBorn60, 70, 1.0), outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "gender unknown, both formulas fail", patient: crcl("unknown", incBorn60, 50, 1.0), outcome: screening.Fail, reason: screening.ReasonNotMet},

		// Results at the same instant.
		{name: "two creatinines at one instant leading to pass and fail is unknown/conflict", patient: crcl("male", incBorn60, 70, 1.0).lab(incSCr, 2.0, "mg/dL", daysAgo(1)),
			outcome: screening.Unknown, reason: screening.ReasonConflict},
		{name: "two equal creatinines in different units are fine", patient: crcl("male", incBorn60, 70, 1.0).lab("loinc|14682-9", 88.4, "umol/L", daysAgo(1)),
			outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "two creatinines at one instant that both pass are fine", patient: crcl("male", incBorn60, 70, 1.0).lab(incSCr, 1.05, "mg/dL", daysAgo(1)),
			outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "two weights equally near that both pass are fine", patient: newPatient("male", incBorn60).lab(incSCr, 1.0, "mg/dL", daysAgo(2)).lab(incWeight, 70, "kg", daysAgo(3)).lab(incWeight, 72, "kg", daysAgo(1)),
			outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "two weights equally near leading to pass and fail is unknown/conflict", patient: newPatient("male", incBorn60).lab(incSCr, 1.0, "mg/dL", daysAgo(2)).lab(incWeight, 80, "kg", daysAgo(3)).lab(incWeight, 50, "kg", daysAgo(1)),
			outcome: screening.Unknown, reason: screening.ReasonConflict},
	})
}

// Every input of the derived value is evidence, with its own date and source.
func TestCreatinineClearanceEvidence(t *testing.T) {
	p := loadProtocol(t)
	rec := newPatient("male", incBorn60).lab(incSCr, 88.4, "umol/L", daysAgo(2)).lab(incWeight, 70, "kg", daysAgo(3)).rec
	r := screen(t, p, rec, "creatinine-clearance")
	if r.Outcome != screening.Pass || r.Reason != screening.ReasonMet {
		t.Fatalf("got %s/%s (%s), want pass/met", r.Outcome, r.Reason, r.Summary)
	}
	scr := incEvidenceRole(t, r, "creatinine")
	if scr.Resource == "" || scr.Date == "" || !incNear(scr.Value, 1.0, 1e-9) || scr.Unit != "mg/dL" || !incNear(scr.OriginalValue, 88.4, 1e-9) || scr.OriginalUnit != "umol/L" {
		t.Errorf("creatinine evidence %+v", scr)
	}
	wt := incEvidenceRole(t, r, "weight")
	if wt.Resource == "" || wt.Date == "" || !incNear(wt.Value, 70, 1e-9) || wt.Unit != "kg" {
		t.Errorf("weight evidence %+v", wt)
	}
	age := incEvidenceRole(t, r, "age-and-sex")
	if age.Resource != "Patient/p1" || !incNear(age.Value, 60, 0) {
		t.Errorf("age evidence %+v, want Patient/p1 aged 60", age)
	}
	cl := incEvidenceRole(t, r, "creatinine-clearance")
	if !incNear(cl.Value, 77.78, 0.01) || cl.Unit != "mL/min" {
		t.Errorf("derived evidence %+v, want 77.78 mL/min", cl)
	}
}
