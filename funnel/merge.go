package funnel

import (
	"fmt"
	"slices"
)

// Merge adds another funnel's counts, as when combining the shards of a batch run. Both
// must be for the same protocol id and version, with the same criteria. Label and
// GeneratedAt stay the receiver's.
func (f *Funnel) Merge(other *Funnel) error {
	if other.protocol.ID != f.protocol.ID || other.protocol.Version != f.protocol.Version {
		return fmt.Errorf("funnel: cannot merge a funnel for protocol %q version %q into one for %q version %q",
			other.protocol.ID, other.protocol.Version, f.protocol.ID, f.protocol.Version)
	}
	if !slices.Equal(other.ids, f.ids) {
		return fmt.Errorf("funnel: cannot merge: protocol %q version %q has different criteria in the two funnels", f.protocol.ID, f.protocol.Version)
	}
	if other == f {
		// Adding a funnel to itself would double every count while reading it.
		return fmt.Errorf("funnel: cannot merge a funnel into itself")
	}
	f.patients += other.patients
	f.blocked += other.blocked
	for i := range f.verdicts {
		f.verdicts[i] += other.verdicts[i]
	}
	for i := range f.crit {
		t, o := &f.crit[i], &other.crit[i]
		t.pass += o.pass
		t.fail += o.fail
		t.unknown += o.unknown
		t.review += o.review
		t.removed += o.removed
		for _, rc := range o.unknownReasons {
			t.unknownReasons = addReason(t.unknownReasons, rc.Reason, rc.Count)
		}
	}
	for i := range f.listed {
		f.listed[i].merge(&other.listed[i])
	}
	f.asOf.merge(other.asOf)
	for reason, n := range other.skipped {
		f.skipped[reason] += n
	}
	return nil
}
