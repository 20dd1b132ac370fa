package fhirbundle

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/trialscreen/trialscreen/screening"
)

// A record given as input (a Bundle file, a portal's POSTed Bundle, an export's lines)
// counts as the patient's full record, and "nothing found" in it passes an exclusion.
// Two things in the input say it is not full, and each makes what it touches partial
// (the criteria reading it are then unknown with reason source-error, never pass):
//   - a resource its sender masked, redacted or cut to a subset (meta.security MASKED or
//     REDACTED, meta.tag SUBSETTED: what a server does for consent, privacy or
//     _elements): its type is partial, since the hidden part may hold the finding;
//   - an OperationOutcome entry with a warning, error or fatal issue (how a server
//     reports that a search left matches out): which type it concerns cannot be told,
//     so every type is partial.

// peekMeta is the part of Resource.meta that says whether data was withheld.
type peekMeta struct {
	Security []peekCode `json:"security"`
	Tag      []peekCode `json:"tag"`
}

type peekCode struct {
	System string `json:"system"`
	Code   string `json:"code"`
}

// withheldCodes are the v3 ObservationValue codes that mean "not all of it is here".
// The system is not checked: a server that writes them under another system means the
// same, and treating a resource as partial in error costs only an unknown.
var withheldCodes = []string{"MASKED", "REDACTED", "SUBSETTED"}

// WithheldCode is the label ("masked", "redacted", "subsetted") of a meta.security or
// meta.tag code that says the sender left part of a resource out, or "". FHIR clients of
// searches judge their pages with it as ReadBundle judges its input.
func WithheldCode(code string) string {
	for _, w := range withheldCodes {
		if strings.EqualFold(code, w) {
			return strings.ToLower(w)
		}
	}
	return ""
}

// MetaCode is a meta.security or meta.tag coding, as far as WithheldCode needs it.
type MetaCode struct {
	Code string `json:"code"`
}

// AnyWithheld reports whether one of the codes says data was left out.
func AnyWithheld(lists ...[]MetaCode) bool {
	for _, l := range lists {
		for _, c := range l {
			if WithheldCode(c.Code) != "" {
				return true
			}
		}
	}
	return false
}

// withheld is the label that says data was left out, or "".
func (m *peekMeta) withheld() string {
	if m == nil {
		return ""
	}
	for _, c := range slices.Concat(m.Security, m.Tag) {
		if l := WithheldCode(c.Code); l != "" {
			return l
		}
	}
	return ""
}

// MetaWithholds reads a resource's meta member (its raw JSON) and reports whether the
// sender withheld part of the resource. An error means meta is not of the shape FHIR
// gives it; the peek of the resource fails alike. The batch grouping pass uses it to
// keep such a resource whole, for ReadResources to see.
func MetaWithholds(meta json.RawMessage) (bool, error) {
	var m *peekMeta
	if k := jsonKind(meta); k != "object" && k != "null" {
		return false, fmt.Errorf("meta is JSON %s, not an object", k)
	}
	if err := json.Unmarshal(meta, &m); err != nil {
		return false, fmt.Errorf("meta.%w", describeJSONError(err))
	}
	return m.withheld() != "", nil
}

// peekIssue is one OperationOutcome.issue.
type peekIssue struct {
	Severity    string `json:"severity"`
	Code        string `json:"code"`
	Diagnostics string `json:"diagnostics"`
	Details     struct {
		Text string `json:"text"`
	} `json:"details"`
}

// maxIssueText bounds the sender's own words quoted from an issue.
const maxIssueText = 200

// completeness collects, while one input's entries are added, what says that input is
// not the patient's full record.
type completeness struct {
	withheld map[string]map[string]int // resource type -> label -> count
	issues   []string                  // serious OperationOutcome issues, worded
}

func (c *completeness) note(p *peeked) {
	if l := p.Meta.withheld(); l != "" {
		if c.withheld == nil {
			c.withheld = map[string]map[string]int{}
		}
		if c.withheld[p.ResourceType] == nil {
			c.withheld[p.ResourceType] = map[string]int{}
		}
		c.withheld[p.ResourceType][l]++
	}
	if p.ResourceType != "OperationOutcome" {
		return
	}
	for _, is := range p.Issue {
		switch is.Severity {
		case "warning", "error", "fatal":
		default:
			continue // information: nothing was left out
		}
		text := is.Diagnostics
		if text == "" {
			text = is.Details.Text
		}
		w := fmt.Sprintf("%s (code %s)", is.Severity, is.Code)
		if text != "" {
			w += ": " + clipText(text, maxIssueText)
		}
		c.issues = append(c.issues, w)
	}
}

// status is how completely the input holds the patient's resources of type t.
func (c *completeness) status(t string) screening.SourceStatus {
	var why []string
	if len(c.issues) > 0 {
		why = append(why, "the input holds an OperationOutcome reporting "+strings.Join(c.issues, "; ")+": data may have been left out")
	}
	if byLabel := c.withheld[t]; len(byLabel) > 0 {
		labels := make([]string, 0, len(byLabel))
		for l := range byLabel {
			labels = append(labels, l)
		}
		slices.Sort(labels)
		for _, l := range labels {
			n := byLabel[l]
			why = append(why, fmt.Sprintf("%d %s resource%s %s by the sender (meta)", n, t, plural(n), l))
		}
	}
	if len(why) == 0 {
		return screening.SourceStatus{State: screening.FetchComplete}
	}
	return screening.SourceStatus{State: screening.FetchPartial, Detail: strings.Join(why, "; ")}
}

// markSources sets every type in RecordTypes to what the input says of it.
func (c *completeness) markSources(rec *screening.Record) {
	for _, t := range RecordTypes {
		rec.Sources[t] = c.status(t)
	}
}

// clipText cuts s to at most n bytes on a character boundary.
func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}
