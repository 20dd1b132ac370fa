package screening_test

import (
	"testing"

	"github.com/trialscreen/trialscreen/screening"
)

const (
	snomedFemale = "248152002"
	snomedMale   = "248153007"
)

// sexRange is a reference range high for one sex (SNOMED CT, as FHIR's example set).
func sexRange(high float64, unit, sexCode string) screening.RefRange {
	return screening.RefRange{High: *qty(high, unit), AppliesTo: [][]screening.Coding{{{System: screening.SystemSNOMED, Code: sexCode}}}}
}

// labRanges adds a final ALT-like result with the given reference ranges.
func (p *patient) labRanges(c string, v float64, ucum string, when screening.When, ranges ...screening.RefRange) *patient {
	return p.obs(screening.Observation{Status: "final", Code: codes(c), Effective: when, Value: qty(v, ucum), RefRanges: ranges})
}

// TestULNFromTheRangeThatApplies: the ULN is the high of the reference range for this
// patient's population (appliesTo, age), not merely the first range. When which one
// applies cannot be told, the criterion is decided only if every candidate agrees.
func TestULNFromTheRangeThatApplies(t *testing.T) {
	const alt = "loinc|1742-6"
	female, male := func() *patient { return newPatient("female", "1958-03-03") }, func() *patient { return newPatient("male", "1958-03-03") }
	unknownSex := func() *patient { return newPatient("unknown", "1958-03-03") }
	byS := []screening.RefRange{sexRange(60, "U/L", snomedMale), sexRange(35, "U/L", snomedFemale)} // limits 150 / 87.5
	age := func(lo, hi float64, unit string, high float64) screening.RefRange {
		r := screening.RefRange{High: *qty(high, "U/L")}
		if lo >= 0 {
			r.AgeLow = qty(lo, unit)
		}
		if hi >= 0 {
			r.AgeHigh = qty(hi, unit)
		}
		return r
	}
	notNormal := screening.RefRange{High: *qty(200, "U/L"), Type: []screening.Coding{{System: "http://terminology.hl7.org/CodeSystem/referencerange-meaning", Code: "treatment"}}}
	runCriterion(t, "alt", []criterionCase{
		{name: "female: her range (35) fails 100, though the male one (60) is first", patient: female().labRanges(alt, 100, "U/L", daysAgo(1), byS...),
			outcome: screening.Fail, reason: screening.ReasonNotMet},
		{name: "male: his range (60) passes 100", patient: male().labRanges(alt, 100, "U/L", daysAgo(1), byS...),
			outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "sex unknown, ranges disagree on 100: unknown/conflict", patient: unknownSex().labRanges(alt, 100, "U/L", daysAgo(1), byS...),
			outcome: screening.Unknown, reason: screening.ReasonConflict},
		{name: "sex unknown, both ranges pass 50", patient: unknownSex().labRanges(alt, 50, "U/L", daysAgo(1), byS...),
			outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "sex unknown, both ranges fail 200", patient: unknownSex().labRanges(alt, 200, "U/L", daysAgo(1), byS...),
			outcome: screening.Fail, reason: screening.ReasonNotMet},
		{name: "a sex-specific range beats a general one", patient: female().labRanges(alt, 100, "U/L", daysAgo(1), screening.RefRange{High: *qty(60, "U/L")}, sexRange(35, "U/L", snomedFemale)),
			outcome: screening.Fail, reason: screening.ReasonNotMet},
		{name: "only another sex's range: the default ULN (40, limit 100)", patient: female().labRanges(alt, 100, "U/L", daysAgo(1), sexRange(60, "U/L", snomedMale)),
			outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "a population code that cannot be read may apply: it and the general range disagree", patient: male().labRanges(alt, 100, "U/L", daysAgo(1),
			screening.RefRange{High: *qty(60, "U/L")}, screening.RefRange{High: *qty(30, "U/L"), AppliesTo: [][]screening.Coding{{{System: screening.SystemSNOMED, Code: "77386006"}}}}),
			outcome: screening.Unknown, reason: screening.ReasonConflict},
		{name: "a text-only appliesTo may apply", patient: male().labRanges(alt, 100, "U/L", daysAgo(1),
			screening.RefRange{High: *qty(60, "U/L")}, screening.RefRange{High: *qty(30, "U/L"), AppliesTo: [][]screening.Coding{nil}}),
			outcome: screening.Unknown, reason: screening.ReasonConflict},
		// Born 1958-03-03: 68 at the result.
		{name: "the age band that holds her (65-120 a: 30) is used", patient: female().labRanges(alt, 100, "U/L", daysAgo(1), age(18, 64, "a", 60), age(65, 120, "a", 30)),
			outcome: screening.Fail, reason: screening.ReasonNotMet},
		{name: "an age band that ends at her age in completed years holds her", patient: female().labRanges(alt, 100, "U/L", daysAgo(1), age(18, 68, "a", 60)),
			outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "an age band in months is read as years", patient: female().labRanges(alt, 100, "U/L", daysAgo(1), age(0, 216, "mo", 60), age(216, -1, "mo", 30)),
			outcome: screening.Fail, reason: screening.ReasonNotMet},
		{name: "an age band in an unknown unit may apply", patient: female().labRanges(alt, 100, "U/L", daysAgo(1), age(18, 64, "a", 60), age(65, 120, "yr", 30)),
			outcome: screening.Unknown, reason: screening.ReasonConflict},
		{name: "a treatment range is not a ULN: the default applies", patient: male().labRanges(alt, 101, "U/L", daysAgo(1), notNormal),
			outcome: screening.Fail, reason: screening.ReasonNotMet},
	})
}

// TestValueBounds: a result given only as a bound ("<0.5") decides a criterion when every
// value it allows lies on one side of the limit, and is unknown (inconclusive) when not.
func TestValueBounds(t *testing.T) {
	const anc = "loinc|751-8"
	pt := func() *patient { return newPatient("male", "1958-03-03") }
	b := func(cmp string, v float64, unit string) *patient {
		return pt().obs(screening.Observation{Status: "final", Code: codes(anc), Effective: daysAgo(1),
			ValueText: cmp + "x", ValueBound: &screening.Bound{Comparator: cmp, Limit: *qty(v, unit)}})
	}
	runCriterion(t, "neutrophils", []criterionCase{ // ANC >= 1 x10^9/L
		{name: "< 0.5 fails", patient: b("<", 0.5, "10*9/L"), outcome: screening.Fail, reason: screening.ReasonNotMet},
		{name: "< 1 fails (every value below the limit)", patient: b("<", 1, "10*9/L"), outcome: screening.Fail, reason: screening.ReasonNotMet},
		{name: "<= 1 is inconclusive (1 itself passes)", patient: b("<=", 1, "10*9/L"), outcome: screening.Unknown, reason: screening.ReasonInconclusive},
		{name: "< 2 is inconclusive", patient: b("<", 2, "10*9/L"), outcome: screening.Unknown, reason: screening.ReasonInconclusive},
		{name: "> 5 passes", patient: b(">", 5, "10*9/L"), outcome: screening.Pass, reason: screening.ReasonMet},
		{name: ">= 1 passes", patient: b(">=", 1, "10*9/L"), outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "> 0.5 is inconclusive", patient: b(">", 0.5, "10*9/L"), outcome: screening.Unknown, reason: screening.ReasonInconclusive},
		{name: "a bound in /uL is converted (< 500 /uL fails)", patient: b("<", 500, "/uL"), outcome: screening.Fail, reason: screening.ReasonNotMet},
		{name: "a bound with a display-only unit is unknown/unit", patient: pt().obs(screening.Observation{Status: "final", Code: codes(anc), Effective: daysAgo(1),
			ValueBound: &screening.Bound{Comparator: "<", Limit: screening.Quantity{Value: 0.5, Unit: "x10^9/L"}}}), outcome: screening.Unknown, reason: screening.ReasonUnit},
		{name: "'ad' (sufficient to achieve) cannot be placed", patient: b("ad", 5, "10*9/L"), outcome: screening.Unknown, reason: screening.ReasonInconclusive},
	})
	const alt = "loinc|1742-6"
	runCriterion(t, "alt", []criterionCase{ // <= 2.5 x ULN (default 40: 100)
		{name: "ALT < 10 passes", patient: pt().obs(screening.Observation{Status: "final", Code: codes(alt), Effective: daysAgo(1),
			ValueBound: &screening.Bound{Comparator: "<", Limit: *qty(10, "U/L")}}), outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "ALT > 100 fails", patient: pt().obs(screening.Observation{Status: "final", Code: codes(alt), Effective: daysAgo(1),
			ValueBound: &screening.Bound{Comparator: ">", Limit: *qty(100, "U/L")}}), outcome: screening.Fail, reason: screening.ReasonNotMet},
		{name: "ALT >= 100 is inconclusive (100 passes)", patient: pt().obs(screening.Observation{Status: "final", Code: codes(alt), Effective: daysAgo(1),
			ValueBound: &screening.Bound{Comparator: ">=", Limit: *qty(100, "U/L")}}), outcome: screening.Unknown, reason: screening.ReasonInconclusive},
	})
}
