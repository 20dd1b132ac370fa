package screening

import "fmt"

// manualParams: a criterion only a person can decide. Optional rules attach coded
// records that help the person decide (e.g. current systemic steroids).
type manualParams struct {
	Decide string     `yaml:"decide"`
	Flags  []ruleSpec `yaml:"flags"`
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
