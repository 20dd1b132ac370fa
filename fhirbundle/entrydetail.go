package fhirbundle

import "encoding/json"

// What a searchset says of its entries beyond their resources, which a reader of a
// search (the FHIR client's pages, a CDS Hooks prefetch) needs to judge whether the
// search holds all the patient's data: each entry's search mode, the issues of an
// OperationOutcome entry, and whether the sender withheld part of the resource.

// OutcomeIssue is one OperationOutcome.issue, with the words a server gives it.
type OutcomeIssue struct {
	Severity    string `json:"severity"`
	Code        string `json:"code"`
	Diagnostics string `json:"diagnostics"`
	Details     struct {
		Text string `json:"text"`
	} `json:"details"`
}

// Serious reports whether the issue may mean data was left out (SeriousSeverity).
func (is OutcomeIssue) Serious() bool { return SeriousSeverity(is.Severity) }

// SeriousSeverity reports whether an issue of this severity may mean data was left out:
// anything but information, since a missing or unknown severity cannot be told from a
// warning. Every reader of OperationOutcomes (input Bundles, export files, searches,
// prefetch) judges by it.
func SeriousSeverity(s string) bool { return s != "information" }

// EntryDetail is one searchset entry as far as completeness goes.
type EntryDetail struct {
	Mode         string // entry.search.mode: match, include, outcome or ""
	ResourceType string
	Issues       []OutcomeIssue // an OperationOutcome's
	Withheld     bool           // meta marks the resource masked, redacted or subsetted
}

// EntryDetails reads the details of the n entries SplitBundle found in body. ok is false
// when they cannot be paired one to one with those entries: such a page cannot be
// screened, and must never be called complete. Mistyped members are skipped (SplitBundle
// has judged the shape).
func EntryDetails(body []byte, n int) (details []EntryDetail, ok bool) {
	var d struct {
		Entry []struct {
			Search struct {
				Mode string `json:"mode"`
			} `json:"search"`
			Resource struct {
				ResourceType string         `json:"resourceType"`
				Issue        []OutcomeIssue `json:"issue"`
				Meta         *peekMeta      `json:"meta"`
			} `json:"resource"`
		} `json:"entry"`
	}
	_ = json.Unmarshal(body, &d)
	if len(d.Entry) != n {
		return nil, false
	}
	details = make([]EntryDetail, n)
	for i, e := range d.Entry {
		details[i] = EntryDetail{Mode: e.Search.Mode, ResourceType: e.Resource.ResourceType,
			Issues: e.Resource.Issue, Withheld: e.Resource.Meta.withheld() != ""}
	}
	return details, true
}
