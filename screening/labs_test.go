package screening_test

import (
	"strings"
	"testing"

	"github.com/trialscreen/trialscreen/screening"
)

// Blood counts and chemistry: most recent qualifying result within 14 days, compared
// after UCUM conversion by unit code.

func TestNeutrophils(t *testing.T) {
	const anc = "loinc|751-8"
	pt := func() *patient { return newPatient("male", "1960-05-05") }
	runCriterion(t, "neutrophils", []criterionCase{
		// Thresholds and units.
		{name: "ANC exactly 1.0 10*9/L passes", patient: pt().lab(anc, 1.0, "10*9/L", daysAgo(1)), outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "ANC 0.99 10*9/L fails", patient: pt().lab(anc, 0.99, "10*9/L", daysAgo(1)), outcome: screening.Fail, reason: screening.ReasonNotMet},
		{name: "1000 /uL passes", patient: pt().lab(anc, 1000, "/uL", daysAgo(1)), outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "999 /mm3 fails", patient: pt().lab(anc, 999, "/mm3", daysAgo(1)), outcome: screening.Fail, reason: screening.ReasonNotMet},
		{name: "1.0 10*3/uL passes", patient: pt().lab(anc, 1.0, "10*3/uL", daysAgo(1)), outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "1500 10*6/L is 1.5 and passes", patient: pt().lab(anc, 1500, "10*6/L", daysAgo(1)), outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "alternative code 26499-4 counts", patient: pt().lab("loinc|26499-4", 0.8, "10*9/L", daysAgo(1)), outcome: screening.Fail, reason: screening.ReasonNotMet},
		{name: "manual count 753-4 counts", patient: pt().lab("loinc|753-4", 2.0, "10*9/L", daysAgo(1)), outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "unit only as display text is unknown/unit", patient: pt().incObs(anc, incDisplayOnly(2.0, "10^9/L"), "final", daysAgo(1)), outcome: screening.Unknown, reason: screening.ReasonUnit},
		{name: "non-UCUM unit system is unknown/unit", patient: pt().incObs(anc, incOtherSystem(2.0, "10*9/L"), "final", daysAgo(1)), outcome: screening.Unknown, reason: screening.ReasonUnit},
		{name: "UCUM unit that is not a cell count is unknown/unit", patient: pt().lab(anc, 60, "%", daysAgo(1)), outcome: screening.Unknown, reason: screening.ReasonUnit},
		{name: "result without a value is unknown/no-data", patient: pt().incObs(anc, nil, "final", daysAgo(1)), outcome: screening.Unknown, reason: screening.ReasonNoData},
		{name: "the same code in another system does not count", patient: pt().obs(screening.Observation{Status: "final", Code: []screening.Coding{{System: "http://example.org/lab", Code: "751-8"}}, Effective: daysAgo(1), Value: qty(2, "10*9/L")}),
			outcome: screening.Unknown, reason: screening.ReasonNoData},

		// Missing and stale data.
		{name: "no result is unknown/no-data", patient: pt(), outcome: screening.Unknown, reason: screening.ReasonNoData},
		{name: "15 days old is unknown/stale", patient: pt().lab(anc, 2.0, "10*9/L", daysAgo(15)), outcome: screening.Unknown, reason: screening.ReasonStale},
		{name: "exactly 14 x 24 h before as-of still counts", patient: pt().lab(anc, 2.0, "10*9/L", daysAgo(14)), outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "one minute more than 14 days is stale", patient: pt().lab(anc, 2.0, "10*9/L", daysAgo(14+1.0/1440)), outcome: screening.Unknown, reason: screening.ReasonStale},
		{name: "a stale failing result is not a fail", patient: pt().lab(anc, 0.2, "10*9/L", daysAgo(20)), outcome: screening.Unknown, reason: screening.ReasonStale},
		{name: "undated result is unknown/no-data", patient: pt().incObs(anc, qty(2, "10*9/L"), "final", screening.When{}), outcome: screening.Unknown, reason: screening.ReasonNoData},

		// Status.
		{name: "preliminary only is unknown/not-final", patient: pt().incPrelim(anc, 2.0, "10*9/L", daysAgo(1)), outcome: screening.Unknown, reason: screening.ReasonNotFinal},
		{name: "a newer preliminary does not hide an older final (pass)", patient: pt().lab(anc, 2.0, "10*9/L", daysAgo(5)).incPrelim(anc, 0.5, "10*9/L", daysAgo(1)), outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "a newer preliminary does not hide an older final (fail)", patient: pt().lab(anc, 0.5, "10*9/L", daysAgo(5)).incPrelim(anc, 2.0, "10*9/L", daysAgo(1)), outcome: screening.Fail, reason: screening.ReasonNotMet},
		{name: "amended counts", patient: pt().incObs(anc, qty(2, "10*9/L"), "amended", daysAgo(1)), outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "corrected counts", patient: pt().incObs(anc, qty(0.5, "10*9/L"), "corrected", daysAgo(1)), outcome: screening.Fail, reason: screening.ReasonNotMet},
		{name: "entered-in-error does not count", patient: pt().incObs(anc, qty(2, "10*9/L"), "entered-in-error", daysAgo(1)), outcome: screening.Unknown, reason: screening.ReasonNotFinal},
		{name: "preliminary in window with a stale final is stale", patient: pt().lab(anc, 2.0, "10*9/L", daysAgo(20)).incPrelim(anc, 2.0, "10*9/L", daysAgo(1)), outcome: screening.Unknown, reason: screening.ReasonStale},

		// Which result decides.
		{name: "the most recent in the window decides (newer passes)", patient: pt().lab(anc, 0.5, "10*9/L", daysAgo(6)).lab(anc, 2.0, "10*9/L", daysAgo(2)), outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "the most recent in the window decides (newer fails)", patient: pt().lab(anc, 2.0, "10*9/L", daysAgo(6)).lab(anc, 0.5, "10*9/L", daysAgo(2)), outcome: screening.Fail, reason: screening.ReasonNotMet},
		{name: "a result dated after as-of is ignored", patient: pt().lab(anc, 2.0, "10*9/L", daysAgo(2)).lab(anc, 0.5, "10*9/L", daysAgo(-1)), outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "only a result dated after as-of is unknown/no-data", patient: pt().lab(anc, 2.0, "10*9/L", daysAgo(-1)), outcome: screening.Unknown, reason: screening.ReasonNoData},
		{name: "same instant, different outcomes is unknown/conflict", patient: pt().lab(anc, 0.5, "10*9/L", daysAgo(1)).lab(anc, 2.0, "10*9/L", daysAgo(1)), outcome: screening.Unknown, reason: screening.ReasonConflict},
		{name: "same instant, equal results are fine", patient: pt().lab(anc, 2.0, "10*9/L", daysAgo(1)).lab(anc, 2000, "/uL", daysAgo(1)), outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "same instant, different values with the same outcome are fine", patient: pt().lab(anc, 1.5, "10*9/L", daysAgo(1)).lab(anc, 2.5, "10*9/L", daysAgo(1)), outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "same instant, one unit error and one pass is conflict", patient: pt().lab(anc, 2.0, "10*9/L", daysAgo(1)).incObs(anc, incDisplayOnly(2.0, "10^9/L"), "final", daysAgo(1)), outcome: screening.Unknown, reason: screening.ReasonConflict},
	})
}

func TestPlatelets(t *testing.T) {
	const plt = "loinc|777-3"
	pt := func() *patient { return newPatient("female", "1962-02-02") }
	runCriterion(t, "platelets", []criterionCase{
		{name: "50 10*3/uL passes", patient: pt().lab(plt, 50, "10*3/uL", daysAgo(1)), outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "49.9 10*9/L fails", patient: pt().lab(plt, 49.9, "10*9/L", daysAgo(1)), outcome: screening.Fail, reason: screening.ReasonNotMet},
		{name: "50000 /uL passes", patient: pt().lab(plt, 50000, "/uL", daysAgo(1)), outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "49999 /mm3 fails", patient: pt().lab(plt, 49999, "/mm3", daysAgo(1)), outcome: screening.Fail, reason: screening.ReasonNotMet},
		{name: "plasma count 13056-7 counts", patient: pt().lab("loinc|13056-7", 120, "10*9/L", daysAgo(3)), outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "26515-7 counts", patient: pt().lab("loinc|26515-7", 20, "10*3/mm3", daysAgo(3)), outcome: screening.Fail, reason: screening.ReasonNotMet},
		{name: "unit only as display text is unknown/unit", patient: pt().incObs(plt, incDisplayOnly(150, "x10^9/L"), "final", daysAgo(1)), outcome: screening.Unknown, reason: screening.ReasonUnit},
		{name: "no result is unknown/no-data", patient: pt(), outcome: screening.Unknown, reason: screening.ReasonNoData},
		{name: "15 days old is unknown/stale", patient: pt().lab(plt, 150, "10*9/L", daysAgo(15)), outcome: screening.Unknown, reason: screening.ReasonStale},
		{name: "exactly 14 days old counts", patient: pt().lab(plt, 150, "10*9/L", daysAgo(14)), outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "preliminary only is unknown/not-final", patient: pt().incPrelim(plt, 150, "10*9/L", daysAgo(1)), outcome: screening.Unknown, reason: screening.ReasonNotFinal},
		{name: "conflict at the latest instant", patient: pt().lab(plt, 40, "10*9/L", daysAgo(2)).lab("loinc|26515-7", 60, "10*9/L", daysAgo(2)), outcome: screening.Unknown, reason: screening.ReasonConflict},
	})
}

func TestLymphocytes(t *testing.T) {
	const alc = "loinc|731-0"
	pt := func() *patient { return newPatient("male", "1970-07-07") }
	runCriterion(t, "lymphocytes", []criterionCase{
		{name: "0.1 10*9/L passes", patient: pt().lab(alc, 0.1, "10*9/L", daysAgo(1)), outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "0.09 10*9/L fails", patient: pt().lab(alc, 0.09, "10*9/L", daysAgo(1)), outcome: screening.Fail, reason: screening.ReasonNotMet},
		{name: "100 /uL passes", patient: pt().lab(alc, 100, "/uL", daysAgo(1)), outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "99 /mm3 fails", patient: pt().lab(alc, 99, "/mm3", daysAgo(1)), outcome: screening.Fail, reason: screening.ReasonNotMet},
		{name: "manual count 732-8 counts", patient: pt().lab("loinc|732-8", 1.2, "10*3/uL", daysAgo(1)), outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "no result is unknown/no-data", patient: pt(), outcome: screening.Unknown, reason: screening.ReasonNoData},
		{name: "15 days old is unknown/stale", patient: pt().lab(alc, 1.2, "10*9/L", daysAgo(15)), outcome: screening.Unknown, reason: screening.ReasonStale},
		{name: "non-UCUM unit system is unknown/unit", patient: pt().incObs(alc, incOtherSystem(1.2, "10*9/L"), "final", daysAgo(1)), outcome: screening.Unknown, reason: screening.ReasonUnit},
		{name: "preliminary only is unknown/not-final", patient: pt().incPrelim(alc, 1.2, "10*9/L", daysAgo(1)), outcome: screening.Unknown, reason: screening.ReasonNotFinal},
	})
}

func TestALT(t *testing.T) {
	const alt = "loinc|1742-6"
	pt := func() *patient { return newPatient("male", "1958-03-03") }
	runCriterion(t, "alt", []criterionCase{
		// Default ULN 40 U/L: limit 100.
		{name: "exactly 100 U/L with the default ULN passes", patient: pt().lab(alt, 100, "U/L", daysAgo(1)), outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "100.1 U/L with the default ULN fails", patient: pt().lab(alt, 100.1, "U/L", daysAgo(1)), outcome: screening.Fail, reason: screening.ReasonNotMet},
		// ULN from the result's own reference range.
		{name: "100 U/L with RefHigh 40 passes (2.5 x 40 = 100, bound included)", patient: pt().incLabRef(alt, 100, "U/L", qty(40, "U/L"), daysAgo(1)), outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "101 U/L with RefHigh 40 fails", patient: pt().incLabRef(alt, 101, "U/L", qty(40, "U/L"), daysAgo(1)), outcome: screening.Fail, reason: screening.ReasonNotMet},
		{name: "100 U/L with RefHigh 45 passes", patient: pt().incLabRef(alt, 100, "U/L", qty(45, "U/L"), daysAgo(1)), outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "110 U/L with RefHigh 45 passes (would fail on the default)", patient: pt().incLabRef(alt, 110, "U/L", qty(45, "U/L"), daysAgo(1)), outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "110 U/L without a reference range fails", patient: pt().lab(alt, 110, "U/L", daysAgo(1)), outcome: screening.Fail, reason: screening.ReasonNotMet},
		{name: "88 U/L with RefHigh 35 fails (would pass on the default)", patient: pt().incLabRef(alt, 88, "U/L", qty(35, "U/L"), daysAgo(1)), outcome: screening.Fail, reason: screening.ReasonNotMet},
		{name: "RefHigh in ukat/L is converted (0.75 ukat/L = 45 U/L)", patient: pt().incLabRef(alt, 110, "U/L", qty(0.75, "ukat/L"), daysAgo(1)), outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "RefHigh with a display-only unit is unknown/unit", patient: pt().incLabRef(alt, 50, "U/L", incDisplayOnly(45, "U/L"), daysAgo(1)), outcome: screening.Unknown, reason: screening.ReasonUnit},
		// Alternative units and codes.
		{name: "100 [IU]/L passes", patient: pt().lab(alt, 100, "[IU]/L", daysAgo(1)), outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "101 [IU]/L fails", patient: pt().lab(alt, 101, "[IU]/L", daysAgo(1)), outcome: screening.Fail, reason: screening.ReasonNotMet},
		{name: "1.5 ukat/L (90 U/L) passes", patient: pt().lab(alt, 1.5, "ukat/L", daysAgo(1)), outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "1.7 ukat/L (102 U/L) fails", patient: pt().lab(alt, 1.7, "ukat/L", daysAgo(1)), outcome: screening.Fail, reason: screening.ReasonNotMet},
		{name: "alternative code 1744-2 counts", patient: pt().lab("loinc|1744-2", 30, "U/L", daysAgo(1)), outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "alternative code 77144-4 counts", patient: pt().lab("loinc|77144-4", 300, "U/L", daysAgo(1)), outcome: screening.Fail, reason: screening.ReasonNotMet},
		{name: "unit only as display text is unknown/unit", patient: pt().incObs(alt, incDisplayOnly(30, "U/L"), "final", daysAgo(1)), outcome: screening.Unknown, reason: screening.ReasonUnit},
		{name: "non-UCUM unit system is unknown/unit", patient: pt().incObs(alt, incOtherSystem(30, "U/L"), "final", daysAgo(1)), outcome: screening.Unknown, reason: screening.ReasonUnit},
		// Missing, stale, status, conflict.
		{name: "no result is unknown/no-data", patient: pt(), outcome: screening.Unknown, reason: screening.ReasonNoData},
		{name: "15 days old is unknown/stale", patient: pt().lab(alt, 30, "U/L", daysAgo(15)), outcome: screening.Unknown, reason: screening.ReasonStale},
		{name: "exactly 14 days old counts", patient: pt().lab(alt, 30, "U/L", daysAgo(14)), outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "preliminary only is unknown/not-final", patient: pt().incPrelim(alt, 30, "U/L", daysAgo(1)), outcome: screening.Unknown, reason: screening.ReasonNotFinal},
		{name: "same instant, pass and fail is unknown/conflict", patient: pt().lab(alt, 30, "U/L", daysAgo(1)).lab(alt, 300, "U/L", daysAgo(1)), outcome: screening.Unknown, reason: screening.ReasonConflict},
		{name: "same instant, equal in different units is fine", patient: pt().lab(alt, 60, "U/L", daysAgo(1)).lab(alt, 1, "ukat/L", daysAgo(1)), outcome: screening.Pass, reason: screening.ReasonMet},
	})
}

func TestAST(t *testing.T) {
	const ast = "loinc|1920-8"
	pt := func() *patient { return newPatient("female", "1958-03-03") }
	runCriterion(t, "ast", []criterionCase{
		{name: "exactly 100 U/L with the default ULN passes", patient: pt().lab(ast, 100, "U/L", daysAgo(1)), outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "101 U/L with the default ULN fails", patient: pt().lab(ast, 101, "U/L", daysAgo(1)), outcome: screening.Fail, reason: screening.ReasonNotMet},
		{name: "76 U/L with RefHigh 30 fails (limit 75)", patient: pt().incLabRef(ast, 76, "U/L", qty(30, "U/L"), daysAgo(1)), outcome: screening.Fail, reason: screening.ReasonNotMet},
		{name: "75 U/L with RefHigh 30 passes", patient: pt().incLabRef(ast, 75, "U/L", qty(30, "U/L"), daysAgo(1)), outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "120 [IU]/L with RefHigh 50 [IU]/L passes", patient: pt().incLabRef(ast, 120, "[IU]/L", qty(50, "[IU]/L"), daysAgo(1)), outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "AST with P-5'-P 30239-8 counts", patient: pt().lab("loinc|30239-8", 2, "ukat/L", daysAgo(1)), outcome: screening.Fail, reason: screening.ReasonNotMet},
		{name: "unit only as display text is unknown/unit", patient: pt().incObs(ast, incDisplayOnly(30, "IU/L"), "final", daysAgo(1)), outcome: screening.Unknown, reason: screening.ReasonUnit},
		{name: "no result is unknown/no-data", patient: pt(), outcome: screening.Unknown, reason: screening.ReasonNoData},
		{name: "15 days old is unknown/stale", patient: pt().lab(ast, 30, "U/L", daysAgo(15)), outcome: screening.Unknown, reason: screening.ReasonStale},
		{name: "preliminary only is unknown/not-final", patient: pt().incPrelim(ast, 30, "U/L", daysAgo(1)), outcome: screening.Unknown, reason: screening.ReasonNotFinal},
		{name: "same instant, pass and fail is unknown/conflict", patient: pt().lab(ast, 30, "U/L", daysAgo(1)).lab("loinc|88112-8", 300, "U/L", daysAgo(1)), outcome: screening.Unknown, reason: screening.ReasonConflict},
	})
}

func TestBilirubin(t *testing.T) {
	const bili = "loinc|1975-2"
	pt := func() *patient { return newPatient("male", "1961-09-09") }
	runCriterion(t, "bilirubin", []criterionCase{
		// Default ULN 1.2 mg/dL: limit 1.8 mg/dL = 30.78 umol/L.
		{name: "exactly 1.8 mg/dL with the default ULN passes", patient: pt().lab(bili, 1.8, "mg/dL", daysAgo(1)), outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "1.81 mg/dL with the default ULN fails", patient: pt().lab(bili, 1.81, "mg/dL", daysAgo(1)), outcome: screening.Fail, reason: screening.ReasonNotMet},
		{name: "30 umol/L (1.75 mg/dL) passes", patient: pt().lab(bili, 30, "umol/L", daysAgo(1)), outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "30.78 umol/L (exactly 1.8 mg/dL) passes", patient: pt().lab(bili, 30.78, "umol/L", daysAgo(1)), outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "31 umol/L (1.81 mg/dL) fails", patient: pt().lab(bili, 31, "umol/L", daysAgo(1)), outcome: screening.Fail, reason: screening.ReasonNotMet},
		{name: "moles code 14631-6 in umol/L counts", patient: pt().lab("loinc|14631-6", 12, "umol/L", daysAgo(1)), outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "blood code 42719-5 counts", patient: pt().lab("loinc|42719-5", 3.0, "mg/dL", daysAgo(1)), outcome: screening.Fail, reason: screening.ReasonNotMet},
		// ULN from the reference range.
		{name: "1.6 mg/dL with RefHigh 1.0 mg/dL fails (limit 1.5; would pass on the default)", patient: pt().incLabRef(bili, 1.6, "mg/dL", qty(1.0, "mg/dL"), daysAgo(1)), outcome: screening.Fail, reason: screening.ReasonNotMet},
		{name: "1.83 mg/dL with RefHigh 21 umol/L passes (limit 1.842; would fail on the default)", patient: pt().incLabRef(bili, 1.83, "mg/dL", qty(21, "umol/L"), daysAgo(1)), outcome: screening.Pass, reason: screening.ReasonMet},
		// Units.
		{name: "unit only as display text is unknown/unit", patient: pt().incObs(bili, incDisplayOnly(1.0, "mg/dL"), "final", daysAgo(1)), outcome: screening.Unknown, reason: screening.ReasonUnit},
		{name: "UCUM unit not accepted for bilirubin (mg/L) is unknown/unit", patient: pt().lab(bili, 10, "mg/L", daysAgo(1)), outcome: screening.Unknown, reason: screening.ReasonUnit},
		{name: "non-UCUM unit system is unknown/unit", patient: pt().incObs(bili, incOtherSystem(1.0, "mg/dL"), "final", daysAgo(1)), outcome: screening.Unknown, reason: screening.ReasonUnit},
		// Missing, stale, status.
		{name: "no result is unknown/no-data", patient: pt(), outcome: screening.Unknown, reason: screening.ReasonNoData},
		{name: "15 days old is unknown/stale", patient: pt().lab(bili, 1.0, "mg/dL", daysAgo(15)), outcome: screening.Unknown, reason: screening.ReasonStale},
		{name: "preliminary only is unknown/not-final", patient: pt().incPrelim(bili, 1.0, "mg/dL", daysAgo(1)), outcome: screening.Unknown, reason: screening.ReasonNotFinal},
		{name: "same instant, mg/dL and umol/L disagreeing is unknown/conflict", patient: pt().lab(bili, 1.0, "mg/dL", daysAgo(1)).lab(bili, 40, "umol/L", daysAgo(1)), outcome: screening.Unknown, reason: screening.ReasonConflict},
	})
}

// The evidence of an x ULN comparison names the ULN and whether it was defaulted, and
// keeps the original value and unit next to the converted one.
func TestULNEvidence(t *testing.T) {
	p := loadProtocol(t)

	r := screen(t, p, newPatient("male", "1960-01-01").lab("loinc|1742-6", 50, "U/L", daysAgo(1)).rec, "alt")
	uln := incEvidenceRole(t, r, "uln")
	if !incNear(uln.Value, 40, 1e-9) || !strings.Contains(uln.Note, "default") {
		t.Errorf("alt without reference range: uln evidence %+v, want default 40", uln)
	}

	r = screen(t, p, newPatient("male", "1960-01-01").incLabRef("loinc|1742-6", 50, "U/L", qty(45, "U/L"), daysAgo(1)).rec, "alt")
	uln = incEvidenceRole(t, r, "uln")
	if !incNear(uln.Value, 45, 1e-9) || strings.Contains(uln.Note, "default") {
		t.Errorf("alt with reference range 45: uln evidence %+v, want 45 from the reference range", uln)
	}

	r = screen(t, p, newPatient("male", "1960-01-01").lab("loinc|1975-2", 34.2, "umol/L", daysAgo(1)).rec, "bilirubin")
	if r.Outcome != screening.Fail || len(r.Evidence) == 0 {
		t.Fatalf("bilirubin 34.2 umol/L: got %s (%s), want fail", r.Outcome, r.Summary)
	}
	e := r.Evidence[0]
	if !incNear(e.OriginalValue, 34.2, 1e-9) || e.OriginalUnit != "umol/L" || !incNear(e.Value, 2.0, 1e-9) || e.Unit != "mg/dL" || e.Resource == "" || e.Date == "" {
		t.Errorf("bilirubin evidence %+v, want 34.2 umol/L = 2 mg/dL with resource and date", e)
	}
}
