package screening

import (
	"fmt"
	"math"
	"strconv"
	"time"
)

// selection is what selectLatest found for one criterion's observations.
type selection struct {
	latest []*Observation // every qualifying result at the latest instant in the window
	reason Reason         // why there is none: no-data, not-final or stale
	older  *Observation   // the most recent qualifying result before the window
	other  *Observation   // a result that did not count (e.g. preliminary), for evidence
	// imprecise is a result with a counting status whose date is missing or coarser than
	// a day: it never counts in a window of days, but a "no data" answer names it.
	imprecise *Observation
	// undated is every such result (not dated after as-of): one may still be the latest
	// result in the window, so it may not be silently outranked (see weighImprecise).
	undated []*Observation
}

// windowStart is as-of minus N x 24 h: the contract's window is [as-of - N x 24 h, as-of].
func (ec *evalCtx) windowStart(days int) time.Time {
	return ec.asOf.Add(-time.Duration(days) * 24 * time.Hour)
}

// selectLatest picks the most recent qualifying result within the window: status counts,
// the date is known and not after as-of. Results dated after as-of are ignored.
func (ec *evalCtx) selectLatest(m *codeMatcher, days int) selection {
	var sel selection
	start := ec.windowStart(days)
	var best time.Time
	matched, final := false, false
	ec.eachObservation(m, func(o *Observation) {
		matched = true
		if !ec.statuses.observation[o.Status] {
			sel.other = o
			return
		}
		// A result dated only to the month or year cannot be placed in a window of days.
		if o.Effective.Precision < PrecisionDay {
			if !o.Effective.Known() || !ec.start(o.Effective).After(ec.asOf) {
				sel.imprecise = o
				sel.undated = append(sel.undated, o)
			}
			return
		}
		if ec.start(o.Effective).After(ec.asOf) {
			return
		}
		final = true
		t := ec.start(o.Effective)
		if t.Before(start) {
			if sel.older == nil || t.After(ec.start(sel.older.Effective)) {
				sel.older = o
			}
			return
		}
		switch {
		case len(sel.latest) == 0 || t.After(best):
			best = t
			sel.latest = append(sel.latest[:0], o)
		case t.Equal(best):
			sel.latest = append(sel.latest, o)
		}
	})
	switch {
	case len(sel.latest) > 0:
	case sel.older != nil:
		sel.reason = ReasonStale
	case matched && !final && sel.other != nil:
		sel.reason = ReasonNotFinal
	default:
		sel.reason = ReasonNoData
	}
	return sel
}

// missing turns an empty selection into an unknown result with evidence of what was seen.
func (sel selection) missing(label string, days int, m *codeMatcher) Result {
	r := Result{Outcome: Unknown, Reason: sel.reason}
	switch sel.reason {
	case ReasonStale:
		r.Summary = fmt.Sprintf("no %s within %d days; the latest is from %s", label, days, sel.older.Effective)
		r.Evidence = []Evidence{obsEvidence(sel.older, m)}
	case ReasonNotFinal:
		r.Summary = fmt.Sprintf("no %s with a final status; found one with status %q", label, sel.other.Status)
		r.Evidence = []Evidence{obsEvidence(sel.other, m)}
	default:
		r.Summary = fmt.Sprintf("no %s recorded", label)
		if o := sel.imprecise; o != nil {
			r.Summary = fmt.Sprintf("no %s dated to the day; %s", label, impreciseNote(o.Ref, o.Effective, days))
			r.Evidence = []Evidence{obsEvidence(o, m)}
			r.Evidence[0].Note = impreciseNote("it", o.Effective, days)
		}
	}
	return r
}

// impreciseNote says why a record with no date, or one coarser than a day, was not used.
func impreciseNote(what string, w When, days int) string {
	if !w.Known() {
		return fmt.Sprintf("%s has no date, so it cannot be placed in the %d-day window and was not used", what, days)
	}
	return fmt.Sprintf("%s is dated only %s (less than a day's precision), so it cannot be placed in the %d-day window and was not used", what, w, days)
}

// obsEvidence describes an observation, naming the code that matched.
func obsEvidence(o *Observation, m *codeMatcher) Evidence {
	e := Evidence{Resource: o.Ref, Date: o.Effective.String(), Status: o.Status}
	if c, set, ok := m.match(o.Code); ok {
		e.Code, e.Codeset = c.Key(), set
	}
	if o.Value != nil {
		e.OriginalValue = ptr(o.Value.Value)
		e.OriginalUnit = unitLabel(o.Value)
	}
	if len(o.ValueCode) > 0 {
		e.ValueCode = o.ValueCode[0].Key()
	}
	if o.ValueText != "" {
		e.Text = o.ValueText
	}
	e.Display, e.ValueDisplay = o.CodeDisplay, o.ValueDisplay
	return e
}

// unitLabel is the UCUM code, or the display text marked as such when there is no code.
func unitLabel(q *Quantity) string {
	if q.Code != "" {
		return q.Code
	}
	if q.Unit != "" {
		return q.Unit + " (display text only)"
	}
	return ""
}

func ptr[T any](v T) *T { return &v }

// num formats a number for summaries: at most four decimals, no trailing zeros.
func num(v float64) string {
	return strconv.FormatFloat(math.Round(v*1e4)/1e4, 'f', -1, 64)
}

// compare applies a comparison operator.
func compare(v float64, op string, limit float64) bool {
	switch op {
	case ">=":
		return v >= limit
	case ">":
		return v > limit
	case "<=":
		return v <= limit
	case "<":
		return v < limit
	}
	return false
}

// judged is one result's outcome before results at the same instant are combined.
type judged struct {
	outcome  Outcome
	reason   Reason
	summary  string
	evidence []Evidence
}

// combineSameInstant merges the judgements of results taken at the same latest instant:
// when they lead to different outcomes the criterion is unknown with reason conflict.
func combineSameInstant(js []judged) Result {
	first := js[0]
	r := Result{Outcome: first.outcome, Reason: first.reason, Summary: first.summary}
	for _, j := range js {
		r.Evidence = append(r.Evidence, j.evidence...)
	}
	for _, j := range js[1:] {
		if j.outcome != first.outcome {
			r.Outcome, r.Reason = Unknown, ReasonConflict
			r.Summary = fmt.Sprintf("%d results at the same latest time disagree (%s vs %s)", len(js), first.summary, j.summary)
			break
		}
	}
	return r
}
