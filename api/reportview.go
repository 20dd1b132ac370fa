package api

import (
	"sort"
	"strings"
	"time"

	"github.com/trialscreen/trialscreen/screening"
)

// reportPage is what the template shows: the screening, with every value already in
// the words and formats people read.
type reportPage struct {
	Patient     string // the reference, Patient/<id>
	PatientHref string
	// Who the sheet is about, as the record names them: a printed report is filed under
	// the patient's name. Empty when the record does not give it.
	PatientName string
	PatientSex  string
	PatientBorn string
	AsOf        string
	AsOfISO     string
	Protocol    screening.ProtocolRef
	Verdict     string // the code: potentially-eligible...
	VerdictText string
	VerdictWhy  string
	Counts      screening.Counts
	Settings    []labelled
	Sources     []sourceRow
	Unreadable  []screening.UnreadableEntry
	Others      int
	// ShowObtain: the list of data to obtain is shown. Not for an ineligible patient:
	// no test would change a failing criterion, so none is asked for.
	ShowObtain bool
	ToObtain   []itemRow
	Review     []itemRow
	Criteria   []criterionRow
	// FirstOrder says why the criteria are not in protocol order, when they are not.
	FirstOrder string
	Linked     bool       // evidence references link to the FHIR server
	Since      *sinceView // what changed since the previous stored screening; nil: not shown
	// Panel is where the review stands and the EHR's feedback (reportreview.go); nil:
	// the service keeps no decisions for this screening.
	Panel *reviewPanelView
	User  *signedInView // the signed-in person, in the header; nil: none
}

type labelled struct{ Label, Value string }

type sourceRow struct {
	Type, State, Detail string
	Complete            bool
}

type itemRow struct {
	Criterion, Reason, What string
	Panel                   *reviewPanelItem // a review item's decision and form; nil: none
}

type criterionRow struct {
	N                    int
	ID, Kind, Text       string
	Outcome, Mark, Label string
	Reason               string
	Summary              string
	Threshold            string // the limit in words; empty when the criterion has none
	Rule                 string // the engine's rule, as a tooltip for the curious
	Obtain               string
	Evidence             []evidenceRow
}

type evidenceRow struct {
	Value    string // the value compared, in the rule's unit
	Reported string // as recorded, when that differs
	Date     string
	DateISO  string
	Ref      string
	Href     string
	Role     string
	Display  string // the record's words for what the resource is
	Code     string
	Status   string
	Text     string
	Note     string
}

// buildReport turns a screening into the page's view. link may be nil.
func buildReport(r *screening.Screening, link func(string) string) reportPage {
	p := reportPage{
		Patient:     r.Patient.Reference,
		PatientName: r.Patient.Name,
		PatientSex:  r.Patient.Gender,
		PatientBorn: r.Patient.BirthDate,
		AsOf:        displayTime(r.AsOf),
		AsOfISO:     r.AsOf.Format(time.RFC3339),
		Protocol:    r.Protocol,
		Verdict:     string(r.Verdict),
		Counts:      r.Counts,
		Others:      r.Data.OtherPatients,
		Linked:      link != nil,
		ShowObtain:  r.Verdict != screening.Ineligible,
	}
	if p.Patient == "" {
		p.Patient = "Patient/" + r.Patient.ID
	}
	if link != nil {
		p.PatientHref = link(p.Patient)
	}
	p.VerdictText, p.VerdictWhy = verdictWords(r)

	lympho := r.Settings.LymphodepletionDate
	if lympho == "" {
		lympho = "none planned (washout measured to the as-of instant)"
	}
	p.Settings = []labelled{
		{"Evaluated as of", displayTime(r.Settings.AsOf)},
		{"Planned lymphodepletion", lympho},
		{"Time zone for calendar dates", r.Settings.TimeZone},
		{"Observation statuses counted", strings.Join(r.Settings.ObservationStatuses, ", ")},
	}

	types := make([]string, 0, len(r.Data.Sources))
	for t := range r.Data.Sources {
		types = append(types, t)
	}
	sort.Strings(types)
	for _, t := range types {
		st := r.Data.Sources[t]
		p.Sources = append(p.Sources, sourceRow{Type: t, State: string(st.State), Detail: st.Detail, Complete: st.State == screening.FetchComplete})
	}
	p.Unreadable = r.Data.Unreadable

	if p.ShowObtain {
		for _, it := range r.ToObtain {
			p.ToObtain = append(p.ToObtain, itemRow{Criterion: it.Criterion, Reason: reasonWords(it.Reason), What: readable(it.What)})
		}
	}
	for _, it := range r.ReviewItems {
		p.Review = append(p.Review, itemRow{Criterion: it.Criterion, Reason: reasonWords(it.Reason), What: readable(it.What)})
	}

	for i, c := range r.Criteria {
		row := criterionRow{
			N: i + 1, ID: c.ID, Kind: c.Kind, Text: c.Text,
			Outcome: string(c.Outcome), Reason: reasonWords(c.Reason),
			Summary: readable(c.Summary), Threshold: thresholdWords(c), Rule: c.Rule,
		}
		if p.ShowObtain {
			row.Obtain = readable(c.Obtain)
		}
		row.Mark, row.Label = outcomeWords(c.Outcome)
		for _, e := range c.Evidence {
			row.Evidence = append(row.Evidence, evidence(e, link))
		}
		p.Criteria = append(p.Criteria, row)
	}
	p.Criteria, p.FirstOrder = decidingFirst(p.Criteria, r.Verdict)
	return p
}

// decidingFirst puts the criteria that decide the verdict first (the failing ones of an
// ineligible patient, the unknown ones of one with insufficient data), each group in
// protocol order, so that the first page a reader sees says why; the rows keep their
// protocol numbers.
func decidingFirst(rows []criterionRow, v screening.Verdict) ([]criterionRow, string) {
	first, why := "", ""
	switch v {
	case screening.Ineligible:
		first, why = string(screening.Fail), "Failing criteria first, then the others in protocol order."
	case screening.InsufficientData:
		first, why = string(screening.Unknown), "Unknown criteria first, then the others in protocol order."
	default:
		return rows, ""
	}
	out := make([]criterionRow, 0, len(rows))
	for _, r := range rows {
		if r.Outcome == first {
			out = append(out, r)
		}
	}
	for _, r := range rows {
		if r.Outcome != first {
			out = append(out, r)
		}
	}
	return out, why
}

func evidence(e screening.Evidence, link func(string) string) evidenceRow {
	row := evidenceRow{Ref: e.Resource, Role: roleWords(e.Role), Status: e.Status, Display: e.Display, Text: readable(e.Text), Note: readable(e.Note)}
	if e.Resource != "" && link != nil {
		row.Href = link(e.Resource)
	}
	if e.Date != "" {
		row.Date, row.DateISO = e.Date, e.Date
		if t, err := time.Parse(time.RFC3339, e.Date); err == nil {
			row.Date = displayTime(t)
		}
	}
	if e.Code != "" {
		row.Code = codeWords(e.Code)
	}
	switch {
	case e.Value != nil:
		row.Value = quantity(*e.Value, e.Unit)
		if e.OriginalValue != nil && (e.OriginalUnit != e.Unit || *e.OriginalValue != *e.Value) {
			if rec := quantity(*e.OriginalValue, e.OriginalUnit); rec != row.Value {
				row.Reported = rec
			}
		}
	case e.OriginalValue != nil:
		// Recorded but not used (e.g. too old): shown as recorded.
		row.Reported = quantity(*e.OriginalValue, e.OriginalUnit)
	case e.ValueCode != "":
		// The record's word for its answer, with the code it matched on beside it.
		row.Value = e.ValueDisplay
		if row.Value == "" {
			row.Value = codeWords(e.ValueCode)
		} else {
			row.Reported = codeWords(e.ValueCode)
		}
	}
	return row
}

// roleWords names a derived value's input for people ("birth-date" -> "birth date").
func roleWords(role string) string {
	if role == "uln" {
		return "ULN"
	}
	return strings.ReplaceAll(role, "-", " ")
}
