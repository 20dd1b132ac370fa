package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/trialscreen/trialscreen/screening"
)

// writeTable prints a verdict for a terminal: a header, one line per criterion with
// outcome, reason and what was found, then what to obtain and what to review.
func writeTable(w io.Writer, s *screening.Screening) error {
	fmt.Fprintf(w, "Patient   %s\n", orDash(s.Patient.Reference))
	fmt.Fprintf(w, "Verdict   %s\n", strings.ToUpper(string(s.Verdict)))
	fmt.Fprintf(w, "As of     %s   protocol %s %s\n", s.AsOf.Format("2006-01-02 15:04 MST"), s.Protocol.ID, s.Protocol.Version)
	fmt.Fprintf(w, "Counts    pass %d   fail %d   unknown %d   review %d\n\n", s.Counts.Pass, s.Counts.Fail, s.Counts.Unknown, s.Counts.Review)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tCRITERION\tKIND\tOUTCOME\tREASON\tFOUND")
	for i, r := range s.Criteria {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", i+1, r.ID, r.Kind[:3], r.Outcome, r.Reason, truncate(r.Summary, 100))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(s.ToObtain) > 0 {
		fmt.Fprintln(w, "\nTo obtain:")
		for _, it := range s.ToObtain {
			fmt.Fprintf(w, "  - %s (%s): %s\n", it.Criterion, it.Reason, it.What)
		}
	}
	if len(s.ReviewItems) > 0 {
		fmt.Fprintln(w, "\nFor review:")
		for _, it := range s.ReviewItems {
			fmt.Fprintf(w, "  [ ] %s: %s\n", it.Criterion, it.What)
		}
	}
	if n := len(s.Data.Unreadable); n > 0 || s.Data.OtherPatients > 0 {
		fmt.Fprintf(w, "\nInput problems: %d unreadable entr%s, %d resources of other patients ignored\n", n, map[bool]string{true: "y", false: "ies"}[n == 1], s.Data.OtherPatients)
		for _, u := range s.Data.Unreadable {
			fmt.Fprintf(w, "  - entry %d (%s): %s\n", u.Index, orDash(u.ResourceType), u.Problem)
		}
	}
	return nil
}

// truncate shortens to n characters (runes, so that non-Latin text is never cut mid-character).
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-3]) + "..."
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
