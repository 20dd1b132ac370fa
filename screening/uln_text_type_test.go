package screening_test

import (
	"testing"

	"github.com/trialscreen/trialscreen/screening"
)

// A reference range whose type is given only as text (no coding) may be a therapeutic
// range rather than the normal one: it only may give the ULN. It is tried beside what
// would apply without it (another range, or the default ULN), and the criterion is
// decided only when they agree.
func TestULNRangeTypedInTextOnlyMayApply(t *testing.T) {
	const alt = "loinc|1742-6"
	man := func() *patient { return newPatient("male", "1958-03-03") }
	textTyped := func(high float64) screening.RefRange {
		return screening.RefRange{High: *qty(high, "U/L"), TypeText: true}
	}
	normal := screening.RefRange{High: *qty(120, "U/L"), Type: []screening.Coding{{System: "http://terminology.hl7.org/CodeSystem/referencerange-meaning", Code: "normal"}}}
	runR3(t, "alt", []r3Case{
		// Default ULN 40 (limit 100); the text-typed range 120 would give 300.
		{name: "text-typed range alone, 150 passes under it but fails under the default: conflict",
			patient: man().labRanges(alt, 150, "U/L", daysAgo(1), textTyped(120)),
			outcome: screening.Unknown, reason: screening.ReasonConflict},
		{name: "text-typed range alone, 50 passes under both", patient: man().labRanges(alt, 50, "U/L", daysAgo(1), textTyped(120)),
			outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "text-typed range beside a normal one that disagrees: conflict",
			patient: man().labRanges(alt, 150, "U/L", daysAgo(1), normal, textTyped(30)),
			outcome: screening.Unknown, reason: screening.ReasonConflict},
		{name: "a range coded normal gives the ULN (limit 300): 150 passes",
			patient: man().labRanges(alt, 150, "U/L", daysAgo(1), normal),
			outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "a range with no type at all is the normal one: 150 passes",
			patient: man().labRanges(alt, 150, "U/L", daysAgo(1), screening.RefRange{High: *qty(120, "U/L")}),
			outcome: screening.Pass, reason: screening.ReasonMet},
	})
}
