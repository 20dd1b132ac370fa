package screening

import (
	"fmt"
	"time"
)

// washoutParams: anti-tumour therapy must have ended at least `days` before
// lymphodepletion. Without a planned lymphodepletion date the anchor is as-of, and a
// therapy that ended less than `days` ago is review (it may still wash out in time).
type washoutParams struct {
	Medications []string `yaml:"medications"`
	Procedures  []string `yaml:"procedures"`
	Days        int      `yaml:"days"`
}

type exposure struct {
	ref, status string
	code        Coding
	codeset     string
	end         When
	ongoing     bool
	began       When // when it started, named when the end is not recorded
	planned     bool // proposed or planned, not yet ordered
}

func compileWashout(cc *compileCtx) evaluator {
	var p washoutParams
	if !cc.params(&p) {
		return nil
	}
	meds := cc.codes("medications", p.Medications, true)
	procs := cc.codes("procedures", p.Procedures, false)
	cc.window("days", p.Days, true)
	cc.needMedications(meds)
	types := append([]string{}, MedicationTypes...)
	if !procs.empty() {
		cc.need(TypeProcedure, procs)
		types = append(types, TypeProcedure)
	}
	cc.rule = fmt.Sprintf("last anti-tumour therapy ended >= %d days before lymphodepletion (as-of when no date is planned)", p.Days)
	return func(ec *evalCtx) Result {
		exps := make([]exposure, 0, 8)
		for _, m := range ec.rec.Medications {
			if c, set, ok := meds.match(m.Code); ok && !notDone[m.Status] {
				end := m.End
				// A status that says the drug is still taken wins over any end recorded.
				ongoing := isOngoing(m.Status) || (end.Known() && ec.end(end).After(ec.asOf))
				if !end.Known() && !ongoing {
					end = When{} // ended, but when is not recorded
				}
				exps = append(exps, exposure{m.Ref, m.Status, c, set, end, ongoing, m.Start, m.Planned})
			}
		}
		for _, pr := range ec.rec.Procedures {
			if c, set, ok := procs.match(pr.Code); ok && !notDone[pr.Status] {
				end := pr.Performed
				if pr.EndUnknown {
					// A period with only a start: the start is not when the therapy ended.
					end = When{}
				}
				exps = append(exps, exposure{pr.Ref, pr.Status, c, set, end, pr.Status == "in-progress", pr.Performed, false})
			}
		}
		if len(exps) == 0 {
			return Result{Outcome: Pass, Reason: ReasonNotFound, Summary: "no anti-tumour therapy on record",
				Evidence: []Evidence{{Note: "searched " + searched(ec.rec, types)}}}
		}
		anchor, anchorName := ec.asOf, "as-of (no lymphodepletion date planned; re-check at conditioning)"
		if !ec.ld.IsZero() {
			anchor, anchorName = ec.ld, "planned lymphodepletion "+ec.ld.Format("2006-01-02")
		}
		cutoff := anchor.Add(-time.Duration(p.Days) * 24 * time.Hour)
		var hits []hit
		var last When
		var lastX exposure
		for _, x := range exps {
			ev := func() Evidence {
				return Evidence{Resource: x.ref, Code: x.code.Key(), Codeset: x.codeset, Date: x.end.String(), Status: x.status}
			}
			switch {
			case x.ongoing && !x.planned && !ec.ld.IsZero() && ec.ld.Before(ec.asOf.Add(time.Duration(p.Days)*24*time.Hour)):
				// Still going on at as-of, it cannot end in time for a lymphodepletion less
				// than the washout away. (A proposed or planned drug may never be given.)
				h := hit{outcome: Fail, reason: ReasonNotMet, ev: []Evidence{ev()},
					summary: fmt.Sprintf("%s is ongoing at as-of, less than %d days before %s", x.code, p.Days, anchorName)}
				hits = append(hits, h)
			case x.ongoing:
				// An ongoing therapy may still be stopped in time: review, not fail.
				hits = append(hits, hit{outcome: Review, reason: ReasonPending, ev: []Evidence{ev()},
					summary: fmt.Sprintf("%s is ongoing; it must end %d days before lymphodepletion", x.code, p.Days)})
			case !x.end.Known():
				h := hit{outcome: Review, reason: ReasonUndated, ev: []Evidence{ev()},
					summary: fmt.Sprintf("%s has no recorded end date", x.code)}
				if x.began.Known() {
					h.summary = fmt.Sprintf("%s began %s; its end is not recorded", x.code, x.began)
					h.ev[0].Note = "began " + x.began.String() + "; end not recorded"
				}
				hits = append(hits, h)
			case !ec.ld.IsZero() && straddles(ec, x.end, cutoff):
				// Ended in a month (or year) that reaches past the cutoff: it may or may not
				// have washed out by the planned lymphodepletion.
				hits = append(hits, hit{outcome: Review, reason: ReasonUndated, ev: []Evidence{ev()},
					summary: fmt.Sprintf("%s ended in %s, which may be less than %d days before %s", x.code, x.end, p.Days, anchorName)})
			case ec.end(x.end).After(cutoff): // an imprecise end ("2026-11") counts as late as it can be
				h := hit{outcome: Review, reason: ReasonPending, ev: []Evidence{ev()},
					summary: fmt.Sprintf("%s ended %s, less than %d days before %s", x.code, x.end, p.Days, anchorName)}
				if !ec.ld.IsZero() {
					h.outcome, h.reason = Fail, ReasonNotMet
				}
				hits = append(hits, h)
			default:
				// Therapies that ended in time: only the last one is evidence.
				if !last.Known() || ec.start(x.end).After(ec.start(last)) {
					last, lastX = x.end, x
				}
			}
		}
		lastEv := Evidence{Resource: lastX.ref, Code: lastX.code.Key(), Codeset: lastX.codeset, Date: last.String(), Status: lastX.status}
		if len(hits) == 0 {
			return Result{Outcome: Pass, Reason: ReasonMet, Evidence: []Evidence{lastEv},
				Summary: fmt.Sprintf("last anti-tumour therapy ended %s, at least %d days before %s", last, p.Days, anchorName)}
		}
		r := hitsResult("anti-tumour therapy", hits)
		if last.Known() {
			r.Evidence = append(r.Evidence, lastEv)
		}
		return r
	}
}
