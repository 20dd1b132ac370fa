package api

import (
	"fmt"
	"strings"
	"unicode"
)

// Free text a person types for other people (a review decision's note, a clinician's
// override comment) is shown on reports, in the decision history and on printed pages.
// HTML is escaped where it is shown; what escaping cannot neutralise is refused here,
// once for every such field:
//   - control characters other than tab and line breaks: invisible on a page, and a
//     terminal that prints an export obeys escape sequences (ESC [ ...);
//   - the bidirectional embedding, override and isolate characters: they reorder the
//     text displayed after them, so "not met" can be made to read as something else
//     (the "Trojan Source" trick).

// freeTextProblem says what is wrong with v as free text, or "" when nothing is.
func freeTextProblem(v string) string {
	i := strings.IndexFunc(v, func(r rune) bool {
		return (unicode.IsControl(r) && r != '\t' && r != '\n' && r != '\r') || isBidiControl(r)
	})
	if i < 0 {
		return ""
	}
	r := []rune(v[i:])[0]
	return fmt.Sprintf("contains the control character U+%04X (only text, tabs and line breaks are kept)", r)
}

// isBidiControl is one of the explicit directional formatting characters (Unicode
// UAX #9): LRE, RLE, PDF, LRO, RLO, LRI, RLI, FSI, PDI.
func isBidiControl(r rune) bool {
	return (r >= '\u202A' && r <= '\u202E') || (r >= '\u2066' && r <= '\u2069')
}
