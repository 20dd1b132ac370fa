package api

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/trialscreen/trialscreen/screening"
)

// The report page is one server-rendered template with its CSS inline: no build step, no
// JavaScript, nothing fetched from elsewhere, so it prints and archives as one file.
//
//go:embed templates/report.html
var reportSource string

var reportTemplate = template.Must(template.New("report").Parse(reportSource))

// reportCSP allows the page's one <style> element by its hash (not 'unsafe-inline', so an
// injected style could not restyle the report) and nothing else: no scripts, frames,
// forms or fetches. The page holds patient data.
var reportCSP = "default-src 'none'; style-src '" + styleHash(reportSource) + "'; img-src data:; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// styleHash is the CSP hash of the template's <style> element. The element must hold no
// template actions, so that the page carries exactly these bytes.
func styleHash(src string) string {
	_, rest, ok := strings.Cut(src, "<style>")
	css, _, ok2 := strings.Cut(rest, "</style>")
	if !ok || !ok2 || strings.Contains(css, "{{") || strings.Count(src, "<style") != 1 {
		panic("api: a page template needs exactly one <style> element, without template actions")
	}
	sum := sha256.Sum256([]byte(css))
	return "sha256-" + base64.StdEncoding.EncodeToString(sum[:])
}

// renderReport writes the coordinator's HTML report of a screening of the configured
// source, its evidence linked to that source's FHIR server when it has one, and, when it
// was stored, what changed since the patient's previous screening.
func (s *Server) renderReport(c echo.Context, result *screening.Screening) error {
	return renderReportLinked(c, result, s.resourceLink(), s.sinceAnswered(c.Request().Context(), result))
}

// renderReportLinked writes the HTML report with evidence linked by link (nil: plain
// references) and, when since is not nil, what changed since the previous screening.
func renderReportLinked(c echo.Context, result *screening.Screening, link func(ref string) string, since *sinceView) error {
	var buf bytes.Buffer
	page := buildReport(result, link)
	page.Since = since
	// Rendered whole before anything is sent, so a template error is a clean 500 and
	// never half a report.
	if err := reportTemplate.Execute(&buf, page); err != nil {
		return fmt.Errorf("report page: %w", err)
	}
	setReportPageHeaders(c.Response().Header())
	return c.Blob(http.StatusOK, "text/html; charset=utf-8", buf.Bytes())
}

// setReportPageHeaders sets the headers every report page is served with.
func setReportPageHeaders(h http.Header) {
	h.Set("Content-Security-Policy", reportCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store") // patient data: no copies in caches
	// The page links to FHIR resources; its own URL may carry a report-link token.
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
}

// fhirResourceBase is what a record source implements when its resources can be opened
// by a browser: FHIRBase is the server's base URL ("https://fhir.example.org/R4").
// fhirclient.RecordSource does; the demo source does not, and its reports show evidence
// references as plain text.
type fhirResourceBase interface {
	FHIRBase() string
}

// resourceLink returns how the report turns a reference ("Observation/123") into a URL
// on the configured source's FHIR server, or nil when the source has no base a browser
// could use.
func (s *Server) resourceLink() func(ref string) string {
	src, ok := s.cfg.Source.(fhirResourceBase)
	if !ok {
		return nil
	}
	return resourceLinkFor(src.FHIRBase())
}

// resourceLinkFor links references to resources on the FHIR server at base, or is nil
// when base is not an absolute http(s) URL (then references stay plain text).
func resourceLinkFor(base string) func(ref string) string {
	u, err := url.Parse(base)
	if base == "" || err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return nil
	}
	prefix := strings.TrimSuffix(u.String(), "/")
	return func(ref string) string {
		typ, id, ok := strings.Cut(ref, "/")
		if !ok || typ == "" || id == "" || strings.Contains(id, "/") {
			return ""
		}
		// Escaped, so an id from the record cannot leave the resource's path.
		return prefix + "/" + url.PathEscape(typ) + "/" + url.PathEscape(id)
	}
}

// reportPage is what the template shows: the screening, with every value already in
// the words and formats people read.
type reportPage struct {
	Patient     string
	PatientHref string
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
	ToObtain    []itemRow
	Review      []itemRow
	Criteria    []criterionRow
	Linked      bool       // evidence references link to the FHIR server
	Since       *sinceView // what changed since the previous stored screening; nil: not shown
}

type labelled struct{ Label, Value string }

type sourceRow struct {
	Type, State, Detail string
	Complete            bool
}

type itemRow struct {
	Criterion, Reason, What string
}

type criterionRow struct {
	N                    int
	ID, Kind, Text       string
	Outcome, Mark, Label string
	Reason               string
	Summary, Rule        string
	Obtain               string
	Span                 int // rows the criterion takes: one per evidence item
	First                *evidenceRow
	More                 []evidenceRow
}

type evidenceRow struct {
	Value    string // the value compared, in the rule's unit
	Reported string // as recorded, when that differs
	Date     string
	DateISO  string
	Ref      string
	Href     string
	Role     string
	Code     string
	Status   string
	Text     string
	Note     string
}

// buildReport turns a screening into the page's view. link may be nil.
func buildReport(r *screening.Screening, link func(string) string) reportPage {
	p := reportPage{
		Patient:  r.Patient.Reference,
		AsOf:     displayTime(r.AsOf),
		AsOfISO:  r.AsOf.Format(time.RFC3339),
		Protocol: r.Protocol,
		Verdict:  string(r.Verdict),
		Counts:   r.Counts,
		Others:   r.Data.OtherPatients,
		Linked:   link != nil,
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

	for _, it := range r.ToObtain {
		p.ToObtain = append(p.ToObtain, itemRow{Criterion: it.Criterion, Reason: reasonWords(it.Reason), What: it.What})
	}
	for _, it := range r.ReviewItems {
		p.Review = append(p.Review, itemRow{Criterion: it.Criterion, Reason: reasonWords(it.Reason), What: it.What})
	}

	for i, c := range r.Criteria {
		row := criterionRow{
			N: i + 1, ID: c.ID, Kind: c.Kind, Text: c.Text,
			Outcome: string(c.Outcome), Reason: reasonWords(c.Reason),
			Summary: c.Summary, Rule: c.Rule, Obtain: c.Obtain,
		}
		row.Mark, row.Label = outcomeWords(c.Outcome)
		ev := make([]evidenceRow, len(c.Evidence))
		for j, e := range c.Evidence {
			ev[j] = evidence(e, link)
		}
		row.Span = max(1, len(ev))
		if len(ev) > 0 {
			row.First, row.More = &ev[0], ev[1:]
		}
		p.Criteria = append(p.Criteria, row)
	}
	return p
}

func evidence(e screening.Evidence, link func(string) string) evidenceRow {
	row := evidenceRow{Ref: e.Resource, Role: e.Role, Status: e.Status, Text: e.Text, Note: e.Note}
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
			row.Reported = quantity(*e.OriginalValue, e.OriginalUnit)
		}
	case e.OriginalValue != nil:
		// Recorded but not used (e.g. too old): shown as recorded.
		row.Reported = quantity(*e.OriginalValue, e.OriginalUnit)
	case e.ValueCode != "":
		row.Value = codeWords(e.ValueCode)
	}
	return row
}

// quantity renders a number as the engine does (at most 4 decimals) with its unit.
func quantity(v float64, unit string) string {
	s := strconv.FormatFloat(math.Round(v*1e4)/1e4, 'f', -1, 64)
	if unit != "" {
		s += " " + unit
	}
	return s
}

// codeWords names a "system|code" for people ("LOINC 751-8").
func codeWords(key string) string {
	system, code, ok := strings.Cut(key, "|")
	if !ok {
		return key
	}
	return screening.Coding{System: system, Code: code}.String()
}

// displayTime is an instant as people read it: "2026-11-20 12:00 UTC".
func displayTime(t time.Time) string {
	layout := "2006-01-02 15:04"
	if t.Second() != 0 {
		layout = "2006-01-02 15:04:05"
	}
	if _, off := t.Zone(); off == 0 {
		return t.Format(layout) + " UTC"
	}
	return t.Format(layout + " -07:00")
}

// outcomeWords gives each outcome a mark and a word, so that it never rests on colour.
func outcomeWords(o screening.Outcome) (mark, label string) {
	switch o {
	case screening.Pass:
		return "✓", "Pass"
	case screening.Fail:
		return "✗", "Fail"
	case screening.Unknown:
		return "?", "Unknown"
	case screening.Review:
		return "!", "Review"
	}
	return "?", string(o)
}

// verdictWords is the verdict as a headline and a sentence on what follows from it.
func verdictWords(r *screening.Screening) (headline, why string) {
	n := r.Counts
	switch r.Verdict {
	case screening.PotentiallyEligible:
		return "Potentially eligible", fmt.Sprintf("No criterion fails and none is unknown. %s before enrolment.",
			plural(n.Review, "item needs a person's decision", "items need a person's decision"))
	case screening.Ineligible:
		var failed []string
		for _, c := range r.Criteria {
			if c.Outcome == screening.Fail {
				failed = append(failed, c.ID)
			}
		}
		return "Ineligible", fmt.Sprintf("%s: %s.", plural(n.Fail, "criterion fails", "criteria fail"), strings.Join(failed, ", "))
	case screening.InsufficientData:
		return "Insufficient data", fmt.Sprintf("No criterion fails, but %s. Obtain the data listed below and screen again.",
			plural(n.Unknown, "is unknown", "are unknown"))
	}
	return string(r.Verdict), ""
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// reasonWords are the reason codes in plain words; an unlisted code shows as itself.
func reasonWords(r screening.Reason) string {
	if w, ok := reasonText[r]; ok {
		return w
	}
	return string(r)
}

var reasonText = map[screening.Reason]string{
	screening.ReasonMet:           "rule met",
	screening.ReasonNotMet:        "rule not met",
	screening.ReasonNotFound:      "nothing found",
	screening.ReasonFound:         "finding on record",
	screening.ReasonNotApplicable: "does not apply",
	screening.ReasonNoData:        "no data",
	screening.ReasonStale:         "results too old",
	screening.ReasonNotFinal:      "results not final",
	screening.ReasonUnit:          "unit not convertible",
	screening.ReasonConflict:      "results conflict",
	screening.ReasonSourceError:   "data source failed or partial",
	screening.ReasonUnreadable:    "an entry could not be read",
	screening.ReasonNotRoomAir:    "not shown to be on room air",
	screening.ReasonUncoded:       "result not coded",
	screening.ReasonInconclusive:  "result given only as a bound",
	screening.ReasonManual:        "a person decides",
	screening.ReasonJudgement:     "needs clinical judgement",
	screening.ReasonMethod:        "not the required method",
	screening.ReasonFreeText:      "free-text result",
	screening.ReasonUndated:       "finding has no date",
	screening.ReasonOlderPositive: "older positive result",
	screening.ReasonPending:       "may change before treatment",
}
