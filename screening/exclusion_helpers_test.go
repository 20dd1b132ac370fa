package screening_test

import (
	"strings"
	"testing"

	"github.com/trialscreen/trialscreen/screening"
)

// Builder additions for the exclusion criteria tests. Every name starts with "ex" so that
// it cannot collide with helpers other test files add to this package.

// exAdult is a plain adult patient with nothing recorded.
func exAdult() *patient { return newPatient("male", "1960-05-01") }

// exWoman is a plain adult woman with nothing recorded.
func exWoman() *patient { return newPatient("female", "1985-03-15") }

// exYearsAgo is a dateTime n calendar years before asOf.
func exYearsAgo(n int) screening.When {
	return screening.When{Time: asOf.AddDate(-n, 0, 0), Precision: screening.PrecisionTime}
}

// exCond adds a condition with the given clinical and verification statuses and onset.
func (p *patient) exCond(c, clinical, verification string, onset screening.When) *patient {
	return p.cond(screening.Condition{Code: codes(c), Clinical: clinical, Verification: verification, Onset: onset})
}

// exUndated adds an active, confirmed condition with neither onset nor recorded date.
func (p *patient) exUndated(c string) *patient {
	return p.cond(screening.Condition{Code: codes(c), Clinical: "active", Verification: "confirmed"})
}

// exCured adds a resolved, confirmed condition; a known abatement date also marks it abated.
func (p *patient) exCured(c string, onset, abatement screening.When) *patient {
	return p.cond(screening.Condition{Code: codes(c), Clinical: "resolved", Verification: "confirmed",
		Onset: onset, Abated: abatement.Known(), Abatement: abatement})
}

// exAbatedOnly adds a condition with no clinicalStatus that carries an abatement without
// a usable date (e.g. abatementString "cured").
func (p *patient) exAbatedOnly(c string, onset screening.When) *patient {
	return p.cond(screening.Condition{Code: codes(c), Verification: "confirmed", Onset: onset, Abated: true})
}

// exBackAfter adds a condition that abated on the given date and has come back: its
// clinicalStatus (recurrence or relapse) says it is current again.
func (p *patient) exBackAfter(c, clinical string, onset, abatement screening.When) *patient {
	return p.cond(screening.Condition{Code: codes(c), Clinical: clinical, Verification: "confirmed",
		Onset: onset, Abated: true, Abatement: abatement})
}

// exProc adds a procedure with a status.
func (p *patient) exProc(c, status string, performed screening.When) *patient {
	p.rec.Procedures = append(p.rec.Procedures, screening.Procedure{Ref: p.ref("Procedure"), Code: codes(c), Status: status, Performed: performed})
	return p
}

// exMedRequest adds a MedicationRequest (the builder's med adds MedicationStatements).
func (p *patient) exMedRequest(c, status string, start, end screening.When) *patient {
	p.rec.Medications = append(p.rec.Medications, screening.MedicationUse{Ref: p.ref("MedicationRequest"), Code: codes(c), Status: status, Start: start, End: end})
	return p
}

// exInterpreted adds a final observation whose result is given only as an interpretation.
func (p *patient) exInterpreted(c, interpretation string, when screening.When) *patient {
	return p.obs(screening.Observation{Status: "final", Code: codes(c), Effective: when, Interpretation: codes(interpretation)})
}

// exSource sets how completely a resource type (or "Type#criterion") was obtained.
func (p *patient) exSource(key string, state screening.FetchState) *patient {
	p.rec.Sources[key] = screening.SourceStatus{State: state, Detail: "test: " + string(state)}
	return p
}

// exNotFetched removes a resource type from the record's sources, as if never asked for.
func (p *patient) exNotFetched(t string) *patient {
	delete(p.rec.Sources, t)
	return p
}

// exUnreadable records an input entry that could not be read; codes are "system|code".
func (p *patient) exUnreadable(resourceType string, codes ...string) *patient {
	p.rec.Unreadable = append(p.rec.Unreadable, screening.UnreadableEntry{
		Index: len(p.rec.Unreadable) + 1, ResourceType: resourceType, Codes: codes, Problem: "test: unreadable"})
	return p
}

// exFullURL turns the builder's shorthand into the "system|code" form evidence uses.
func exFullURL(s string) string { return code(s).Key() }

// exEvidenceText is everything an evidence entry says, for substring checks.
func exEvidenceText(e screening.Evidence) string {
	return strings.Join([]string{e.Resource, e.Role, e.Code, e.Codeset, e.Date, e.Status, e.ValueCode, e.Text, e.Note}, " ")
}

// exCheck screens one patient at asOf, checks outcome and reason, and checks that each
// wanted text appears in some evidence entry. It returns the result for further checks.
func exCheck(t *testing.T, id string, p *patient, outcome screening.Outcome, reason screening.Reason, evidence ...string) screening.Result {
	t.Helper()
	r := screen(t, loadProtocol(t), p.rec, id)
	if r.Outcome != outcome || r.Reason != reason {
		t.Errorf("%s: got %s/%s (%s), want %s/%s", id, r.Outcome, r.Reason, r.Summary, outcome, reason)
	}
	for _, want := range evidence {
		found := false
		for _, e := range r.Evidence {
			if strings.Contains(exEvidenceText(e), want) {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("%s: no evidence mentions %q; evidence: %+v", id, want, r.Evidence)
		}
	}
	return r
}
