package screening

// Outcome is one criterion's result, always read from the patient's side (see the
// screening contract): pass means "no barrier to eligibility from this criterion".
type Outcome string

const (
	Pass    Outcome = "pass"
	Fail    Outcome = "fail"
	Unknown Outcome = "unknown"
	Review  Outcome = "review"
)

// Reason says why a criterion got its outcome. The set is closed so that callers,
// dashboards and metric labels can rely on it.
type Reason string

const (
	// Reasons that go with pass or fail.
	ReasonMet           Reason = "met"            // the data satisfies the rule
	ReasonNotMet        Reason = "not-met"        // the data breaks the rule
	ReasonNotFound      Reason = "not-found"      // a full record holds no matching finding
	ReasonFound         Reason = "found"          // a matching finding decides it
	ReasonNotApplicable Reason = "not-applicable" // the criterion does not concern this patient

	// Reasons that go with unknown.
	ReasonNoData       Reason = "no-data"      // nothing usable was recorded
	ReasonStale        Reason = "stale"        // results exist but all are older than the window
	ReasonNotFinal     Reason = "not-final"    // results exist but none has a final status
	ReasonUnit         Reason = "unit"         // a unit could not be converted by its UCUM code
	ReasonConflict     Reason = "conflict"     // equally recent results disagree
	ReasonSourceError  Reason = "source-error" // the data source failed or was partial
	ReasonUnreadable   Reason = "unreadable"   // an entry that may matter could not be read
	ReasonNotRoomAir   Reason = "not-room-air" // the reading was not shown to be on room air
	ReasonUncoded      Reason = "uncoded"      // a result is not coded as positive or negative
	ReasonInconclusive Reason = "inconclusive" // a result given as a bound ("<2") that lies on both sides of the limit

	// Reasons that go with review.
	ReasonManual        Reason = "manual"         // only a person can decide this criterion
	ReasonJudgement     Reason = "judgement"      // data was found that needs clinical judgement
	ReasonMethod        Reason = "method"         // the result's method is not the one required
	ReasonFreeText      Reason = "free-text"      // the result is not a coded or numeric value
	ReasonUndated       Reason = "undated"        // a finding has no usable date for the window
	ReasonOlderPositive Reason = "older-positive" // a positive result older than the window
	ReasonPending       Reason = "pending"        // may change before treatment (e.g. washout)
	ReasonUnplaced      Reason = "unplaced-code"  // a record it reads has codes that cannot be placed
)

// severity orders outcomes for combining several findings in one criterion:
// a fail outweighs everything, then unknown, then review, then pass.
func severity(o Outcome) int {
	switch o {
	case Fail:
		return 3
	case Unknown:
		return 2
	case Review:
		return 1
	}
	return 0
}
