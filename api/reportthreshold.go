package api

import (
	"strings"

	"github.com/trialscreen/trialscreen/screening"
)

// comparatorText is each protocol comparator as a clinician writes it.
var comparatorText = map[string]string{">=": "≥", "<=": "≤", ">": ">", "<": "<"}

// thresholdWords words a criterion's limit from its protocol parameters ("ANC ≥ 1 ×10⁹/L;
// latest result within 14 days", "ALT ≤ 2.5 × ULN; ULN 40 U/L from the lab's range"),
// where the ULN's source is the one the evidence says was used. Empty when the criterion
// has no numeric limit.
func thresholdWords(r screening.Result) string {
	t := r.Threshold
	if t == nil {
		return ""
	}
	op := comparatorText[t.Comparator]
	if op == "" {
		op = t.Comparator
	}
	var b strings.Builder
	b.WriteString(t.Label + " " + op + " ")
	if t.ULNMultiple > 0 {
		b.WriteString(clinicalNumber(t.ULNMultiple) + " × ULN; " + ulnWords(r, t))
	} else {
		b.WriteString(quantity(t.Value, t.Unit))
	}
	if t.WindowDays > 0 {
		what := "latest result"
		if r.ID == "creatinine-clearance" || t.Label == "CrCl" {
			what = "creatinine"
		}
		b.WriteString("; " + what + " within " + plural(t.WindowDays, "day", "days"))
	}
	return b.String()
}

// ulnWords says which upper limit of normal the result was judged against: the lab's own
// (from the result's reference range) or the protocol's default, as the evidence tells.
func ulnWords(r screening.Result, t *screening.Threshold) string {
	for _, e := range r.Evidence {
		if e.Role != "uln" || e.Value == nil {
			continue
		}
		v := quantity(*e.Value, e.Unit)
		if strings.HasPrefix(e.Note, "ULN defaulted") {
			return "ULN " + v + " (default ULN: no usable range on the result)"
		}
		return "ULN " + v + " from the lab's range"
	}
	return "ULN from the lab's range, else the default " + quantity(t.ULNDefault, t.Unit)
}
