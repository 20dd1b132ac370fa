package api

import (
	"crypto/rand"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/trialscreen/trialscreen/screening"
)

// cdsCard is a CDS Hooks card (spec: "Card Attributes").
type cdsCard struct {
	UUID      string    `json:"uuid"`
	Summary   string    `json:"summary"`
	Detail    string    `json:"detail,omitempty"`
	Indicator string    `json:"indicator"`
	Source    cdsSource `json:"source"`
	Links     []cdsLink `json:"links,omitempty"`
}

type cdsSource struct {
	Label string `json:"label"`
	URL   string `json:"url,omitempty"`
}

type cdsLink struct {
	Label string `json:"label"`
	URL   string `json:"url"`
	Type  string `json:"type"` // absolute: a plain URL, not a SMART launch
}

// cardMaxSummary: the spec wants a summary under 140 characters.
const cardMaxSummary = 139

// buildCard is the one card of a screening: the verdict in the summary, what fails, is
// unknown or needs review in the detail, and a link to the full report. uuid is made by
// the caller, before the screening, so that the audit record and the report link carry
// it too.
func (s *Server) buildCard(res *screening.Screening, uuid, reportURL string) cdsCard {
	c := cdsCard{
		UUID:      uuid,
		Summary:   cardSummary(res),
		Detail:    cardDetail(res),
		Indicator: cardIndicator(res.Verdict),
		Source:    cdsSource{Label: "trialscreen pre-screening", URL: s.cfg.PublicURL},
	}
	if s.cfg.PublicURL != "" {
		c.Links = []cdsLink{{Label: "Open the screening report", URL: reportURL, Type: "absolute"}}
	}
	return c
}

// cardIndicator fits the indicator to what the clinician may do about the verdict. The
// spec's indicator is urgency (info < warning < critical), and EHRs show critical as a
// safety alert: no pre-screening verdict is one, so critical is never used. A
// potentially eligible patient is warning: there is something to act on now (consider a
// referral to the study team). Ineligible (nothing to do) and insufficient data (a
// to-do, listed in the detail) are info, so that the one card that asks for action
// stands out and routine cards add no alert fatigue.
func cardIndicator(v screening.Verdict) string {
	if v == screening.PotentiallyEligible {
		return "warning"
	}
	return "info"
}

// cardSummary is one sentence under 140 characters: the trial, the verdict, the counts
// that matter for it. A long protocol title is shortened to fit.
func cardSummary(res *screening.Screening) string {
	n := res.Counts
	var tail string
	switch res.Verdict {
	case screening.Ineligible:
		tail = fmt.Sprintf(": ineligible (%s)", cardCount(n.Fail, "criterion fails", "criteria fail"))
	case screening.InsufficientData:
		tail = fmt.Sprintf(": insufficient data (%s unknown", cardCount(n.Unknown, "criterion", "criteria"))
		if n.Review > 0 {
			tail += fmt.Sprintf(", %d to review", n.Review)
		}
		tail += ")"
	case screening.PotentiallyEligible:
		tail = fmt.Sprintf(": potentially eligible (%d to review)", n.Review)
	default:
		tail = ": no verdict"
	}
	title := res.Protocol.Title
	if title == "" {
		title = res.Protocol.ID
	}
	return cardClip(title+" trial", cardMaxSummary-utf8.RuneCountInString(tail)) + tail
}

func cardCount(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// cardClip shortens s to at most n characters, ending with an ellipsis when cut.
func cardClip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	if n < 1 {
		return ""
	}
	return strings.TrimSpace(string(r[:n-1])) + "…"
}

// cardDetail is GitHub-flavoured Markdown listing the criteria that fail, are unknown
// (with what would decide them) and need a person's review. Text from the screening is
// escaped: it can quote the record, and the EHR renders the Markdown.
func cardDetail(res *screening.Screening) string {
	var b strings.Builder
	fmt.Fprintf(&b, "**%s** for %s (protocol %s %s), as of %s.\n",
		cardEscape(cardVerdictText(res.Verdict)), cardEscape(res.Protocol.Title), cardEscape(res.Protocol.ID),
		cardEscape(res.Protocol.Version), res.AsOf.UTC().Format("2006-01-02 15:04 MST"))
	section := func(heading string, outcome screening.Outcome) {
		first := true
		for _, r := range res.Criteria {
			if r.Outcome != outcome {
				continue
			}
			if first {
				fmt.Fprintf(&b, "\n%s:\n\n", heading)
				first = false
			}
			fmt.Fprintf(&b, "- **%s**: %s", cardEscape(r.ID), cardEscape(r.Summary))
			if outcome == screening.Unknown && r.Obtain != "" {
				fmt.Fprintf(&b, " *To obtain:* %s", cardEscape(r.Obtain))
			}
			b.WriteString("\n")
		}
	}
	section("Criteria that fail", screening.Fail)
	section("Criteria unknown from the record", screening.Unknown)
	section("Criteria for a person to review", screening.Review)
	fmt.Fprintf(&b, "\n%d of %d criteria pass. This is a pre-screening from structured data; the study team decides eligibility.\n",
		res.Counts.Pass, len(res.Criteria))
	return b.String()
}

func cardVerdictText(v screening.Verdict) string {
	switch v {
	case screening.Ineligible:
		return "Ineligible"
	case screening.InsufficientData:
		return "Insufficient data"
	case screening.PotentiallyEligible:
		return "Potentially eligible"
	}
	return string(v)
}

// cardEscape makes text literal in Markdown: line breaks become spaces (a summary stays in
// its list item) and characters that start emphasis, links, code, HTML or tables are
// backslash-escaped.
func cardEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '\n', '\r', '\t':
			b.WriteByte(' ')
		case '\\', '`', '*', '_', '[', ']', '<', '>', '#', '|', '~', '&', '!', '{', '}':
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// newCardUUID is a random (version 4) UUID.
func newCardUUID() string {
	var u [16]byte
	_, _ = rand.Read(u[:]) // crypto/rand.Read does not fail
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}
