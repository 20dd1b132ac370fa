package api

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/trialscreen/trialscreen/screening"
	"github.com/trialscreen/trialscreen/store"
)

// The worklist page is a server-rendered template like the report: CSS inline, no
// JavaScript; its filter form is a plain GET, so filtering changes nothing and a
// filtered page is a link that can be kept.
//
//go:embed templates/worklist.html
var worklistSource string

var worklistTemplate = template.Must(template.Must(template.New("worklist").Parse(worklistSource)).Parse(signedInSource))

// worklistCSP is the report's policy, with the page's own form (a GET to itself) allowed.
var worklistCSP = "default-src 'none'; style-src '" + styleHash(worklistSource) + "'; img-src data:; " +
	"base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// worklistPage is what the template shows.
type worklistPage struct {
	Filter   worklistFilter
	Verdicts []verdictOption
	Rows     []worklistRow
	Next     string // the next page's URL, with the same filters; "": the last page
	Filtered bool
	User     *signedInView // the signed-in person, in the header; nil: none
}

type verdictOption struct {
	Value, Label string
	Selected     bool
}

// worklistRow is a patient, in the words and formats people read.
type worklistRow struct {
	Name, ID, Gender, BirthDate string
	Verdict, VerdictText        string
	Screened, ScreenedISO       string
	Since, SinceISO             string // when the current potentially-eligible run began
	Previous                    string // the previous verdict, in words
	ToObtain                    []store.ObtainItem
	Review                      string // "3 review items"; "" when none
	Report                      string
}

// getWorklistPage is GET /: the worklist for browsers.
func (s *Server) getWorklistPage(c echo.Context) error {
	f, page, err := s.readWorklist(c)
	if err != nil {
		return err
	}
	p := worklistPage{Filter: f, Filtered: f.Verdict != "" || f.EligibleSince != "" || f.WaitsForData || f.Search != "", User: s.signedIn(c)}
	for _, v := range []screening.Verdict{screening.PotentiallyEligible, screening.InsufficientData, screening.Ineligible} {
		p.Verdicts = append(p.Verdicts, verdictOption{Value: string(v), Label: verdictHeadline(v), Selected: string(v) == f.Verdict})
	}
	for _, e := range page.Items {
		row := worklistRow{Name: e.Name, ID: e.PatientID, Gender: e.Gender, BirthDate: e.BirthDate,
			Verdict: e.Verdict, VerdictText: verdictHeadline(screening.Verdict(e.Verdict)),
			Screened: e.Created.Format(worklistTimeLayout), ScreenedISO: e.Created.Format(time.RFC3339),
			ToObtain: e.ToObtain, Report: storedScreeningPath(e.ScreeningID)}
		if !e.EligibleSince.IsZero() {
			row.Since, row.SinceISO = e.EligibleSince.Format(worklistTimeLayout), e.EligibleSince.Format(time.RFC3339)
		}
		if e.PreviousVerdict != "" && e.PreviousVerdict != e.Verdict {
			row.Previous = verdictHeadline(screening.Verdict(e.PreviousVerdict))
		}
		if e.ReviewCount > 0 {
			row.Review = plural(e.ReviewCount, "item to review", "items to review")
		}
		p.Rows = append(p.Rows, row)
	}
	if page.Next != "" {
		p.Next = worklistURL(f, page.Next)
	}
	var buf bytes.Buffer
	if err := worklistTemplate.Execute(&buf, p); err != nil {
		return fmt.Errorf("worklist page: %w", err)
	}
	h := c.Response().Header()
	setReportPageHeaders(h)
	h.Set("Content-Security-Policy", worklistCSP)
	return c.Blob(http.StatusOK, "text/html; charset=utf-8", buf.Bytes())
}

// worklistTimeLayout is how the page writes an instant (UTC, to the minute).
const worklistTimeLayout = "2 Jan 2006 15:04 UTC"

// worklistURL is the page at cursor with the filters f.
func worklistURL(f worklistFilter, cursor string) string {
	q := url.Values{}
	if f.Verdict != "" {
		q.Set("verdict", f.Verdict)
	}
	if f.EligibleSince != "" {
		q.Set("eligible_since", f.EligibleSince)
	}
	if f.WaitsForData {
		q.Set("waits_for_data", "true")
	}
	if f.Search != "" {
		q.Set("q", f.Search)
	}
	if f.Limit != defaultWorklistSize {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	q.Set("cursor", cursor)
	return routeWorklistPage + "?" + q.Encode()
}
