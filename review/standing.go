package review

import (
	"fmt"
	"strings"
	"time"

	"github.com/trialscreen/trialscreen/screening"
	"github.com/trialscreen/trialscreen/store"
)

// Item is where one review item of a screening stands.
type Item struct {
	Criterion string `json:"criterion"`
	// Decision is the current decision; "" while the item is open.
	Decision string `json:"decision,omitempty"`
	// ToRecheck: the evidence the decision judged is not this screening's evidence for
	// the criterion (other resources, or other versions of them).
	ToRecheck   bool       `json:"to_recheck,omitempty"`
	DecidedBy   string     `json:"decided_by,omitempty"`      // the caller's id
	DecidedUser string     `json:"decided_by_user,omitempty"` // the user on whose behalf, when known
	DecidedAt   *time.Time `json:"decided_at,omitempty"`
	DecidedOn   string     `json:"decided_on_screening,omitempty"` // the screening the decision was made on
}

// Standing is where a screening's review stands. The computed verdict is the
// screening's own and is never changed by it; NotEligible says only that a person
// decided a review item is not met.
type Standing struct {
	Items         []Item `json:"items"`
	Met           int    `json:"met"`
	NotMet        int    `json:"not_met"`
	NotApplicable int    `json:"not_applicable"`
	Open          int    `json:"open"`
	ToRecheck     int    `json:"to_recheck"`
	NotEligible   bool   `json:"not_eligible_by_review"`
	Summary       string `json:"summary"`
}

// Compute gives where the review of a screening (doc, with the evidence versions its
// stored row kept) stands with the patient's current decisions. Decisions on criteria
// that are not review items of this screening do not count: the data now decides them.
//
// A "met" or "not applicable" whose evidence changed is to re-check and counts as
// neither: it cannot make the patient look further along than a person has judged. A
// "not met" stays not met until it is re-decided, changed evidence or not: a person
// found the patient not eligible.
func Compute(doc *screening.Screening, versions []store.EvidenceRef, decisions []store.Decision) Standing {
	current := make(map[string]store.Decision, len(decisions))
	for _, d := range decisions {
		if prev, ok := current[d.Criterion]; !ok || d.Seq > prev.Seq {
			current[d.Criterion] = d
		}
	}
	st := Standing{Items: make([]Item, 0, len(doc.ReviewItems))}
	var notMet []string
	for _, ri := range doc.ReviewItems {
		it := Item{Criterion: ri.Criterion}
		d, ok := current[ri.Criterion]
		if !ok {
			st.Open++
			st.Items = append(st.Items, it)
			continue
		}
		at := d.DecidedAt
		it.Decision, it.DecidedBy, it.DecidedUser, it.DecidedAt, it.DecidedOn = d.Decision, d.CallerID, d.CallerUser, &at, d.ScreeningID
		it.ToRecheck = d.ScreeningID != doc.ScreeningID && !sameEvidence(d.Evidence, CriterionEvidence(doc, versions, ri.Criterion))
		switch {
		case d.Decision == NotMet:
			st.NotMet++
			notMet = append(notMet, ri.Criterion)
		case it.ToRecheck:
			// counted below, as to re-check only
		case d.Decision == Met:
			st.Met++
		case d.Decision == NotApplicable:
			st.NotApplicable++
		default:
			// A value outside the set (a store written by a later version) is no decision.
			st.Open++
		}
		if it.ToRecheck {
			st.ToRecheck++
		}
		st.Items = append(st.Items, it)
	}
	st.NotEligible = len(notMet) > 0
	st.Summary = summary(doc.Verdict, st, notMet)
	return st
}

// summary is the standing in one line, beside the computed verdict: for a potentially
// eligible patient "potentially eligible: 9 of 11 review items met, 2 open".
func summary(verdict screening.Verdict, st Standing, notMet []string) string {
	total := len(st.Items)
	var parts []string
	add := func(n int, words string) {
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, words))
		}
	}
	if st.NotEligible {
		return fmt.Sprintf("not eligible by review: %s not met (computed verdict: %s)", strings.Join(notMet, ", "), verdict)
	}
	switch {
	case total == 0:
		return fmt.Sprintf("%s: no review items", verdictWords(verdict))
	case verdict == screening.PotentiallyEligible:
		parts = append(parts, fmt.Sprintf("%d of %d review items met", st.Met, total))
	default:
		decided := st.Met + st.NotApplicable
		parts = append(parts, fmt.Sprintf("%d of %d review items decided", decided, total))
	}
	if verdict == screening.PotentiallyEligible {
		add(st.NotApplicable, "not applicable")
	}
	add(st.ToRecheck, "to re-check")
	add(st.Open, "open")
	return verdictWords(verdict) + ": " + strings.Join(parts, ", ")
}

// verdictWords is a verdict as the summary line says it.
func verdictWords(v screening.Verdict) string {
	switch v {
	case screening.PotentiallyEligible:
		return "potentially eligible"
	case screening.InsufficientData:
		return "insufficient data"
	case screening.Ineligible:
		return "ineligible"
	}
	return string(v)
}
