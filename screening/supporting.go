package screening

import "fmt"

// supportingParams: a criterion that no code decides (e.g. refractoriness) but that
// coded records support. Supporting records found are review; none is unknown, since
// a person must first obtain the history.
type supportingParams struct {
	Label string     `yaml:"label"`
	Rules []ruleSpec `yaml:"rules"`
}

func compileSupportingEvidence(cc *compileCtx) evaluator {
	var p supportingParams
	if !cc.params(&p) {
		return nil
	}
	if len(p.Rules) == 0 {
		cc.errorf("rules", "at least one rule is required")
	}
	rules := compileRules(cc, "rules", p.Rules)
	types := searchedTypes(rules)
	cc.rule = "supporting records (" + describeRules(rules) + ") -> review; none -> unknown"
	return func(ec *evalCtx) Result {
		var hits []hit
		for _, r := range rules {
			hits = append(hits, r.find(ec)...)
		}
		if len(hits) == 0 {
			return Result{Outcome: Unknown, Reason: ReasonNoData,
				Summary:  fmt.Sprintf("no record supports %s", p.Label),
				Evidence: []Evidence{{Note: "searched " + searched(ec.rec, types)}}}
		}
		r := hitsResult(p.Label, hits)
		r.Outcome, r.Reason = Review, ReasonJudgement
		return r
	}
}
