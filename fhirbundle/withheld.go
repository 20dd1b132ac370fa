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
//   - an OperationOutcome entry with an issue that is not mere information, with no
//     issues, or that cannot be read (how a server reports that a search left matches
//     out): which type it concerns cannot be told, so every type is partial.

// peekMeta is the part of Resource.meta the reader keeps: whether data was withheld, and
// the version (versions.go).
type peekMeta struct {
	Security    []peekCode `json:"security"`
	Tag         []peekCode `json:"tag"`
	VersionID   string     `json:"versionId"`
	LastUpdated string     `json:"lastUpdated"`
}

type peekCode struct {
	System string `json:"system"`
	Code   string `json:"code"`
}

// withheldCodes are the v3 ObservationValue codes that mean "not all of it is here".
// The system is not checked: a server that writes them under another system means the
// same, and treating a resource as partial in error costs only an unknown.
var withheldCodes = []string{"MASKED", "REDACTED", "SUBSETTED"}

// withheldCode is the label ("masked", "redacted", "subsetted") of a meta.security or
// meta.tag code that says the sender left part of a resource out, or "".
func withheldCode(code string) string {
	for _, w := range withheldCodes {
		if strings.EqualFold(code, w) {
			return strings.ToLower(w)
		}
	}
	return ""
}

// withheld is the label that says data was left out, or "".
func (m *peekMeta) withheld() string {
	if m == nil {
		return ""
	}
	for _, c := range slices.Concat(m.Security, m.Tag) {
		if l := withheldCode(c.Code); l != "" {
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

// PatientSource is how completely a Patient resource read on its own (a FHIR read, a
// CDS prefetch) holds the patient: partial when its sender masked, redacted or subset it,
// since its birth date or sex may be what was hidden. Whatever else is wrong with it is
// for AddResources to report.
func PatientSource(raw json.RawMessage) screening.SourceStatus {
	p, _ := peekResource(raw)
	if l := p.Meta.withheld(); l != "" {
		return screening.SourceStatus{State: screening.FetchPartial, Detail: "the Patient resource is " + l + " by the sender (meta)"}
	}
	return screening.SourceStatus{State: screening.FetchComplete}
}

// peekIssue is one OperationOutcome.issue.
type peekIssue struct {
	Severity string `json:"severity"`
	Code     string `json:"code"`
}

// completeness collects, while one input's entries are added, what says that input is
// not the patient's full record.
type completeness struct {
	withheld map[string]map[string]int // resource type -> label -> count
	issues   []string                  // what OperationOutcome entries report, worded
	sections map[string][]string       // resource type -> what document sections say is missing
}

// sectionTypes are the resource types an IPS (or similar document) section holds, by the
// section's LOINC code: a section that says its entries are not given leaves them out.
var sectionTypes = map[string][]string{
	"48765-2": {screening.TypeAllergy},                                                       // Allergies and adverse reactions
	"10160-0": screening.MedicationTypes,                                                     // History of medication use
	"11450-4": {screening.TypeCondition},                                                     // Problem list
	"11348-0": {screening.TypeCondition},                                                     // History of past illness
	"30954-2": {screening.TypeObservation},                                                   // Relevant diagnostic tests/laboratory data
	"8716-3":  {screening.TypeObservation},                                                   // Vital signs
	"47519-4": {screening.TypeProcedure},                                                     // History of procedures
	"29545-1": {screening.TypeObservation},                                                   // Physical findings
	"10162-6": {screening.TypeObservation, screening.TypeCondition},                          // History of pregnancies
	"46264-8": {screening.TypeProcedure},                                                     // History of medical device use
	"42348-3": {screening.TypeCondition, screening.TypeProcedure, screening.TypeObservation}, // Advance directives
}

// noteSections records the sections of a document (Composition) that say their entries
// are not given: any emptyReason but nilknown ("nothing known": the list is complete and
// empty). An unknown section code with such a reason leaves every type partial.
func (c *completeness) noteSections(secs []peekSection) {
	for _, sec := range secs {
		c.noteSections(sec.Section)
		if sec.EmptyReason == nil {
			continue
		}
		reason := ""
		for _, cd := range sec.EmptyReason.Coding {
			reason = cd.Code
		}
		if reason == "nilknown" {
			continue
		}
		if reason == "" {
			reason = "not given"
		}
		var code string
		if sec.Code != nil {
			for _, cd := range sec.Code.Coding {
				if _, ok := sectionTypes[cd.Code]; ok {
					code = cd.Code
				}
			}
		}
		types := sectionTypes[code]
		if code == "" {
			types, code = RecordTypes, "of unknown kind"
		}
		for _, t := range types {
			if c.sections == nil {
				c.sections = map[string][]string{}
			}
			c.sections[t] = append(c.sections[t], fmt.Sprintf("a document section (%s) says its entries are %s", code, reason))
		}
	}
}

// noteWithheld records a resource its sender marked as not whole.
func (c *completeness) noteWithheld(p *peeked) {
	l := p.Meta.withheld()
	if l == "" {
		return
	}
	if c.withheld == nil {
		c.withheld = map[string]map[string]int{}
	}
	if c.withheld[p.ResourceType] == nil {
		c.withheld[p.ResourceType] = map[string]int{}
	}
	c.withheld[p.ResourceType][l]++
}

// noteOutcome records what an OperationOutcome entry reports. Any issue that is not
// severity information counts (a missing or misspelt severity too), and so does an
// OperationOutcome that cannot be read or has no issues: the sender reports a problem
// whose extent cannot be told, as the batch run judges an export's error file. Severity
// and code are FHIR codes; the diagnostics text may hold anything and is not quoted.
func (c *completeness) noteOutcome(p *peeked, perr error) {
	switch {
	case perr != nil:
		c.issues = append(c.issues, "an OperationOutcome that cannot be read ("+perr.Error()+")")
		return
	case len(p.Issue) == 0:
		c.issues = append(c.issues, "an OperationOutcome without issues")
		return
	}
	for _, is := range p.Issue {
		if !SeriousSeverity(is.Severity) {
			continue // nothing was left out
		}
		sev := is.Severity
		if sev == "" {
			sev = "no severity"
		}
		c.issues = append(c.issues, fmt.Sprintf("an OperationOutcome reporting %s (code %s)", sev, is.Code))
	}
}

// status is how completely the input holds the patient's resources of type t.
func (c *completeness) status(t string) screening.SourceStatus {
	var why []string
	if len(c.issues) > 0 {
		why = append(why, "the input holds "+strings.Join(c.issues, "; ")+": data may have been left out")
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
	why = append(why, c.sections[t]...)
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
