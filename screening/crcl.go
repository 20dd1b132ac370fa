package screening

import (
	"fmt"
	"math"
	"time"
)

// crclParams: Cockcroft-Gault creatinine clearance,
// (140 - age) x weight[kg] / (72 x SCr[mg/dL]), x female_factor for women, with actual
// body weight and age at the creatinine's date.
type crclParams struct {
	Creatinine   inputSpec `yaml:"creatinine"`
	Weight       inputSpec `yaml:"weight"`
	Threshold    float64   `yaml:"threshold"`
	FemaleFactor float64   `yaml:"female_factor"`
}

// inputSpec is one observation a derived value is computed from.
type inputSpec struct {
	Codes      []string `yaml:"codes"`
	WindowDays int      `yaml:"window_days"`
	Units      string   `yaml:"units"`
}

type crcl struct {
	p                 crclParams
	scr, wt           *codeMatcher
	scrUnits, wtUnits *unitGroup
}

func compileCreatinineClearance(cc *compileCtx) evaluator {
	var p crclParams
	if !cc.params(&p) {
		return nil
	}
	c := &crcl{p: p}
	c.scr = cc.codes("creatinine.codes", p.Creatinine.Codes, true)
	c.wt = cc.codes("weight.codes", p.Weight.Codes, true)
	c.scrUnits = cc.units("creatinine.units", p.Creatinine.Units)
	c.wtUnits = cc.units("weight.units", p.Weight.Units)
	cc.window("creatinine.window_days", p.Creatinine.WindowDays, true)
	cc.window("weight.window_days", p.Weight.WindowDays, true)
	if p.Threshold <= 0 {
		cc.errorf("threshold", "must be above 0")
	}
	if p.FemaleFactor <= 0 || p.FemaleFactor > 1 {
		cc.errorf("female_factor", "must be above 0 and at most 1")
	}
	if c.scrUnits.canonical != "mg/dL" && c.scrUnits.canonical != "" {
		cc.errorf("creatinine.units", "the formula needs creatinine in mg/dL, not %s", c.scrUnits.canonical)
	}
	if c.wtUnits.canonical != "kg" && c.wtUnits.canonical != "" {
		cc.errorf("weight.units", "the formula needs weight in kg, not %s", c.wtUnits.canonical)
	}
	cc.need(TypePatient, nil)
	cc.need(TypeObservation, c.scr)
	cc.need(TypeObservation, c.wt)
	cc.threshold = &Threshold{Label: "CrCl", Comparator: ">=", Value: p.Threshold, Unit: "mL/min", WindowDays: p.Creatinine.WindowDays}
	cc.rule = fmt.Sprintf("Cockcroft-Gault (140 - age) x weight / (72 x SCr mg/dL) x %s if female >= %s mL/min; creatinine within %d days, actual weight within %d days nearest the creatinine's date, age at the creatinine's date",
		num(p.FemaleFactor), num(p.Threshold), p.Creatinine.WindowDays, p.Weight.WindowDays)
	return c.evaluate
}

func (c *crcl) evaluate(ec *evalCtx) Result {
	sel := ec.selectLatest(c.scr, c.p.Creatinine.WindowDays)
	if len(sel.latest) == 0 {
		return sel.missing("serum creatinine", c.p.Creatinine.WindowDays, c.scr)
	}
	scrObs, scrs, bad := c.distinct(sel.latest, c.scrUnits, c.scr, "serum creatinine")
	if bad != nil {
		return *bad
	}
	wtObs, wts, bad := c.nearestWeight(ec, ec.start(scrObs[0].Effective))
	if bad != nil {
		scrEv := obsEvidence(scrObs[0], c.scr)
		scrEv.Role, scrEv.Value, scrEv.Unit = "creatinine", ptr(scrs[0]), "mg/dL"
		bad.Evidence = append([]Evidence{scrEv}, bad.Evidence...)
		return *bad
	}
	// Different values at the same instant conflict only when they lead to different
	// outcomes (the contract's rule for results at the same latest instant).
	at := ec.start(scrObs[0].Effective)
	first := c.compute(ec, scrObs[0], scrs[0], wtObs[0], wts[0], at)
	for i := range scrObs {
		for j := range wtObs {
			if i == 0 && j == 0 {
				continue
			}
			r := c.compute(ec, scrObs[i], scrs[i], wtObs[j], wts[j], at)
			if r.Outcome != first.Outcome {
				ev := append(append([]Evidence{}, first.Evidence...), r.Evidence...)
				return Result{Outcome: Unknown, Reason: ReasonConflict, Evidence: ev,
					Summary: fmt.Sprintf("creatinine or weight results at the same time lead to different outcomes (%s vs %s)", first.Summary, r.Summary)}
			}
		}
	}
	// A creatinine dated only to the month, or not at all, may be later than the one used:
	// it is judged with the weight used (it has no day to find a nearer one by).
	late := ec.laterImprecise(sel, func(o *Observation) judged {
		_, vs, bad := c.distinct([]*Observation{o}, c.scrUnits, c.scr, "serum creatinine")
		r := bad
		if r == nil {
			cr := c.computeImprecise(ec, o, vs[0], wtObs[0], wts[0])
			r = &cr
		}
		return judged{outcome: r.Outcome, reason: r.Reason, summary: r.Summary, evidence: r.Evidence}
	})
	return weighImprecise(first, c.p.Creatinine.WindowDays, late)
}

// computeImprecise decides from a creatinine whose date is coarser than a day, or absent.
// Age at the creatinine's date is part of the formula, so no date means no CrCl (it is
// never computed from an invented age). A month or year is judged at its first and last
// instant (capped at as-of): CrCl falls as age rises, so the two ends bound every age the
// patient could have had in between, and they must agree.
func (c *crcl) computeImprecise(ec *evalCtx, o *Observation, scr float64, wtObs *Observation, wt float64) Result {
	if !o.Effective.Known() {
		ev := obsEvidence(o, c.scr)
		ev.Role, ev.Value, ev.Unit = "creatinine", ptr(scr), "mg/dL"
		return Result{Outcome: Unknown, Reason: ReasonNoData, Evidence: []Evidence{ev},
			Summary: "serum creatinine " + num(scr) + " mg/dL has no date, so the age at it, and the CrCl, cannot be computed"}
	}
	last := ec.end(o.Effective).Add(-time.Nanosecond)
	if last.After(ec.asOf) {
		last = ec.asOf
	}
	early := c.compute(ec, o, scr, wtObs, wt, ec.start(o.Effective))
	late := c.compute(ec, o, scr, wtObs, wt, last)
	if early.Outcome == late.Outcome {
		return late
	}
	return Result{Outcome: Unknown, Reason: ReasonNoData, Evidence: late.Evidence,
		Summary: fmt.Sprintf("serum creatinine dated only %s: the ages its date allows decide differently (%s; %s)", o.Effective, early.Summary, late.Summary)}
}

// compute decides the criterion from one creatinine and one weight, with the patient's
// age at the instant at (the creatinine's date).
func (c *crcl) compute(ec *evalCtx, scrObs *Observation, scr float64, wtObs *Observation, wt float64, at time.Time) Result {
	scrEv := obsEvidence(scrObs, c.scr)
	scrEv.Role, scrEv.Value, scrEv.Unit = "creatinine", ptr(scr), "mg/dL"
	if scr <= 0 {
		return Result{Outcome: Unknown, Reason: ReasonNoData, Summary: "serum creatinine is not above zero", Evidence: []Evidence{scrEv}}
	}
	wtEv := obsEvidence(wtObs, c.wt)
	wtEv.Role, wtEv.Value, wtEv.Unit = "weight", ptr(wt), "kg"
	pt := ec.rec.Patient
	ptEv := Evidence{Resource: pt.Ref, Role: "age-and-sex", Date: pt.BirthDate.String(), Text: "gender " + orNone(pt.Gender)}
	ev := []Evidence{scrEv, wtEv, ptEv}
	if !pt.BirthDate.Known() {
		return Result{Outcome: Unknown, Reason: ReasonNoData, Summary: "no birth date recorded, so age is unknown", Evidence: ev}
	}
	lo, hi := ageRange(pt.BirthDate, at, ec.loc)
	factors := []float64{1}
	switch pt.Gender {
	case "female":
		factors = []float64{c.p.FemaleFactor}
	case "male":
	default:
		factors = []float64{1, c.p.FemaleFactor} // sex not known: both must agree
	}
	var values []float64
	for _, age := range []int{lo, hi} {
		for _, f := range factors {
			// Rounded like converted values, so that a CrCl of exactly the threshold meets it.
			values = append(values, roundSig(float64(140-age)*wt/(72*scr)*f))
		}
	}
	minV, maxV := values[0], values[0]
	for _, v := range values {
		minV, maxV = math.Min(minV, v), math.Max(maxV, v)
	}
	ptEv.Value, ptEv.Unit = ptr(float64(hi)), "a"
	ev[2] = ptEv
	derived := Evidence{Role: "creatinine-clearance", Value: ptr(roundSig(minV)), Unit: "mL/min",
		Note: fmt.Sprintf("(140 - %d) x %s kg / (72 x %s mg/dL)", hi, num(wt), num(scr))}
	if len(factors) == 1 && factors[0] != 1 {
		derived.Note += " x " + num(factors[0])
	}
	ev = append(ev, derived)
	thr := c.p.Threshold
	switch {
	case minV >= thr:
		return Result{Outcome: Pass, Reason: ReasonMet, Evidence: ev,
			Summary: fmt.Sprintf("CrCl %.1f mL/min meets >= %s", minV, num(thr))}
	case maxV < thr:
		return Result{Outcome: Fail, Reason: ReasonNotMet, Evidence: ev,
			Summary: fmt.Sprintf("CrCl %.1f mL/min does not meet >= %s", maxV, num(thr))}
	case len(factors) > 1:
		return Result{Outcome: Unknown, Reason: ReasonNoData, Evidence: ev,
			Summary: fmt.Sprintf("sex not recorded as male or female: CrCl %.1f-%.1f mL/min straddles %s", minV, maxV, num(thr))}
	}
	return Result{Outcome: Unknown, Reason: ReasonNoData, Evidence: ev,
		Summary: fmt.Sprintf("birth date %s is too imprecise: CrCl %.1f-%.1f mL/min straddles %s", pt.BirthDate, minV, maxV, num(thr))}
}

// distinct reduces results at one instant to their distinct values.
func (c *crcl) distinct(obs []*Observation, g *unitGroup, m *codeMatcher, label string) ([]*Observation, []float64, *Result) {
	var outObs []*Observation
	var vals []float64
	for _, o := range obs {
		if o.Value == nil {
			return nil, nil, &Result{Outcome: Unknown, Reason: ReasonNoData, Summary: label + " has no numeric value", Evidence: []Evidence{obsEvidence(o, m)}}
		}
		v, err := g.convert(o.Value)
		if err != nil {
			return nil, nil, &Result{Outcome: Unknown, Reason: ReasonUnit, Summary: label + ": " + err.Error(), Evidence: []Evidence{obsEvidence(o, m)}}
		}
		dup := false
		for _, w := range vals {
			dup = dup || w == v
		}
		if !dup {
			outObs, vals = append(outObs, o), append(vals, v)
		}
	}
	return outObs, vals, nil
}

// nearestWeight picks the weight in the window closest to the creatinine's date. A weight
// with no date or one coarser than a day cannot be placed in a window of days, so it is
// never used (selectLatest's rule for every other result).
func (c *crcl) nearestWeight(ec *evalCtx, at time.Time) ([]*Observation, []float64, *Result) {
	start := ec.windowStart(c.p.Weight.WindowDays)
	var best []*Observation
	var bestGap time.Duration
	ec.eachObservation(c.wt, func(o *Observation) {
		if !ec.statuses.observation[o.Status] || o.Effective.Precision < PrecisionDay {
			return
		}
		t := ec.start(o.Effective)
		if t.After(ec.asOf) || t.Before(start) {
			return
		}
		gap := t.Sub(at)
		if gap < 0 {
			gap = -gap
		}
		switch {
		case len(best) == 0 || gap < bestGap:
			best, bestGap = []*Observation{o}, gap
		case gap == bestGap:
			best = append(best, o)
		}
	})
	if len(best) == 0 {
		r := ec.selectLatest(c.wt, c.p.Weight.WindowDays).missing("body weight", c.p.Weight.WindowDays, c.wt)
		return nil, nil, &r
	}
	return c.distinct(best, c.wtUnits, c.wt, "body weight")
}
