package screening

// Changes is what differs between two screenings of one patient, earlier and later: the
// verdict, and each criterion whose outcome changed, with the later screening's reason
// and summary (why it is what it is now).
type Changes struct {
	VerdictFrom, VerdictTo Verdict
	Criteria               []CriterionChange
}

// CriterionChange is one criterion whose outcome changed. From is "" for a criterion the
// earlier screening did not have (another protocol version), To "" for one the later
// screening no longer has.
type CriterionChange struct {
	ID       string
	Text     string
	From, To Outcome
	Reason   Reason // the later screening's; "" when To is ""
	Summary  string // the later screening's; "" when To is ""
}

// Compare gives what changed from earlier to later: criteria in the later screening's
// order, then those only the earlier one had, in its order. A criterion whose outcome is
// the same is not listed, even when its evidence or reason moved: the report's table
// shows the current detail.
func Compare(earlier, later *Screening) Changes {
	ch := Changes{VerdictFrom: earlier.Verdict, VerdictTo: later.Verdict}
	before := make(map[string]Result, len(earlier.Criteria))
	for _, c := range earlier.Criteria {
		before[c.ID] = c
	}
	seen := make(map[string]bool, len(later.Criteria))
	for _, c := range later.Criteria {
		seen[c.ID] = true
		was, ok := before[c.ID]
		if ok && was.Outcome == c.Outcome {
			continue
		}
		ch.Criteria = append(ch.Criteria, CriterionChange{ID: c.ID, Text: c.Text, From: was.Outcome, To: c.Outcome,
			Reason: c.Reason, Summary: c.Summary})
	}
	for _, c := range earlier.Criteria {
		if !seen[c.ID] {
			ch.Criteria = append(ch.Criteria, CriterionChange{ID: c.ID, Text: c.Text, From: c.Outcome})
		}
	}
	return ch
}
