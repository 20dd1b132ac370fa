package api

import (
	"math"
	"strconv"
	"strings"
)

// clinicalNumber writes a value as a clinician does: whole numbers from 10 up (platelets
// 152, CrCl 74), two significant digits below (ANC 1.8, creatinine 0.92), never trailing
// zeros. The verdict document keeps full precision; this is only how the page shows it.
// A derived value (CrCl 74.3675...) carries no more precision than its inputs.
func clinicalNumber(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	decimals := 0
	if a := math.Abs(v); a != 0 && a < 10 {
		decimals = 1 - int(math.Floor(math.Log10(a)))
	}
	p := math.Pow(10, float64(decimals))
	s := strconv.FormatFloat(math.Round(v*p)/p, 'f', decimals, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	if s == "-0" {
		s = "0"
	}
	return s
}

// quantity is a number with its unit, both as people read them ("1.8 ×10⁹/L", "82%",
// "58 years", a score with no unit).
func quantity(v float64, unit string) string {
	return withUnit(clinicalNumber(v), unit)
}
