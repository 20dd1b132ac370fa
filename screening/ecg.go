package screening

import "fmt"

// ecgParams: an ECG within the window is needed. An observation coded as normal passes;
// any other coded or narrative interpretation, or a bare ECG procedure, is review.
type ecgParams struct {
	Observations []string `yaml:"observations"`
	Procedures   []string `yaml:"procedures"`
	Normal       []string `yaml:"normal"`
	WindowDays   int      `yaml:"window_days"`
}

func compileECG(cc *compileCtx) evaluator {
	var p ecgParams
	if !cc.params(&p) {
		return nil
	}
	obs := cc.codes("observations", p.Observations, true)
	procs := cc.codes("procedures", p.Procedures, false)
	normal := cc.codes("normal", p.Normal, true)
	cc.window("window_days", p.WindowDays, true)
	cc.need(TypeObservation, obs)
	if !procs.empty() {
		cc.need(TypeProcedure, procs)
	}
	cc.rule = fmt.Sprintf("an ECG within %d days with a coded normal interpretation", p.WindowDays)
	return func(ec *evalCtx) Result {
		sel := ec.selectLatest(obs, p.WindowDays)
		if len(sel.latest) > 0 {
			js := make([]judged, len(sel.latest))
			for i, o := range sel.latest {
				ev := obsEvidence(o, obs)
				js[i] = judged{outcome: Review, reason: ReasonJudgement, evidence: []Evidence{ev},
					summary: fmt.Sprintf("ECG on %s has no coded normal interpretation", o.Effective)}
				if isNormalECG(o, normal) {
					js[i].outcome, js[i].reason = Pass, ReasonMet
					js[i].summary = fmt.Sprintf("ECG on %s coded as normal", o.Effective)
				}
			}
			return combineSameInstant(js)
		}
		start := ec.windowStart(p.WindowDays)
		var imprecise *Evidence // the first such procedure, named when nothing counts
		for i := range ec.rec.Procedures {
			pr := &ec.rec.Procedures[i]
			c, set, ok := procs.match(pr.Code)
			if !ok || notDone[pr.Status] {
				continue
			}
			ev := Evidence{Resource: pr.Ref, Code: c.Key(), Codeset: set, Date: pr.Performed.String(), Status: pr.Status}
			// A procedure with no date, or one coarser than a day, is not an ECG within the
			// window (the rule selectLatest applies to observations): it is only named.
			if pr.Performed.Precision < PrecisionDay {
				if imprecise == nil && (!pr.Performed.Known() || !ec.start(pr.Performed).After(ec.asOf)) {
					ev.Note = impreciseNote("the procedure", pr.Performed, p.WindowDays)
					imprecise = &ev
				}
				continue
			}
			if ec.start(pr.Performed).After(ec.asOf) || ec.start(pr.Performed).Before(start) {
				continue
			}
			return Result{Outcome: Review, Reason: ReasonJudgement,
				Summary:  fmt.Sprintf("ECG performed on %s; its interpretation is not coded", pr.Performed),
				Evidence: []Evidence{ev}}
		}
		r := sel.missing("ECG", p.WindowDays, obs)
		if imprecise != nil {
			if r.Reason == ReasonNoData && len(r.Evidence) == 0 {
				r.Summary = "no ECG dated to the day" // not "no ECG recorded": one is named below
			}
			r.Summary += "; " + imprecise.Resource + ": " + imprecise.Note
			r.Evidence = append(r.Evidence, *imprecise)
		}
		return r
	}
}

// isNormalECG: a normal code in the value or interpretation, and nothing coded that
// says otherwise (an abnormal value beside a "normal" flag needs a person).
func isNormalECG(o *Observation, normal *codeMatcher) bool {
	if !normal.matches(o.ValueCode) && !normal.matches(o.Interpretation) {
		return false
	}
	for _, c := range o.ValueCode {
		if !normal.matches([]Coding{c}) {
			return false
		}
	}
	for _, c := range o.Interpretation {
		if !normal.matches([]Coding{c}) {
			return false
		}
	}
	return true
}
