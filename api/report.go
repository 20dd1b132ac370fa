package api

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
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

var reportTemplate = newReportTemplate()

// newReportTemplate parses the report page afresh: a page that adds to it (the review
// decisions, defining "review-decisions") parses its own copy, since html/template
// cannot clone a template that has already run.
func newReportTemplate() *template.Template {
	return template.Must(template.New("report").Parse(reportSource))
}

// reportCSP allows the page's one <style> element by its hash (not 'unsafe-inline', so an
// injected style could not restyle the report) and nothing else but its own forms (the
// review decisions and sign-out, posted to this service): no scripts, frames or
// fetches. The page holds patient data.
var reportCSP = "default-src 'none'; style-src '" + styleHash(reportSource) + "'; img-src data:; " +
	"base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// styleHash is the CSP hash of the template's <style> element. The element must hold no
// template actions, so that the page carries exactly these bytes.
func styleHash(src string) string {
	_, rest, ok := strings.Cut(src, "<style>")
	css, _, ok2 := strings.Cut(rest, "</style>")
	if !ok || !ok2 || strings.Contains(css, "{{") || strings.Contains(css, "/*") || strings.Count(src, "<style") != 1 {
		panic("api: a page template needs exactly one <style> element, without template actions or comments (html/template drops CSS comments, so the hash would not match)")
	}
	sum := sha256.Sum256([]byte(css))
	return "sha256-" + base64.StdEncoding.EncodeToString(sum[:])
}

// renderReport writes the coordinator's HTML report of a screening of the configured
// source, its evidence linked to that source's FHIR server when it has one, and, when it
// was stored, what changed since the patient's previous screening.
func (s *Server) renderReport(c echo.Context, result *screening.Screening) error {
	ctx := c.Request().Context()
	return s.renderReportLinked(c, result, s.resourceLink(), s.sinceAnswered(ctx, result), s.freshReviewPanel(ctx, result))
}

// renderReportLinked writes the HTML report with evidence linked by link (nil: plain
// references), when since is not nil what changed since the previous screening, when
// panel is not nil the review decisions, and the signed-in person in the header.
func (s *Server) renderReportLinked(c echo.Context, result *screening.Screening, link func(ref string) string, since *sinceView, panel *reviewPanelView) error {
	var buf bytes.Buffer
	page := buildReport(result, link)
	page.Since = since
	page.User = s.signedIn(c)
	page.withPanel(panel)
	// Rendered whole before anything is sent, so a template error is a clean 500 and
	// never half a report.
	if err := reportPageTemplate.Execute(&buf, page); err != nil {
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
