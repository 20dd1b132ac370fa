package terminology_test

import (
	"slices"
	"testing"

	"github.com/trialscreen/trialscreen/terminology"
)

func TestNDCForms(t *testing.T) {
	for _, tc := range []struct {
		name string
		code string
		want []string
	}{
		{"5-4-2 hyphenated", "50242-0040-62", []string{"50242004062"}},
		{"4-4-2 pads the labeler", "0078-0412-01", []string{"00078041201"}},
		{"5-3-2 pads the product", "63020-049-01", []string{"63020004901"}},
		{"5-4-1 pads the package", "50242-0040-6", []string{"50242004006"}},
		{"surrounding spaces are trimmed", " 0078-0412-01\t", []string{"00078041201"}},
		{"11 digits as they are", "00078041201", []string{"00078041201"}},
		{"unhyphenated 10 digits: all three readings", "0078041201", []string{
			"00078041201", // 4-4-2
			"00780041201", // 5-3-2
			"00780412001", // 5-4-1
		}},
		{"unhyphenated 10 digits whose 5-3-2 and 5-4-1 readings coincide give it once", "5024200006", []string{
			"05024200006", // 4-4-2
			"50242000006", // 5-3-2 and 5-4-1
		}},
		{"4-3-2 is no NDC form", "0078-041-01", nil},
		{"4-4-1 is no NDC form", "0078-0412-1", nil},
		{"6-4-2 is no NDC form", "000780-0412-01", nil},
		{"two segments", "00078-041201", nil},
		{"four segments", "0078-0412-01-1", nil},
		{"an empty segment", "0078--01", nil},
		{"letters in a segment", "0078-04A2-01", nil},
		{"9 digits", "007804120", nil},
		{"12 digits", "000780412010", nil},
		{"letters", "ABCDEFGHIJ", nil},
		{"a sign", "+078041201", nil},
		{"empty", "", nil},
		{"only hyphens", "--", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := terminology.NDCForms(tc.code)
			if !slices.Equal(got, tc.want) {
				t.Errorf("NDCForms(%q) = %q, want %q", tc.code, got, tc.want)
			}
		})
	}
}
