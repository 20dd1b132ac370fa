package screening

import (
	"fmt"
	"slices"
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
			case isNormalECG(o, normal) && normalOnlyUnverified(o, normal):
				// A guessed code must not let a patient pass: a person confirms it.
				c := normalCoding(o, normal)
				j.summary = fmt.Sprintf("ECG on %s is coded normal only by %s, an unverified code: confirm it before it passes", o.Effective, c)
				j.evidence[0].Note = addNote(j.evidence[0].Note, fmt.Sprintf("%s is listed in the protocol only as unverified (source U), so it cannot pass on its own", c))
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

		// The newest ECG decides, observation or procedure (see sameECG and mayFollow for
		// how a procedure and the newest observation are told apart and ordered).
		start := ec.windowStart(p.WindowDays)
		var dated []ecgProcedure // ECG procedures dated to the day or better within the window
		var undated []*Procedure // procedures with no date or one coarser than a day
		var undatedEv []Evidence
		for i := range ec.rec.Procedures {
			pr := &ec.rec.Procedures[i]
			c, set, ok := procs.match(pr.Code)
			if !ok || notDone[pr.Status] {
				continue
			}
			ev := Evidence{Resource: pr.Ref, Code: c.Key(), Codeset: set, Date: pr.Performed.String(), Status: pr.Status, Display: pr.Display}
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
			from, to := ec.procedureSpan(pr)
			dated = append(dated, ecgProcedure{pr: pr, ev: ev, from: from, to: to})
		}

		// The procedure that decides: the one ending last among those that are not the
		// observation's own ECG and may be later than it.
		var newest *ecgProcedure
		var same []Evidence // procedures taken to be the newest observation's own ECG
		for i := range dated {
			d := &dated[i]
			if len(sel.latest) > 0 {
				o := sel.latest[0]
				if ec.sameECG(d.pr, o.Effective) {
					ev := d.ev
					ev.Note = fmt.Sprintf("taken to be the ECG that %s interprets: its performed time is within %s of the observation's", o.Ref, ecgMargin)
					same = append(same, ev)
					continue
				}
				if !ec.mayFollow(d, o.Effective) {
					continue
				}
			}
			if newest == nil || d.to.After(newest.to) {
				newest = d
			}
		}

		var r Result
		var used time.Time
		switch {
		case len(sel.latest) > 0 && newest == nil:
			js := make([]judged, len(sel.latest))
			for i, o := range sel.latest {
				js[i] = judgeObs(o)
			}
			r, used = combineSameInstant(js), ec.start(sel.latest[0].Effective)
			r.Evidence = append(r.Evidence, same...)
		case newest != nil:
			j := procJudged(newest.pr, newest.ev)
			r = Result{Outcome: j.outcome, Reason: j.reason, Summary: j.summary, Evidence: j.evidence}
			if len(sel.latest) > 0 {
				r.Summary += fmt.Sprintf("; %s may be later than the ECG observation of %s (%s) and is not shown to be the same ECG, so it decides", newest.pr.Ref, sel.latest[0].Effective, sel.latest[0].Ref)
				for _, o := range sel.latest {
					ev := obsEvidence(o, obs)
					ev.Note = "an ECG that may be earlier than the procedure: the newest one decides"
					r.Evidence = append(r.Evidence, ev)
				}
				r.Evidence = append(r.Evidence, same...)
			}
			used = ec.start(newest.pr.Performed)
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

// normalOnlyUnverified reports whether every normal coding of the observation (value and
// interpretation) is listed only under source U: the pass would rest on guessed codes.
func normalOnlyUnverified(o *Observation, normal *codeMatcher) bool {
	return normal.allUnverified(slices.Concat(o.ValueCode, o.Interpretation), Coding{})
}

// normalCoding is the first normal coding of the observation, for evidence.
func normalCoding(o *Observation, normal *codeMatcher) Coding {
	c, _, _ := normal.match(slices.Concat(o.ValueCode, o.Interpretation))
	return c
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

// ecgMargin is how far apart an ECG procedure's performed time and an ECG observation's
// effective time may be while still being one ECG: the tracing is recorded and its
// interpretation entered minutes apart.
const ecgMargin = time.Hour

// ecgProcedure is an ECG procedure dated within the window, with the span it may cover.
type ecgProcedure struct {
	pr       *Procedure
	ev       Evidence
	from, to time.Time // earliest and last instant it may cover (to is exclusive for a day)
}

// The rule for an ECG procedure beside the newest ECG observation, the same whichever of
// the two carries only a day:
//
//   - It is the observation's own ECG (the observation decides) only when both carry a
//     time and the observation's time lies within the procedure's performed span (start to
//     end; a single time for a performedDateTime or a period with one end), widened by
//     ecgMargin on each side. A record dated only to a day may be any time that day, so it
//     cannot be shown to be the other's ECG: two ECGs may have been taken that day.
//   - Otherwise it is another ECG, and it decides (an uninterpreted procedure is review)
//     when it may be later: its span ends after the first instant the observation may mean.
//     A procedure at 14:00 beside an observation dated only to that day may be later; so
//     may a procedure dated only to the day beside an observation at 23:00. A procedure
//     that ends no later than the observation's earliest instant is older and does not.

// procedureSpan is the first and last instant an ECG procedure may have covered. A period
// with only one end is read as that end alone: an ECG lasts minutes.
func (ec *evalCtx) procedureSpan(pr *Procedure) (time.Time, time.Time) {
	from, to := ec.span(pr.Performed)
	if pr.PerformedStart.Known() && !pr.StartUnknown && !pr.EndUnknown {
		from, _ = ec.span(pr.PerformedStart)
	}
	return from, to
}

// sameECG reports whether a procedure is the ECG an observation at the given time
// interprets (the rule above).
func (ec *evalCtx) sameECG(pr *Procedure, at When) bool {
	if at.Precision != PrecisionTime || pr.Performed.Precision != PrecisionTime {
		return false
	}
	if pr.PerformedStart.Known() && !pr.StartUnknown && !pr.EndUnknown && pr.PerformedStart.Precision != PrecisionTime {
		return false
	}
	from, to := ec.procedureSpan(pr)
	return !at.Time.Before(from.Add(-ecgMargin)) && !at.Time.After(to.Add(ecgMargin))
}

// mayFollow reports whether a procedure that is not the observation's own ECG may be
// later than it (the rule above).
func (ec *evalCtx) mayFollow(d *ecgProcedure, at When) bool {
	obsFrom, _ := ec.span(at)
	return d.to.After(obsFrom)
}
