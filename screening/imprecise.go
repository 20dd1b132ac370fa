package screening

import (
	"fmt"
	"time"
)

// A result dated only to the month or year (or not at all) never counts in a window of
// days, but it may be later than the day-dated result chosen as the latest. Outranking it
// silently could pass a patient on an older result: when it would decide differently the
// criterion is unknown/conflict; when it would decide the same, it is named.

// lateCandidate is a result, with too coarse a date, that may be later than the one used.
type lateCandidate struct {
	ref  string
	when When
	j    judged // how it would decide on its own
}

// mayBeLater reports whether a result dated w may fall after the instant used: no date
// at all may mean any time; a month or year may reach past it.
func (ec *evalCtx) mayBeLater(w When, used time.Time) bool {
	if !w.Known() {
		return true
	}
	return !ec.start(w).After(ec.asOf) && ec.end(w).After(used)
}

// laterImprecise judges the selection's imprecisely dated results that may be later than
// its latest instant.
func (ec *evalCtx) laterImprecise(sel selection, judge func(o *Observation) judged) []lateCandidate {
	if len(sel.latest) == 0 {
		return nil
	}
	used := ec.start(sel.latest[0].Effective)
	var out []lateCandidate
	for _, o := range sel.undated {
		if ec.mayBeLater(o.Effective, used) {
			out = append(out, lateCandidate{ref: o.Ref, when: o.Effective, j: judge(o)})
		}
	}
	return out
}

// weighImprecise applies the rule above to a result decided on the latest day-dated data.
func weighImprecise(r Result, days int, cands []lateCandidate) Result {
	decided := r.Outcome
	for _, c := range cands {
		dated := "dated only " + c.when.String()
		if !c.when.Known() {
			dated = "with no date"
		}
		same := c.j.outcome == decided
		for i, e := range c.j.evidence {
			if i == 0 {
				verb := "would decide differently"
				if same {
					verb = "would decide the same"
				}
				e.Note = addNote(e.Note, fmt.Sprintf("%s (less than a day's precision): it cannot be placed in the %d-day window, but it may be later than the result used, and it %s", dated, days, verb))
			}
			r.Evidence = append(r.Evidence, e)
		}
		if same || r.Outcome == Unknown && r.Reason == ReasonConflict {
			continue // a second conflict adds only its evidence
		}
		r.Summary = fmt.Sprintf("%s, %s, may be the latest result and decides differently (%s) from the latest dated to the day (%s)", c.ref, dated, c.j.summary, r.Summary)
		r.Outcome, r.Reason = Unknown, ReasonConflict
	}
	return r
}

// addNote adds a sentence to an evidence note.
func addNote(note, more string) string {
	if note == "" {
		return more
	}
	return note + "; " + more
}
