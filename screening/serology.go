package screening

import (
	"fmt"
	"strings"
)

// serologyParams: every listed test needs a negative result within the window. A
// positive result within the window (or a coded disease) fails; an older positive is
// review; a missing or indeterminate result is unknown or review.
type serologyParams struct {
	Tests      []serologyTest `yaml:"tests"`
	WindowDays int            `yaml:"window_days"`
	Positive   []string       `yaml:"positive"` // value or interpretation codes that mean positive
	Negative   []string       `yaml:"negative"` // value or interpretation codes that mean negative
	Diseases   []ruleSpec     `yaml:"diseases"` // coded infections that count as positive
}

type serologyTest struct {
	Name  string   `yaml:"name"`
	Codes []string `yaml:"codes"`
}

type serology struct {
	p        serologyParams
	tests    []*codeMatcher
	pos, neg *codeMatcher
	diseases []*rule
}

func compileSerology(cc *compileCtx) evaluator {
	var p serologyParams
	if !cc.params(&p) {
		return nil
	}
	s := &serology{p: p}
	if len(p.Tests) == 0 {
		cc.errorf("tests", "at least one test is required")
	}
	all := newCodeMatcher()
	names := make([]string, 0, len(p.Tests))
	for i, t := range p.Tests {
		if t.Name == "" {
			cc.errorf(fmt.Sprintf("tests[%d].name", i), "is required")
		}
		m := cc.codes(fmt.Sprintf("tests[%d].codes", i), t.Codes, true)
		s.tests = append(s.tests, m)
		all.merge(m)
		names = append(names, t.Name)
	}
	s.pos = cc.codes("positive", p.Positive, true)
	s.neg = cc.codes("negative", p.Negative, true)
	cc.window("window_days", p.WindowDays, true)
	s.diseases = compileRules(cc, "diseases", p.Diseases)
	cc.need(TypeObservation, all)
	cc.rule = fmt.Sprintf("negative %s, each within %d days; a positive result or coded infection fails", strings.Join(names, ", "), p.WindowDays)
	return s.evaluate
}

func (s *serology) classify(o *Observation) (Outcome, Reason, string) {
	switch {
	case s.pos.matches(o.ValueCode) || s.pos.matches(o.Interpretation):
		return Fail, ReasonFound, "positive"
	case s.neg.matches(o.ValueCode) || s.neg.matches(o.Interpretation):
		return Pass, ReasonMet, "negative"
	case o.Value != nil:
		return Unknown, ReasonUncoded, fmt.Sprintf("numeric (%s %s) with an assay-specific cut-off, not coded positive or negative", num(o.Value.Value), unitLabel(o.Value))
	}
	return Unknown, ReasonUncoded, "indeterminate or not coded positive or negative"
}

func (s *serology) evaluate(ec *evalCtx) Result {
	var parts []hit
	for _, rl := range s.diseases {
		parts = append(parts, rl.find(ec)...)
	}
	for i, t := range s.p.Tests {
		m := s.tests[i]
		sel := ec.selectLatest(m, s.p.WindowDays)
		if len(sel.latest) == 0 {
			r := sel.missing(t.Name, s.p.WindowDays, m)
			parts = append(parts, hit{outcome: Unknown, reason: r.Reason, summary: r.Summary, ev: r.Evidence})
		} else {
			judge := func(o *Observation) judged {
				out, reason, word := s.classify(o)
				return judged{outcome: out, reason: reason, evidence: []Evidence{obsEvidence(o, m)},
					summary: fmt.Sprintf("%s %s on %s", t.Name, word, o.Effective)}
			}
			js := make([]judged, len(sel.latest))
			for k, o := range sel.latest {
				js[k] = judge(o)
			}
			r := combineSameInstant(js)
			if pos := positiveAmong(js); pos != nil && r.Outcome != Fail {
				// Any positive within the window fails (the contract's serology rule), so a
				// negative beside it at the same instant is no conflict: the positive decides.
				r.Outcome, r.Reason = Fail, ReasonFound
				r.Summary = pos.summary + fmt.Sprintf(" (%d results at that time; a negative beside it does not undo it)", len(js))
			}
			// A coarsely dated result that may be later than a negative and is not itself
			// negative leaves the test unknown; a positive one is review (undatedPositive).
			if r.Outcome != Fail {
				var late []lateCandidate
				for _, c := range ec.laterImprecise(sel, judge) {
					if c.j.outcome != Fail {
						late = append(late, c)
					}
				}
				r = weighImprecise(r, s.p.WindowDays, late)
			}
			parts = append(parts, hit{outcome: r.Outcome, reason: r.Reason, summary: r.Summary, ev: r.Evidence})
		}
		if earlier := s.supersededPositive(ec, m, sel.latest); earlier != nil {
			parts = append(parts, hit{outcome: Fail, reason: ReasonFound, ev: []Evidence{obsEvidence(earlier, m)},
				summary: fmt.Sprintf("%s positive on %s, within the window (a later result does not undo it)", t.Name, earlier.Effective)})
		}
		if undated := s.undatedPositive(ec, m); undated != nil {
			what := "no date"
			if undated.Effective.Known() {
				what = "a date of only " + undated.Effective.String()
			}
			ev := obsEvidence(undated, m)
			ev.Note = fmt.Sprintf("positive with %s: it cannot be placed inside or outside the %d-day window", what, s.p.WindowDays)
			parts = append(parts, hit{outcome: Review, reason: ReasonUndated, ev: []Evidence{ev},
				summary: fmt.Sprintf("%s positive with %s, which may fall within the %d-day window: a person must decide", t.Name, what, s.p.WindowDays)})
		}
		if older := s.olderPositive(ec, m); older != nil {
			parts = append(parts, hit{outcome: Review, reason: ReasonOlderPositive, ev: []Evidence{obsEvidence(older, m)},
				summary: fmt.Sprintf("%s was positive on %s, before the window", t.Name, older.Effective)})
		}
	}
	w := worst(parts)
	r := Result{Outcome: w.outcome, Reason: w.reason, Summary: w.summary}
	if w.outcome == Pass {
		r.Reason, r.Summary = ReasonMet, fmt.Sprintf("all %d tests negative within %d days", len(s.p.Tests), s.p.WindowDays)
	}
	for _, h := range parts {
		r.Evidence = append(r.Evidence, h.ev...)
	}
	return r
}

// positiveAmong is the first positive among results judged at one instant.
func positiveAmong(js []judged) *judged {
	for i := range js {
		if js[i].outcome == Fail {
			return &js[i]
		}
	}
	return nil
}

// undatedPositive finds a positive result with no date, or a date coarser than a day
// whose span reaches into the window (e.g. "2026-11"): it cannot be placed inside or
// outside the window, so it is never let pass. One whose whole span lies before the
// window is an older positive; one that begins after as-of is ignored.
func (s *serology) undatedPositive(ec *evalCtx, m *codeMatcher) *Observation {
	start := ec.windowStart(s.p.WindowDays)
	var found *Observation
	ec.eachObservation(m, func(o *Observation) {
		if found != nil || !ec.statuses.observation[o.Status] || o.Effective.Precision >= PrecisionDay {
			return
		}
		if o.Effective.Known() && (ec.start(o.Effective).After(ec.asOf) || !ec.end(o.Effective).After(start)) {
			return
		}
		if out, _, _ := s.classify(o); out == Fail {
			found = o
		}
	})
	return found
}

// olderPositive finds a positive result dated before the window: its whole span (a
// month-only date covers the month) ends before the window begins.
func (s *serology) olderPositive(ec *evalCtx, m *codeMatcher) *Observation {
	start := ec.windowStart(s.p.WindowDays)
	var found *Observation
	ec.eachObservation(m, func(o *Observation) {
		if found != nil || !ec.statuses.observation[o.Status] || !o.Effective.Known() {
			return
		}
		if o.Effective.Precision < PrecisionDay && ec.end(o.Effective).After(start) {
			return // reaches into the window: undatedPositive's case
		}
		if !ec.start(o.Effective).Before(start) {
			return
		}
		if out, _, _ := s.classify(o); out == Fail {
			found = o
		}
	})
	return found
}

// supersededPositive finds a positive result within the window that is older than the
// latest result: the contract fails any positive result within the window, not only the
// most recent one.
func (s *serology) supersededPositive(ec *evalCtx, m *codeMatcher, latest []*Observation) *Observation {
	if len(latest) == 0 {
		return nil
	}
	start, cut := ec.windowStart(s.p.WindowDays), ec.start(latest[0].Effective)
	var found *Observation
	ec.eachObservation(m, func(o *Observation) {
		// Only a day-precise date places a result within the window; coarser ones are
		// undatedPositive's or olderPositive's.
		if found != nil || !ec.statuses.observation[o.Status] || o.Effective.Precision < PrecisionDay {
			return
		}
		if t := ec.start(o.Effective); t.Before(start) || !t.Before(cut) {
			return
		}
		if out, _, _ := s.classify(o); out == Fail {
			found = o
		}
	})
	return found
}
