package screening

// Changes is what differs between two screenings of one patient, earlier and later: the
// verdict, and each criterion whose outcome changed, with the later screening's reason
// and summary (why it is what it is now).
type Changes struct {
	VerdictFrom, VerdictTo Verdict
	Criteria               []CriterionChange
	// Updated are criteria whose outcome is the same but whose deciding resource is now
	// another version of itself: the record was changed in place (an amended result), and
	// a person may want to look although the outcome held.
	Updated []EvidenceUpdate
}

// EvidenceUpdate is one criterion with an unchanged outcome whose evidence names a
// resource that both screenings read, in different versions.
type EvidenceUpdate struct {
	ID       string
	Text     string
	Outcome  Outcome
	Resource string          // "Observation/123"
	From, To ResourceVersion // as each screening's evidence gave them
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
// the same is not listed there, even when its evidence or reason moved (the report's
// table shows the current detail), but goes to Updated when a resource that decided it
// in both is another version now.
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
			if u, moved := versionMoved(was.Evidence, c.Evidence); moved {
				u.ID, u.Text, u.Outcome = c.ID, c.Text, c.Outcome
				ch.Updated = append(ch.Updated, u)
			}
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

// versionMoved finds the first resource named in both evidence lists whose version
// differs: by meta.versionId when both give one, else by meta.lastUpdated when both give
// that. A resource given no version on either side tells nothing (most records carry no
// meta), so it never counts as changed.
func versionMoved(earlier, later []Evidence) (EvidenceUpdate, bool) {
	for _, l := range later {
		if l.Resource == "" || (l.VersionID == "" && l.LastUpdated == "") {
			continue
		}
		for _, e := range earlier {
			if e.Resource != l.Resource {
				continue
			}
			differs := false
			switch {
			case e.VersionID != "" && l.VersionID != "":
				differs = e.VersionID != l.VersionID
			case e.LastUpdated != "" && l.LastUpdated != "":
				differs = e.LastUpdated != l.LastUpdated
			}
			if differs {
				return EvidenceUpdate{Resource: l.Resource,
					From: ResourceVersion{VersionID: e.VersionID, LastUpdated: e.LastUpdated},
					To:   ResourceVersion{VersionID: l.VersionID, LastUpdated: l.LastUpdated}}, true
			}
			break
		}
	}
	return EvidenceUpdate{}, false
}
