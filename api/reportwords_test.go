package api

import (
	"strings"
	"testing"

	"github.com/trialscreen/trialscreen/screening"
)

func TestClinicalNumber(t *testing.T) {
	tests := []struct {
		v    float64
		want string
	}{
		{152, "152"},
		{152.4, "152"},
		{74.3675925926, "74"},
		{39.5, "40"},
		{1.83, "1.8"},
		{1.8, "1.8"},
		{0.92, "0.92"},
		{0.915, "0.92"},
		{0.1, "0.1"},
		{0.05, "0.05"},
		{1.5, "1.5"},
		{2.5, "2.5"},
		{9.96, "10"},
		{0, "0"},
		{0.0012, "0.0012"},
		{-0.00001, "-0.00001"},
		{-1.25, "-1.3"},
		{132.6, "133"},
	}
	for _, tt := range tests {
		if got := clinicalNumber(tt.v); got != tt.want {
			t.Errorf("clinicalNumber(%v) = %q, want %q", tt.v, got, tt.want)
		}
	}
}

func TestUnitWords(t *testing.T) {
	tests := []struct {
		v          float64
		unit, want string
	}{
		{1, "{score}", "1"},
		{58, "a", "58 years"},
		{1.8, "10*9/L", "1.8 ×10⁹/L"},
		{132.6, "umol/L", "133 µmol/L"},
		{82, "%", "82%"},
		{40, "U/L", "40 U/L"},
		{12, "[IU]/L", "12 IU/L"},
		{600, "/uL", "600 /µL"},
		{3, "", "3"},
		{7, "mg/dL (display text only)", "7 mg/dL (display text only)"},
	}
	for _, tt := range tests {
		if got := quantity(tt.v, tt.unit); got != tt.want {
			t.Errorf("quantity(%v, %q) = %q, want %q", tt.v, tt.unit, got, tt.want)
		}
	}
}

// TestReadable: the engine's tokens (instants, UCUM codes after a number, comparators,
// long decimals) are rewritten; codes, versions and words are not.
func TestReadable(t *testing.T) {
	tests := []struct{ in, want string }{
		{"ANC 0.6 10*9/L on 2026-11-16T08:00:00Z does not meet >= 1", "ANC 0.6 ×10⁹/L on 2026-11-16 08:00 UTC does not meet ≥ 1"},
		{"ECOG 1 {score} on 2026-11-17T10:00:00Z meets <= 1", "ECOG 1 on 2026-11-17 10:00 UTC meets ≤ 1"},
		{"CrCl 39.3676 mL/min does not meet >= 60", "CrCl 39 mL/min does not meet ≥ 60"},
		{"ALT 30 U/L meets <= 100 (2.5 x ULN 40 = 100)", "ALT 30 U/L meets ≤ 100 (2.5 × ULN 40 = 100)"},
		{"age 58 a at the creatinine's date", "age 58 years at the creatinine's date"},
		{"ICD-10-CM C90.02 onset 2022-03-14", "ICD-10-CM C90.02 onset 2022-03-14"},
		{"drug table 2026-12-06.1, version 1.0.0", "drug table 2026-12-06.1, version 1.0.0"},
		{"a negative test within 7 days", "a negative test within 7 days"},
		{"LVEF 60 % on 2026-11-17T10:00:00Z", "LVEF 60% on 2026-11-17 10:00 UTC"},
		{"(140 - 58) x 61 kg / (72 x 1.5 mg/dL) x 0.85", "(140 - 58) × 61 kg / (72 × 1.5 mg/dL) × 0.85"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := readable(tt.in); got != tt.want {
			t.Errorf("readable(%q)\n = %q\nwant %q", tt.in, got, tt.want)
		}
	}
}

func TestThresholdWords(t *testing.T) {
	v40, v52 := 40.0, 52.0
	alt := &screening.Threshold{Label: "ALT", Comparator: "<=", Unit: "U/L", ULNMultiple: 2.5, ULNDefault: 40, WindowDays: 14}
	tests := []struct {
		name string
		r    screening.Result
		want string
	}{
		{"plain limit", screening.Result{Threshold: &screening.Threshold{Label: "ANC", Comparator: ">=", Value: 1, Unit: "10*9/L", WindowDays: 14}},
			"ANC ≥ 1 ×10⁹/L; latest result within 14 days"},
		{"ULN from the lab", screening.Result{Threshold: alt, Evidence: []screening.Evidence{{Role: "uln", Value: &v52, Unit: "U/L", Note: "ULN from the result's reference range"}}},
			"ALT ≤ 2.5 × ULN; ULN 52 U/L from the lab's range; latest result within 14 days"},
		{"default ULN", screening.Result{Threshold: alt, Evidence: []screening.Evidence{{Role: "uln", Value: &v40, Unit: "U/L", Note: "ULN defaulted: the result has no reference range high"}}},
			"ALT ≤ 2.5 × ULN; ULN 40 U/L (default ULN: no usable range on the result); latest result within 14 days"},
		{"no result yet", screening.Result{Threshold: alt},
			"ALT ≤ 2.5 × ULN; ULN from the lab's range, else the default 40 U/L; latest result within 14 days"},
		{"creatinine clearance", screening.Result{ID: "creatinine-clearance", Threshold: &screening.Threshold{Label: "CrCl", Comparator: ">=", Value: 60, Unit: "mL/min", WindowDays: 14}},
			"CrCl ≥ 60 mL/min; creatinine within 14 days"},
		{"a score, one day", screening.Result{Threshold: &screening.Threshold{Label: "ECOG", Comparator: "<=", Value: 1, Unit: "{score}", WindowDays: 1}},
			"ECOG ≤ 1; latest result within 1 day"},
		{"no threshold", screening.Result{Rule: "Condition in malignancy -> fail"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := thresholdWords(tt.r); got != tt.want {
				t.Errorf("thresholdWords = %q\nwant %q", got, tt.want)
			}
		})
	}
}

// TestReviewDecisionsBlock: each review item has the empty block "review-decisions",
// which a page recording decisions fills in by defining it (the item is its data).
func TestReviewDecisionsBlock(t *testing.T) {
	tmpl := newReportTemplate()
	if _, err := tmpl.Parse(`{{define "review-decisions"}}<span class="decided">{{.Criterion}}</span>{{end}}`); err != nil {
		t.Fatal(err)
	}
	result := &screening.Screening{
		Verdict:     screening.PotentiallyEligible,
		ReviewItems: []screening.Item{{Criterion: "ecg", What: "confirm the ECG"}, {Criterion: "compliance", What: "expected to comply"}},
	}
	var plain, filled strings.Builder
	if err := reportTemplate.Execute(&plain, buildReport(result, nil)); err != nil {
		t.Fatal(err)
	}
	if err := tmpl.Execute(&filled, buildReport(result, nil)); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(plain.String(), `class="decided"`) {
		t.Errorf("the report shows decisions without a page defining them")
	}
	for _, w := range []string{`<span class="decided">ecg</span></li>`, `<span class="decided">compliance</span></li>`} {
		if !strings.Contains(filled.String(), w) {
			t.Errorf("the filled block does not end its review item: no %q", w)
		}
	}
}
