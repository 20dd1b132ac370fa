package screening

import "fmt"

// manualParams: a criterion only a person can decide. Optional rules attach coded
// records that help the person decide (e.g. current systemic steroids).
type manualParams struct {
	Decide string     `yaml:"decide"`
	Flags  []ruleSpec `yaml:"flags"`
	// FailIfDeceased: a record that says the patient has died decides it (life
	// expectancy): no person need be asked.
	FailIfDeceased bool `yaml:"fail_if_deceased"`
}

func compileManual(cc *compileCtx) evaluator {
	var p manualParams
	if !cc.params(&p) {
		return nil
	}
	if p.Decide == "" {
		cc.errorf("decide", "say what the person must decide")
	}
	flags := compileRules(cc, "flags", p.Flags)
	cc.rule = "decided by a person: " + p.Decide
	return func(ec *evalCtx) Result {
		if pt := ec.rec.Patient; p.FailIfDeceased && pt != nil && pt.Deceased && (!pt.DeceasedAt.Known() || !ec.start(pt.DeceasedAt).After(ec.asOf)) {
			summary := "the Patient record says the patient has died"
			if pt.DeceasedAt.Known() {
				summary += " (" + pt.DeceasedAt.String() + ")"
			}
			return Result{Outcome: Fail, Reason: ReasonFound, Summary: summary,
				Evidence: []Evidence{{Resource: pt.Ref, Role: "deceased", Date: pt.DeceasedAt.String()}}}
		}
		r := Result{Outcome: Review, Reason: ReasonManual, Summary: p.Decide}
		var n int
		for _, f := range flags {
			for _, h := range f.find(ec) {
				n++
				r.Evidence = append(r.Evidence, h.ev...)
			}
		}
		if n > 0 {
			r.Summary += fmt.Sprintf(" (%d record%s flagged for this decision)", n, plural(n, "", "s"))
		}
		return r
	}
}
