package screening

import "fmt"

// diagnosisParams: an inclusion that needs a diagnosis on record. A confirmed matching
// condition passes; an unconfirmed one, or a related diagnosis that needs judgement,
// is review; none in a full record fails.
type diagnosisParams struct {
	Label  string   `yaml:"label"`
	Codes  []string `yaml:"codes"`
	Review []string `yaml:"review"`
	// Confirmed lists verification statuses that count as confirmed (e.g. confirmed).
	Confirmed []string `yaml:"confirmed"`
}

func compileDiagnosis(cc *compileCtx) evaluator {
	var p diagnosisParams
	if !cc.params(&p) {
		return nil
	}
	codes := cc.codes("codes", p.Codes, true)
	review := cc.codes("review", p.Review, false)
	if len(p.Confirmed) == 0 {
		cc.errorf("confirmed", "list the verification statuses that count as confirmed")
	}
	confirmed := setOf(p.Confirmed)
	all := newCodeMatcher()
	all.merge(codes)
	all.merge(review)
	cc.need(TypeCondition, all)
	cc.rule = fmt.Sprintf("a %s diagnosis (%v) with verification status %v", p.Label, p.Codes, p.Confirmed)
	return func(ec *evalCtx) Result {
		var hits []hit
		for i := range ec.rec.Conditions {
			cd := &ec.rec.Conditions[i]
			if ec.statuses.discounted[cd.Verification] {
				continue
			}
			if c, set, ok := codes.match(cd.Code); ok {
				h := hit{outcome: Pass, reason: ReasonFound, ev: []Evidence{condEvidence(cd, c, set, "")},
					summary: fmt.Sprintf("%s on record (%s, %s)", p.Label, c, orNone(cd.Verification))}
				if !confirmed[cd.Verification] {
					h.outcome, h.reason = Review, ReasonJudgement
					h.summary = fmt.Sprintf("%s on record (%s) but not confirmed: verification %s", p.Label, c, orNone(cd.Verification))
				}
				hits = append(hits, h)
				continue
			}
			if c, set, ok := review.match(cd.Code); ok {
				hits = append(hits, hit{outcome: Review, reason: ReasonJudgement, ev: []Evidence{condEvidence(cd, c, set, "")},
					summary: fmt.Sprintf("related diagnosis %s needs judgement", c)})
			}
		}
		if len(hits) == 0 {
			return Result{Outcome: Fail, Reason: ReasonNotFound, Summary: fmt.Sprintf("no %s diagnosis on record", p.Label),
				Evidence: []Evidence{{Note: "searched " + searched(ec.rec, []string{TypeCondition})}}}
		}
		// The best-supported diagnosis decides: a confirmed one outweighs doubtful ones.
		best := hits[0]
		for _, h := range hits[1:] {
			if h.outcome == Pass && best.outcome != Pass {
				best = h
			}
		}
		r := Result{Outcome: best.outcome, Reason: best.reason, Summary: best.summary}
		for _, h := range hits {
			r.Evidence = append(r.Evidence, h.ev...)
		}
		return r
	}
}
