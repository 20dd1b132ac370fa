package screening_test

import (
	"strings"
	"testing"

	"github.com/trialscreen/trialscreen/screening"
)

// Many unreadable entries are counted in every criterion they may concern, but each
// criterion names only the first 20 of them: naming all in every criterion multiplied a
// padded Bundle's entries by the criteria count (gigabytes of evidence). The record's
// own list still names every one.
func TestUnreadableEvidenceIsBounded(t *testing.T) {
	p := exAdult()
	for range 25 {
		p.exUnreadable("")
	}
	out := loadProtocol(t).Evaluate(p.rec, screening.Settings{AsOf: asOf})
	if len(out.Data.Unreadable) != 25 {
		t.Errorf("data.unreadable lists %d entries; want all 25", len(out.Data.Unreadable))
	}
	concerned := 0
	for _, r := range out.Criteria {
		if r.Reason != screening.ReasonUnreadable {
			continue
		}
		concerned++
		if !strings.HasPrefix(r.Summary, "25 unreadable entries") {
			t.Errorf("%s: summary %q does not count all 25 entries", r.ID, r.Summary)
		}
		var notes []string
		for _, e := range r.Evidence {
			if strings.Contains(e.Note, "unreadable entr") {
				notes = append(notes, e.Note)
			}
		}
		if len(notes) != 21 || !strings.HasPrefix(notes[0], "unreadable entry 1 (") ||
			notes[20] != "and 5 more unreadable entries (the record's unreadable list names them all)" {
			t.Errorf("%s: %d unreadable notes, want the first 20 and one counting the other 5: %q", r.ID, len(notes), notes)
		}
	}
	if concerned == 0 {
		t.Fatal("no criterion is unknown for the unreadable entries")
	}
}
