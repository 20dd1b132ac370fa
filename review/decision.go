// Package review works out where a patient's review stands: the coordinator's decisions
// on the review items of a screening (the criteria only a person can decide), read
// beside the computed verdict, which they never change.
package review

// The decisions a person can make on a review item.
const (
	Met           = "met"
	NotMet        = "not-met"
	NotApplicable = "not-applicable"
)

// Decisions is the closed set, in the order forms offer it.
var Decisions = []string{Met, NotMet, NotApplicable}

// ValidDecision reports whether d is one of Decisions.
func ValidDecision(d string) bool {
	for _, v := range Decisions {
		if d == v {
			return true
		}
	}
	return false
}
