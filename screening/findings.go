package screening

import (
	"fmt"
	"sort"
)

// findingsParams: an exclusion (or a negatively worded inclusion) decided by coded
// records. Nothing found in a full record is a pass whose evidence says how many
// records were searched.
type findingsParams struct {
	Label string     `yaml:"label"`
	Rules []ruleSpec `yaml:"rules"`
	// NoneFound says what finding nothing means when the records read cannot show the
	// criterion's absence (e.g. it is recorded in resources the engine does not read):
	// outcome review with a note that tells the coordinator what to check. Left out,
	// nothing found is a pass.
	NoneFound *noneFoundSpec `yaml:"none_found"`
}

type noneFoundSpec struct {
	Outcome string `yaml:"outcome"` // review
	Note    string `yaml:"note"`    // what the records read cannot show, and what to check
}

type findings struct {
	label     string
	rules     []*rule
	types     []string
	noneFound *noneFoundSpec
}

func compileFindings(cc *compileCtx) evaluator {
	var p findingsParams
	if !cc.params(&p) {
		return nil
	}
	if p.Label == "" {
		cc.errorf("label", "a short label for summaries is required")
	}
	if len(p.Rules) == 0 {
		cc.errorf("rules", "at least one rule is required")
	}
	f := &findings{label: p.Label, rules: compileRules(cc, "rules", p.Rules), noneFound: p.NoneFound}
	f.types = searchedTypes(f.rules)
	cc.rule = describeRules(f.rules)
	if nf := p.NoneFound; nf != nil {
		if nf.Outcome != string(Review) {
			cc.errorf("none_found.outcome", "must be review, not %q", nf.Outcome)
		}
		if nf.Note == "" {
			cc.errorf("none_found.note", "say what the records read cannot show and what the coordinator must check")
		}
		cc.rule += "; none found -> review (" + nf.Note + ")"
	}
	return f.evaluate
}

func searchedTypes(rules []*rule) []string {
	seen := map[string]bool{}
	var out []string
	for _, r := range rules {
		ts := []string{r.spec.Resource}
		if r.spec.Resource == ruleMedication {
			ts = MedicationTypes
		}
		for _, t := range ts {
			if !seen[t] {
				seen[t] = true
				out = append(out, t)
			}
		}
	}
	sort.Strings(out)
	return out
}

func describeRules(rules []*rule) string {
	s := ""
	for i, r := range rules {
		if i > 0 {
			s += "; "
		}
		s += r.describe()
	}
	return s
}

func (f *findings) evaluate(ec *evalCtx) Result {
	var hits []hit
	var aside []Evidence
	for _, r := range f.rules {
		h, a := r.findAll(ec)
		hits, aside = append(hits, h...), append(aside, a...)
	}
	var r Result
	if len(hits) == 0 && f.noneFound != nil {
		// Nothing in the records read, but those records cannot show the criterion's
		// absence: a person checks, and the result says what was and was not read.
		r = Result{Outcome: Review, Reason: ReasonManual,
			Summary:  fmt.Sprintf("no %s found in the records read; %s", f.label, f.noneFound.Note),
			Evidence: []Evidence{{Note: "searched " + searched(ec.rec, f.types) + "; " + f.noneFound.Note}}}
	} else if len(hits) == 0 {
		r = Result{Outcome: Pass, Reason: ReasonNotFound,
			Summary:  fmt.Sprintf("no %s found", f.label),
			Evidence: []Evidence{{Note: "searched " + searched(ec.rec, f.types)}}}
	} else {
		r = hitsResult(f.label, hits)
	}
	// Records set aside as no longer current are named, so that a pass shows what it
	// looked at and put aside rather than seeming to have found nothing.
	if n := len(aside); n > 0 {
		what := fmt.Sprintf("%d record%s set aside as not current", n, plural(n, "", "s"))
		if len(hits) == 0 && f.noneFound != nil {
			r.Summary += "; " + what
			r.Evidence[0].Note += "; " + what
		} else if len(hits) == 0 {
			r.Summary = fmt.Sprintf("no current %s found; %s", f.label, what)
			r.Evidence[0].Note += "; " + what
		} else {
			r.Summary += "; " + what
		}
		r.Evidence = append(r.Evidence, aside...)
	}
	return r
}

// hitsResult turns what rules found into a result: the worst outcome decides, and every
// record found is evidence.
func hitsResult(label string, hits []hit) Result {
	w := worst(hits)
	r := Result{Outcome: w.outcome, Reason: w.reason, Summary: fmt.Sprintf("%s: %s", label, w.summary)}
	if len(hits) > 1 {
		r.Summary += fmt.Sprintf(" (and %d more)", len(hits)-1)
	}
	for _, h := range hits {
		r.Evidence = append(r.Evidence, h.ev...)
	}
	return r
}
