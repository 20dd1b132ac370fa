package screening

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"
)

// The ULN of a result is its own reference range's high (the contract). A result may
// carry several ranges, each for a population (appliesTo: sex, pregnancy...; age): the
// one for this patient is used. When which one applies cannot be told (a sex that is not
// male or female, a population code this engine cannot read, a birth date too imprecise
// for an age band), every range that may apply is tried, and the criterion is decided
// only when they all lead to the same outcome; otherwise it is unknown (conflict).

// uln is one upper limit of normal to judge a result against.
type uln struct {
	value float64 // in the criterion's unit
	note  string
}

type applies byte

const (
	appliesYes applies = iota
	appliesMaybe
	appliesNo
)

// sexCodes are the codes an appliesTo uses for a sex (the FHIR example value set is
// SNOMED CT; administrative-gender and v3 codes are also met in the wild).
var sexCodes = map[Coding]string{
	{System: "http://snomed.info/sct", Code: "248153007"}:                                "male",
	{System: "http://snomed.info/sct", Code: "248152002"}:                                "female",
	{System: "http://hl7.org/fhir/administrative-gender", Code: "male"}:                  "male",
	{System: "http://hl7.org/fhir/administrative-gender", Code: "female"}:                "female",
	{System: "http://terminology.hl7.org/CodeSystem/v3-AdministrativeGender", Code: "M"}: "male",
	{System: "http://terminology.hl7.org/CodeSystem/v3-AdministrativeGender", Code: "F"}: "female",
}

// ulns gives the ULNs to judge o against for this patient: the default (one) when the
// result has no reference range high that may apply, else those of the ranges that may.
func (m *measurement) ulns(ec *evalCtx, o *Observation) ([]uln, error) {
	var ranges []*RefRange
	for i := range o.RefRanges {
		if r := &o.RefRanges[i]; isNormalRange(r) {
			ranges = append(ranges, r)
		}
	}
	def := []uln{{value: m.p.ULN.Default, note: "ULN defaulted: the result has no reference range high"}}
	if len(ranges) == 0 {
		if len(o.RefRangeText) > 0 {
			// The lab gave its range, as text: its ULN is not the default's to replace.
			return nil, errRangeText{o.RefRangeText[0]}
		}
		return def, nil
	}
	var specific, maybe, general []*RefRange
	for _, r := range ranges {
		switch a := rangeApplies(ec, o, r); {
		case a == appliesNo:
		case a == appliesMaybe:
			maybe = append(maybe, r)
		case len(r.AppliesTo) == 0 && r.AgeLow == nil && r.AgeHigh == nil:
			general = append(general, r)
		default:
			specific = append(specific, r)
		}
	}
	// A range for this patient's population is more precise than one for everyone.
	chosen := slices.Concat(specific, maybe)
	if len(specific) == 0 {
		chosen = slices.Concat(general, maybe)
	}
	var out []uln
	if len(specific) == 0 && len(general) == 0 {
		// None surely applies: perhaps none does, and then the default is the ULN.
		def[0].note = "ULN defaulted: none of the result's reference ranges surely applies to this patient"
		if len(maybe) == 0 {
			return def, nil
		}
		out = def
	}
	for _, r := range chosen {
		v, err := m.units.convert(&r.High)
		if err != nil {
			return nil, fmt.Errorf("reference range high: %w", err)
		}
		if slices.ContainsFunc(out, func(u uln) bool { return u.value == v }) {
			continue
		}
		note := "ULN from the result's reference range"
		if who := rangeLabel(r); who != "" {
			note += " for " + who
		}
		out = append(out, uln{value: v, note: note})
	}
	slices.SortFunc(out, func(a, b uln) int { return cmp.Compare(a.value, b.value) })
	if len(out) > 1 {
		for i := range out {
			out[i].note += "; which of the result's ranges applies to this patient cannot be told"
		}
	}
	return out, nil
}

// isNormalRange: a range without a type is the normal range; one typed otherwise
// (recommended, treatment, therapeutic) is not a ULN. One typed in text only may be
// either: it is kept, and rangeApplies says it only may apply.
func isNormalRange(r *RefRange) bool {
	if len(r.Type) == 0 {
		return true
	}
	return slices.ContainsFunc(r.Type, func(c Coding) bool { return c.Code == "normal" })
}

// rangeApplies tells whether a range's population holds this patient at the result.
func rangeApplies(ec *evalCtx, o *Observation, r *RefRange) applies {
	res := appliesYes
	worse := func(a applies) {
		res = max(res, a)
	}
	if r.TypeText && len(r.Type) == 0 {
		worse(appliesMaybe) // its type, in text, may say it is not the normal range
	}
	for _, concept := range r.AppliesTo {
		worse(conceptApplies(ec.rec.Patient, concept))
	}
	if r.AgeLow != nil || r.AgeHigh != nil {
		worse(ageApplies(ec, o, r))
	}
	return res
}

// conceptApplies reads one appliesTo: a sex it names is checked against the patient's;
// anything else (pregnancy, race, a local code, text only) cannot be.
func conceptApplies(p *Patient, concept []Coding) applies {
	for _, c := range concept {
		sex, ok := sexCodes[Coding{System: c.System, Code: c.Code}]
		if !ok {
			continue
		}
		if p == nil || (p.Gender != "male" && p.Gender != "female") {
			return appliesMaybe
		}
		if p.Gender == sex {
			return appliesYes
		}
		return appliesNo
	}
	return appliesMaybe
}

// ageApplies checks an age band at the result's date. Bands in years ("a") are read in
// completed years, as ages are everywhere; other units as fractions of a year.
func ageApplies(ec *evalCtx, o *Observation, r *RefRange) applies {
	p := ec.rec.Patient
	if p == nil || !p.BirthDate.Known() || !o.Effective.Known() {
		return appliesMaybe
	}
	lo, hi := ageRange(p.BirthDate, ec.start(o.Effective), ec.loc)
	low, high := -1.0, 1e9
	unitYears := true
	for _, b := range []struct {
		q   *Quantity
		dst *float64
	}{{r.AgeLow, &low}, {r.AgeHigh, &high}} {
		if b.q == nil {
			continue
		}
		y, ok := yearsOf(b.q)
		if !ok {
			return appliesMaybe
		}
		unitYears = unitYears && b.q.Code == "a"
		*b.dst = y
	}
	// The patient's real age lies in [lo, hi+1) years.
	loAge, hiAge := float64(lo), float64(hi)
	if !unitYears {
		hiAge = float64(hi + 1)
	}
	switch {
	case loAge >= low && hiAge <= high:
		return appliesYes
	case hiAge < low || loAge > high || (!unitYears && hiAge <= low):
		return appliesNo
	}
	return appliesMaybe
}

// yearsOf converts an age Quantity to years by its UCUM code.
func yearsOf(q *Quantity) (float64, bool) {
	const year = 365.25 * 24 * time.Hour
	switch q.Code {
	case "a":
		return q.Value, true
	case "mo":
		return q.Value / 12, true
	case "wk":
		return q.Value * float64(7*24*time.Hour) / float64(year), true
	case "d":
		return q.Value * float64(24*time.Hour) / float64(year), true
	}
	return 0, false
}

// rangeLabel names a range's population for the evidence, from codes only.
func rangeLabel(r *RefRange) string {
	var parts []string
	for _, concept := range r.AppliesTo {
		for _, c := range concept {
			if sex, ok := sexCodes[Coding{System: c.System, Code: c.Code}]; ok {
				parts = append(parts, sex)
				break
			}
		}
	}
	if r.AgeLow != nil || r.AgeHigh != nil {
		lo, hi := "", ""
		if r.AgeLow != nil {
			lo = num(r.AgeLow.Value)
		}
		if r.AgeHigh != nil {
			hi = num(r.AgeHigh.Value)
		}
		unit := ""
		if r.AgeLow != nil {
			unit = r.AgeLow.Code
		} else {
			unit = r.AgeHigh.Code
		}
		parts = append(parts, fmt.Sprintf("age %s-%s %s", lo, hi, unit))
	}
	if r.TypeText && len(r.Type) == 0 {
		parts = append(parts, "a type given only as text (perhaps not the normal range)")
	}
	return strings.Join(parts, ", ")
}

// errRangeText: the result's reference range is given only as text, so its ULN cannot be
// read; a person reads it (review), rather than the default standing in for the lab's.
type errRangeText struct{ text string }

func (e errRangeText) Error() string {
	return fmt.Sprintf("the reference range is given only as text (%q): its upper limit cannot be read", e.text)
}
