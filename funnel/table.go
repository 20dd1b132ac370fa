package funnel

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// tableWidth is the terminal width the table keeps within.
const tableWidth = 100

// topReasons is how many unknown reasons the table and the page show per criterion.
const topReasons = 3

// WriteTable writes the funnel as a plain-text table, aligned and within 100 columns.
// Protocol text is stripped of control characters so that a protocol file cannot drive
// the terminal.
func (f *Funnel) WriteTable(w io.Writer) error {
	r := f.Report()
	var b strings.Builder
	fmt.Fprintf(&b, "Funnel: %s version %s\n", clean(r.Protocol.ID), clean(r.Protocol.Version))
	if r.Protocol.Title != "" {
		fmt.Fprintf(&b, "%s\n", clip(clean(r.Protocol.Title), tableWidth))
	}
	if r.Label != "" {
		fmt.Fprintf(&b, "Label: %s\n", clip(clean(r.Label), tableWidth-7))
	}
	if r.GeneratedAt != "" {
		fmt.Fprintf(&b, "Generated at: %s\n", r.GeneratedAt)
	}
	n := len(strconv.Itoa(r.Patients))
	fmt.Fprintf(&b, "\nPatients screened       %*d\n", n, r.Patients)
	fmt.Fprintf(&b, "  ineligible            %*d\n", n, r.Verdicts.Ineligible)
	fmt.Fprintf(&b, "  insufficient data     %*d\n", n, r.Verdicts.InsufficientData)
	fmt.Fprintf(&b, "  potentially eligible  %*d\n", n, r.Verdicts.PotentiallyEligible)
	if len(r.Skipped) > 0 {
		fmt.Fprintf(&b, "Documents not counted: %s\n", joinReasons(r.Skipped, len(r.Skipped)))
	}
	b.WriteString("\n")
	writeCriteriaTable(&b, r)
	fmt.Fprintf(&b, "\nRemaining with no fail: %d, of whom blocked by unknowns (insufficient data): %d\n",
		r.Attrition.Remaining, r.Attrition.BlockedByUnknown)
	writeReasons(&b, r)
	_, err := io.WriteString(w, b.String())
	if err != nil {
		return fmt.Errorf("funnel: writing table: %w", err)
	}
	return nil
}

// writeCriteriaTable writes one row per criterion: its outcomes, then the attrition.
func writeCriteriaTable(b *strings.Builder, r Report) {
	head := []string{"Pass", "Fail", "Unknown", "Review", "Before", "Removed", "After"}
	rows := make([][]string, len(r.Criteria))
	for i, c := range r.Criteria {
		s := r.Attrition.Steps[i]
		rows[i] = []string{itoa(c.Pass), itoa(c.Fail), itoa(c.Unknown), itoa(c.Review), itoa(s.Before), itoa(s.Removed), itoa(s.After)}
	}
	numW := make([]int, len(head))
	for k, h := range head {
		numW[k] = len(h)
		for _, row := range rows {
			numW[k] = max(numW[k], len(row[k]))
		}
	}
	posW := len(itoa(len(r.Criteria)))
	fixed := posW + 2 + 2 + 4 // position, gap, gap, kind
	for _, w := range numW {
		fixed += w + 2
	}
	fixed += 2 // the bar between outcomes and attrition
	idW := len("Criterion")
	for _, c := range r.Criteria {
		idW = max(idW, utf8.RuneCountInString(clean(c.ID)))
	}
	idW = max(min(idW, tableWidth-fixed), 9)

	line := func(pos, id, kind string, cells []string) {
		fmt.Fprintf(b, "%*s  %-*s  %-4s", posW, pos, idW, id, kind)
		for k, c := range cells {
			if k == 4 {
				b.WriteString(" |")
			}
			fmt.Fprintf(b, "  %*s", numW[k], c)
		}
		b.WriteString("\n")
	}
	line("#", "Criterion", "Kind", head)
	for i, c := range r.Criteria {
		line(itoa(c.Position), padClip(clean(c.ID), idW), shortKind(c.Kind), rows[i])
	}
}

// writeReasons lists the most frequent unknown reasons of every criterion with unknowns.
func writeReasons(b *strings.Builder, r Report) {
	var lines []string
	idW := 0
	for _, c := range r.Criteria {
		if len(c.UnknownReasons) > 0 {
			idW = max(idW, utf8.RuneCountInString(clean(c.ID)))
		}
	}
	idW = min(idW, 40)
	for _, c := range r.Criteria {
		if len(c.UnknownReasons) == 0 {
			continue
		}
		l := fmt.Sprintf("  %s  %s", padClip(clean(c.ID), idW), joinReasons(c.UnknownReasons, topReasons))
		lines = append(lines, clip(l, tableWidth))
	}
	if len(lines) == 0 {
		return
	}
	b.WriteString("\nTop unknown reasons\n")
	for _, l := range lines {
		b.WriteString(l + "\n")
	}
}

// joinReasons writes "no-data 3, stale 1" for the first n reasons, then "+k more".
func joinReasons(rs []ReasonCount, n int) string {
	parts := make([]string, 0, n+1)
	for k, rc := range rs {
		if k == n {
			parts = append(parts, fmt.Sprintf("+%d more", len(rs)-n))
			break
		}
		reason := clean(rc.Reason)
		if reason == "" {
			reason = "(none)"
		}
		parts = append(parts, reason+" "+itoa(rc.Count))
	}
	return strings.Join(parts, ", ")
}

func shortKind(kind string) string {
	switch kind {
	case "inclusion":
		return "incl"
	case "exclusion":
		return "excl"
	}
	return clip(clean(kind), 4)
}

// clean replaces control and other non-printing characters (escape sequences, newlines)
// with '?'.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return '?'
	}, s)
}

// clip shortens s to at most n runes, marking the cut with "...".
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	rs := []rune(s)
	if n <= 3 {
		return string(rs[:n])
	}
	return string(rs[:n-3]) + "..."
}

// padClip clips s to n runes and pads it to n runes (fmt pads by bytes).
func padClip(s string, n int) string {
	s = clip(s, n)
	return s + strings.Repeat(" ", n-utf8.RuneCountInString(s))
}

func itoa(n int) string { return strconv.Itoa(n) }
