package funnel

import (
	"cmp"
	"slices"
	"time"

	"github.com/trialscreen/trialscreen/screening"
)

// Report is the funnel as written: the JSON document, and what the table and the page show.
type Report struct {
	Protocol    ProtocolInfo      `json:"protocol"`
	Label       string            `json:"label,omitempty"`
	GeneratedAt string            `json:"generated_at,omitempty"` // RFC 3339, only when the caller set it
	Patients    int               `json:"patients"`
	Verdicts    VerdictCounts     `json:"verdicts"`
	Criteria    []CriterionReport `json:"criteria"`
	Attrition   Attrition         `json:"attrition"`
	// Skipped counts the documents Add did not count, by why (other-protocol,
	// criteria-mismatch, unknown-verdict, verdict-mismatch).
	Skipped []ReasonCount `json:"skipped_documents"`
	// AsOf is the as-of the patients were screened at (first and last, when they differ);
	// nil when no document was counted.
	AsOf *AsOfSpan `json:"as_of,omitempty"`
	// RunAt is when the run started (RFC 3339), only when the caller set it.
	RunAt string `json:"run_at,omitempty"`
	// Inputs says what was screened, only when the caller set it.
	Inputs []string `json:"inputs,omitempty"`
	// ByVerdict lists the patients of each verdict (potentially eligible, insufficient
	// data, ineligible), the first MaxListed by id, and how many more there are.
	ByVerdict []VerdictPatients `json:"patients_by_verdict"`
}

// AsOfSpan is the earliest and latest as-of of the documents, RFC 3339.
type AsOfSpan struct {
	First string `json:"first"`
	Last  string `json:"last"`
}

// VerdictPatients is one verdict's patients: Listed in id order, More not listed.
type VerdictPatients struct {
	Verdict string         `json:"verdict"`
	Count   int            `json:"count"`
	Listed  []PatientEntry `json:"listed"`
	More    int            `json:"more"`
}

// ProtocolInfo names the protocol the funnel is for.
type ProtocolInfo struct {
	ID      string `json:"id"`
	Version string `json:"version"`
	Title   string `json:"title"`
}

// VerdictCounts is the verdict mix.
type VerdictCounts struct {
	Ineligible          int `json:"ineligible"`
	InsufficientData    int `json:"insufficient_data"`
	PotentiallyEligible int `json:"potentially_eligible"`
}

// CriterionReport is one criterion's outcome counts over all patients.
type CriterionReport struct {
	Position int    `json:"position"` // 1-based, protocol order
	ID       string `json:"id"`
	Kind     string `json:"kind"` // inclusion or exclusion
	Text     string `json:"text"`
	Pass     int    `json:"pass"`
	Fail     int    `json:"fail"`
	Unknown  int    `json:"unknown"`
	Review   int    `json:"review"`
	// UnknownReasons is every reason for the unknowns, most frequent first.
	UnknownReasons []ReasonCount `json:"unknown_reasons"`
}

// ReasonCount is how many times a reason was given.
type ReasonCount struct {
	Reason string `json:"reason"`
	Count  int    `json:"count"`
}

// Attrition walks the criteria in protocol order: a patient stays in until the first
// criterion they fail.
type Attrition struct {
	Steps []Step `json:"steps"`
	// Remaining is the patients with no fail at all (the last step's after).
	Remaining int `json:"remaining"`
	// BlockedByUnknown is the remaining patients with some unknown: insufficient data.
	BlockedByUnknown int `json:"blocked_by_unknown"`
}

// Step is one criterion in the attrition.
type Step struct {
	Criterion string `json:"criterion"`
	Kind      string `json:"kind"`
	Before    int    `json:"before"`  // patients still in before this criterion
	Removed   int    `json:"removed"` // its fails among them
	After     int    `json:"after"`
}

// Report returns the funnel's counts. It is deterministic: the same documents, added in
// any order or merged from any split, give the same report.
func (f *Funnel) Report() Report {
	r := Report{
		Protocol: ProtocolInfo(f.protocol),
		Label:    f.Label,
		Patients: f.patients,
		Verdicts: VerdictCounts{
			Ineligible:          f.verdicts[slotIneligible],
			InsufficientData:    f.verdicts[slotInsufficient],
			PotentiallyEligible: f.verdicts[slotEligible],
		},
		Criteria:  make([]CriterionReport, len(f.ids)),
		Attrition: Attrition{Steps: make([]Step, len(f.ids)), BlockedByUnknown: f.blocked},
		Skipped:   []ReasonCount{},
	}
	if !f.GeneratedAt.IsZero() {
		r.GeneratedAt = f.GeneratedAt.UTC().Format(time.RFC3339)
	}
	if !f.RunAt.IsZero() {
		r.RunAt = f.RunAt.UTC().Format(time.RFC3339)
	}
	r.Inputs = append([]string(nil), f.Inputs...)
	if !f.asOf.first.IsZero() {
		r.AsOf = &AsOfSpan{First: f.asOf.first.UTC().Format(time.RFC3339Nano), Last: f.asOf.last.UTC().Format(time.RFC3339Nano)}
	}
	// The ones to act on first: potentially eligible, then those waiting for data.
	for _, v := range []struct {
		slot    int
		verdict screening.Verdict
	}{{slotEligible, screening.PotentiallyEligible}, {slotInsufficient, screening.InsufficientData}, {slotIneligible, screening.Ineligible}} {
		shown := append([]PatientEntry{}, f.listed[v.slot].shown...)
		r.ByVerdict = append(r.ByVerdict, VerdictPatients{Verdict: string(v.verdict), Count: f.verdicts[v.slot], Listed: shown, More: f.verdicts[v.slot] - len(shown)})
	}
	in := f.patients
	for i, id := range f.ids {
		t := &f.crit[i]
		r.Criteria[i] = CriterionReport{
			Position: i + 1, ID: id, Kind: t.kind, Text: t.text,
			Pass: t.pass, Fail: t.fail, Unknown: t.unknown, Review: t.review,
			UnknownReasons: sortedReasons(t.unknownReasons),
		}
		r.Attrition.Steps[i] = Step{Criterion: id, Kind: t.kind, Before: in, Removed: t.removed, After: in - t.removed}
		in -= t.removed
	}
	r.Attrition.Remaining = in
	for reason, n := range f.skipped {
		r.Skipped = append(r.Skipped, ReasonCount{Reason: reason, Count: n})
	}
	r.Skipped = sortedReasons(r.Skipped)
	return r
}

// sortedReasons copies rs, most frequent first, ties by reason.
func sortedReasons(rs []ReasonCount) []ReasonCount {
	out := append(make([]ReasonCount, 0, len(rs)), rs...)
	slices.SortFunc(out, func(a, b ReasonCount) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Reason, b.Reason))
	})
	return out
}
