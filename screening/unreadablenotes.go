package screening

import "fmt"

// maxUnreadableNotes is how many unreadable entries one criterion's evidence names; the
// others are counted in one more note. The record's data.unreadable lists every one.
// Naming each in every criterion would cost the number of criteria times the entries:
// a Bundle of a hundred thousand one-line unreadable entries made gigabytes of evidence.
const maxUnreadableNotes = 20

// unreadableEvidence counts the entries that match selects, and names the first
// maxUnreadableNotes of them in evidence notes (typeName words an entry's type).
func unreadableEvidence(entries []UnreadableEntry, match func(UnreadableEntry) bool, typeName func(string) string) (n int, notes []Evidence) {
	for _, u := range entries {
		if !match(u) {
			continue
		}
		if n++; n <= maxUnreadableNotes {
			notes = append(notes, Evidence{Note: fmt.Sprintf("unreadable entry %d (%s): %s", u.Index, typeName(u.ResourceType), u.Problem)})
		}
	}
	if more := n - maxUnreadableNotes; more > 0 {
		notes = append(notes, Evidence{Note: fmt.Sprintf("and %d more unreadable entr%s (the record's unreadable list names them all)", more, plural(more, "y", "ies"))})
	}
	return n, notes
}
