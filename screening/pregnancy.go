package screening

import "fmt"

// pregnancyParams: a woman of childbearing potential needs a negative pregnancy test
// within the window. Men are handled by applies_to. A record that ends childbearing
// potential (menopause, hysterectomy) makes the test not applicable; from the presumed
// age on, a person confirms childbearing potential instead.
type pregnancyParams struct {
	Codes           []string     `yaml:"codes"`
	WindowDays      int          `yaml:"window_days"`
	Positive        []string     `yaml:"positive"`
	Negative        []string     `yaml:"negative"`
	Quantitative    *quantCutoff `yaml:"quantitative"`
	NotChildbearing []ruleSpec   `yaml:"not_childbearing"`
	PresumedAge     int          `yaml:"review_from_age"`
}

// quantCutoff reads a quantitative hCG: below the cut-off is negative.
type quantCutoff struct {
	Units  string  `yaml:"units"`
	Cutoff float64 `yaml:"negative_below"`
}

func compilePregnancyTest(cc *compileCtx) evaluator {
	var p pregnancyParams
	if !cc.params(&p) {
		return nil
	}
	codes := cc.codes("codes", p.Codes, true)
	pos := cc.codes("positive", p.Positive, true)
	neg := cc.codes("negative", p.Negative, true)
	cc.window("window_days", p.WindowDays, true)
	var qunits *unitGroup
	if p.Quantitative != nil {
		qunits = cc.units("quantitative.units", p.Quantitative.Units)
		if p.Quantitative.Cutoff <= 0 {
			cc.errorf("quantitative.negative_below", "must be above 0")
		}
	}
	notCB := compileRules(cc, "not_childbearing", p.NotChildbearing)
	cc.need(TypePatient, nil)
	cc.need(TypeObservation, codes)
	cc.rule = fmt.Sprintf("women of childbearing potential: negative pregnancy test within %d days", p.WindowDays)
	return func(ec *evalCtx) Result {
		sel := ec.selectLatest(codes, p.WindowDays)
		if len(sel.latest) == 0 {
			// Without a test, a record that suggests no childbearing potential (e.g.
			// tubal ligation) is not proof of it: a person confirms, as the rule says.
			for _, rl := range notCB {
				if hits := rl.find(ec); len(hits) > 0 {
					w := worst(hits)
					return Result{Outcome: w.outcome, Reason: ReasonJudgement, Evidence: w.ev,
						Summary: "no pregnancy test; confirm she is not of childbearing potential: " + w.summary}
				}
			}
			pt := ec.rec.Patient
			if lo, _ := ageRange(pt.BirthDate, ec.asOf, ec.loc); p.PresumedAge > 0 && pt.BirthDate.Known() && lo >= p.PresumedAge {
				return Result{Outcome: Review, Reason: ReasonJudgement,
					Evidence: []Evidence{{Resource: pt.Ref, Role: "age", Value: ptr(float64(lo)), Unit: "a"}},
					Summary:  fmt.Sprintf("no pregnancy test; aged %d, confirm whether she is of childbearing potential", lo)}
			}
			return sel.missing("pregnancy test", p.WindowDays, codes)
		}
		judge := func(o *Observation) judged {
			ev := obsEvidence(o, codes)
			j := judged{outcome: Review, reason: ReasonFreeText, evidence: []Evidence{ev},
				summary: fmt.Sprintf("pregnancy test on %s is neither coded positive nor negative", o.Effective)}
			switch {
			case pos.matches(o.ValueCode) || pos.matches(o.Interpretation):
				j.outcome, j.reason, j.summary = Fail, ReasonFound, fmt.Sprintf("pregnancy test positive on %s", o.Effective)
			case neg.matches(o.ValueCode) || neg.matches(o.Interpretation):
				j.outcome, j.reason, j.summary = Pass, ReasonMet, fmt.Sprintf("pregnancy test negative on %s", o.Effective)
			case o.Value != nil && qunits != nil:
				v, err := qunits.convert(o.Value)
				if err != nil {
					j.outcome, j.reason, j.summary = Unknown, ReasonUnit, "pregnancy test: "+err.Error()
					break
				}
				j.evidence[0].Value, j.evidence[0].Unit = ptr(v), qunits.canonical
				if v < p.Quantitative.Cutoff {
					j.outcome, j.reason = Pass, ReasonMet
					j.summary = fmt.Sprintf("hCG %s %s on %s is below %s (negative)", num(v), qunits.canonical, o.Effective, num(p.Quantitative.Cutoff))
				} else {
					j.outcome, j.reason = Fail, ReasonFound
					j.summary = fmt.Sprintf("hCG %s %s on %s is at or above %s (positive)", num(v), qunits.canonical, o.Effective, num(p.Quantitative.Cutoff))
				}
			}
			return j
		}
		js := make([]judged, len(sel.latest))
		for i, o := range sel.latest {
			js[i] = judge(o)
		}
		return weighImprecise(combineSameInstant(js), p.WindowDays, ec.laterImprecise(sel, judge))
	}
}
