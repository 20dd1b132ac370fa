package screening

import (
	"fmt"
	"time"
)

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
		judgeObs := func(o *Observation) judged {
			j := judged{outcome: Review, reason: ReasonJudgement, evidence: []Evidence{obsEvidence(o, obs)},
				summary: fmt.Sprintf("ECG on %s has no coded normal interpretation", o.Effective)}
			switch {
			case len(o.InterpretationText) > 0 && isNormalECG(o, normal):
				// Text beside a normal code may say otherwise ("atrial fibrillation").
				j.summary = fmt.Sprintf("ECG on %s is coded normal, but an interpretation is given as text only (%q)", o.Effective, o.InterpretationText[0])
				j.evidence[0].Text = o.InterpretationText[0]
			case o.ValueText != "" && isNormalECG(o, normal):
				j.summary = fmt.Sprintf("ECG on %s is coded normal, but its value is text (%q)", o.Effective, o.ValueText)
			case isNormalECG(o, normal):
				j.outcome, j.reason = Pass, ReasonMet
				j.summary = fmt.Sprintf("ECG on %s coded as normal", o.Effective)
			}
			return j
		}
		procJudged := func(pr *Procedure, ev Evidence) judged {
			return judged{outcome: Review, reason: ReasonJudgement, evidence: []Evidence{ev},
				summary: fmt.Sprintf("ECG performed on %s; its interpretation is not coded", pr.Performed)}
		}

		// The newest ECG decides, observation or procedure. A procedure at the same instant
		// as an observation is taken to be the ECG that observation interprets.
		start := ec.windowStart(p.WindowDays)
		var newest *Procedure // the latest ECG procedure dated to the day within the window
		var newestEv Evidence
		var undated []*Procedure // procedures with no date or one coarser than a day
		var undatedEv []Evidence
		for i := range ec.rec.Procedures {
			pr := &ec.rec.Procedures[i]
			c, set, ok := procs.match(pr.Code)
			if !ok || notDone[pr.Status] {
				continue
			}
			ev := Evidence{Resource: pr.Ref, Code: c.Key(), Codeset: set, Date: pr.Performed.String(), Status: pr.Status}
			// A procedure with no date, or one coarser than a day, is not an ECG within the
			// window (the rule selectLatest applies to observations).
			if pr.Performed.Precision < PrecisionDay {
				if !pr.Performed.Known() || !ec.start(pr.Performed).After(ec.asOf) {
					undated, undatedEv = append(undated, pr), append(undatedEv, ev)
				}
				continue
			}
			t := ec.start(pr.Performed)
			if t.After(ec.asOf) || t.Before(start) {
				continue
			}
			if newest == nil || t.After(ec.start(newest.Performed)) {
				newest, newestEv = pr, ev
			}
		}

		var r Result
		var used time.Time
		switch {
		case len(sel.latest) > 0 && (newest == nil || !ec.start(newest.Performed).After(ec.start(sel.latest[0].Effective))):
			js := make([]judged, len(sel.latest))
			for i, o := range sel.latest {
				js[i] = judgeObs(o)
			}
			r, used = combineSameInstant(js), ec.start(sel.latest[0].Effective)
		case newest != nil:
			j := procJudged(newest, newestEv)
			r = Result{Outcome: j.outcome, Reason: j.reason, Summary: j.summary, Evidence: j.evidence}
			if len(sel.latest) > 0 {
				r.Summary += fmt.Sprintf("; %s is later than the ECG observation of %s (%s), so it decides", newest.Ref, sel.latest[0].Effective, sel.latest[0].Ref)
				for _, o := range sel.latest {
					ev := obsEvidence(o, obs)
					ev.Note = "an earlier ECG: the newest one decides"
					r.Evidence = append(r.Evidence, ev)
				}
			}
			used = ec.start(newest.Performed)
		default:
			r = sel.missing("ECG", p.WindowDays, obs)
			if len(undated) > 0 {
				ev := undatedEv[0]
				ev.Note = impreciseNote("the procedure", undated[0].Performed, p.WindowDays)
				if r.Reason == ReasonNoData && len(r.Evidence) == 0 {
					r.Summary = "no ECG dated to the day" // not "no ECG recorded": one is named below
				}
				r.Summary += "; " + ev.Resource + ": " + ev.Note
				r.Evidence = append(r.Evidence, ev)
			}
			return r
		}

		// Results too coarsely dated to count may still be later than the one used.
		var late []lateCandidate
		for _, o := range sel.undated {
			if ec.mayBeLater(o.Effective, used) {
				late = append(late, lateCandidate{ref: o.Ref, when: o.Effective, j: judgeObs(o)})
			}
		}
		for i, pr := range undated {
			if ec.mayBeLater(pr.Performed, used) {
				late = append(late, lateCandidate{ref: pr.Ref, when: pr.Performed, j: procJudged(pr, undatedEv[i])})
			}
		}
		return weighImprecise(r, p.WindowDays, late)
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
