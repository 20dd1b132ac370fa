package screening_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/trialscreen/trialscreen/screening"
)

// TestThresholdReported: each result carries its criterion's limit as the protocol file
// sets it (a plain limit, a multiple of ULN, the CrCl formula's), whatever the outcome,
// and criteria without a numeric limit carry none.
func TestThresholdReported(t *testing.T) {
	p := loadProtocol(t)
	rec := newPatient("female", "1970-01-01").rec // no results: every lab is unknown
	tests := []struct {
		id   string
		want *screening.Threshold
	}{
		{"platelets", &screening.Threshold{Label: "Platelets", Comparator: ">=", Value: 50, Unit: "10*9/L", WindowDays: 14}},
		{"alt", &screening.Threshold{Label: "ALT", Comparator: "<=", Unit: "U/L", ULNMultiple: 2.5, ULNDefault: 40, WindowDays: 14}},
		{"creatinine-clearance", &screening.Threshold{Label: "CrCl", Comparator: ">=", Value: 60, Unit: "mL/min", WindowDays: 14}},
		{"ecog", &screening.Threshold{Label: "ECOG", Comparator: "<=", Value: 1, Unit: "{score}", WindowDays: 14}},
		{"other-malignancy", nil},
		{"informed-consent", nil},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			got := screen(t, p, rec, tt.id).Threshold
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("threshold (-want +got):\n%s", d)
			}
		})
	}
}
