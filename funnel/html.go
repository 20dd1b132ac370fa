package funnel

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"
)

//go:embed page.html.tmpl
var pageSource string

var pageTemplate = template.Must(template.New("page").Funcs(template.FuncMap{
	"maxListed": func() int { return MaxListed },
}).Parse(pageSource))

// Chart geometry, in SVG user units (the chart scales to the page width).
const (
	chartWidth = 800
	labelWidth = 210 // criterion ids, left of the bars
	barWidth   = 320 // a bar for every patient screened
	rowHeight  = 22
	barHeight  = 14
	chartTop   = 8
)

// WriteHTML writes the funnel as a self-contained HTML page: the verdict mix, an inline
// SVG chart of the attrition and one of each criterion's outcomes, and a table with every
// count. No scripts, no external assets; html/template escapes all protocol text.
func (f *Funnel) WriteHTML(w io.Writer) error {
	if err := pageTemplate.Execute(w, newPage(f.Report())); err != nil {
		return fmt.Errorf("funnel: writing HTML: %w", err)
	}
	return nil
}

// page is what the template reads: the report plus the charts' geometry.
type page struct {
	Report
	AttritionChart chart
	OutcomeChart   chart
	Legend         []segment
	TopReasons     [][]ReasonCount // per criterion, the first topReasons
	MoreReason     []int           // per criterion, how many reasons are not shown
	AsOfText       string          // the as-of as people read it; a span when it varies
	RunAtText      string          // when the run started, as people read it
	Groups         []patientGroup
}

// patientGroup is one verdict's patients on the page, each linked to their report.
type patientGroup struct {
	Verdict, Heading string
	Count, More      int
	Patients         []patientLink
}

type patientLink struct {
	ID, Href string
	Stored   bool // the link opens the stored screening the run made
}

// verdictHeadings are the verdicts as the page names them.
var verdictHeadings = map[string]string{
	"potentially-eligible": "Potentially eligible",
	"insufficient-data":    "Insufficient data",
	"ineligible":           "Ineligible",
}

// reportHref is where a listed patient's report opens on the service: the screening the
// run stored, when it stored one, else the patient's screening, screened anew at asOf
// (the run's one as-of; "" when the documents' as-of vary). Root-relative: the page is
// served by the service that ran the batch.
func reportHref(e PatientEntry, asOf string) string {
	if e.ScreeningID != "" {
		return "/v1/screenings/" + url.PathEscape(e.ScreeningID)
	}
	href := "/v1/patients/" + url.PathEscape(e.ID) + "/screening"
	if asOf != "" {
		href += "?as_of=" + url.QueryEscape(asOf)
	}
	return href
}

// asOfWords is the as-of span as people read it.
func asOfWords(s *AsOfSpan) string {
	if s == nil {
		return "none (no patient screened)"
	}
	first, last := readableInstant(s.First), readableInstant(s.Last)
	if first == last {
		return first
	}
	return "from " + first + " to " + last
}

// readableInstant is an RFC 3339 instant as "2026-11-20 12:00 UTC".
func readableInstant(s string) string {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return s
	}
	layout := "2006-01-02 15:04"
	if t.Second() != 0 || t.Nanosecond() != 0 {
		layout = "2006-01-02 15:04:05"
	}
	return t.UTC().Format(layout) + " UTC"
}

type chart struct {
	Width, Height      int
	LabelX, BarX, BarW int // ids end at LabelX; the full bar spans BarX to BarX+BarW
	BarH               int
	Rows               []chartRow
}

type chartRow struct {
	ID, Label    string // Label is ID clipped to fit left of the bar
	Y, BarY, TxY int
	Segments     []segment
	Text         string // the counts in words, right of the bar
	TextX        string
}

type segment struct {
	Class, Name string
	X, W        string
	Y           int
	Count       int
}

func newPage(r Report) page {
	p := page{Report: r}
	scale := 0.0
	if r.Patients > 0 {
		scale = float64(barWidth) / float64(r.Patients)
	}
	p.AttritionChart.Rows = make([]chartRow, len(r.Criteria))
	p.OutcomeChart.Rows = make([]chartRow, len(r.Criteria))
	for i, c := range r.Criteria {
		s := r.Attrition.Steps[i]
		y := chartTop + i*rowHeight
		row := chartRow{ID: c.ID, Label: clip(c.ID, 30), Y: y, BarY: y + (rowHeight-barHeight)/2, TxY: y + rowHeight/2 + 4}
		a := row
		a.Segments = []segment{{Class: "remaining", Name: "remaining", X: num(labelWidth), W: num(float64(s.After) * scale), Y: row.BarY, Count: s.After}}
		a.Text = fmt.Sprintf("%d remaining (%s), %d removed", s.After, percent(s.After, r.Patients), s.Removed)
		a.TextX = num(labelWidth + barWidth + 6)
		p.AttritionChart.Rows[i] = a

		o := row
		x := float64(labelWidth)
		for _, sg := range []segment{{Class: "pass", Name: "pass", Count: c.Pass}, {Class: "fail", Name: "fail", Count: c.Fail},
			{Class: "unknown", Name: "unknown", Count: c.Unknown}, {Class: "review", Name: "review", Count: c.Review}} {
			if sg.Count == 0 {
				continue
			}
			w := float64(sg.Count) * scale
			sg.X, sg.W, sg.Y = num(x), num(w), row.BarY
			x += w
			o.Segments = append(o.Segments, sg)
		}
		o.Text = fmt.Sprintf("pass %d, fail %d, unknown %d, review %d", c.Pass, c.Fail, c.Unknown, c.Review)
		o.TextX = a.TextX
		p.OutcomeChart.Rows[i] = o

		p.TopReasons = append(p.TopReasons, c.UnknownReasons[:min(topReasons, len(c.UnknownReasons))])
		p.MoreReason = append(p.MoreReason, max(0, len(c.UnknownReasons)-topReasons))
	}
	h := 2*chartTop + len(r.Criteria)*rowHeight
	for _, c := range []*chart{&p.AttritionChart, &p.OutcomeChart} {
		c.Width, c.Height = chartWidth, h
		c.LabelX, c.BarX, c.BarW, c.BarH = labelWidth-6, labelWidth, barWidth, barHeight
	}
	p.AsOfText = asOfWords(r.AsOf)
	if r.RunAt != "" {
		p.RunAtText = readableInstant(r.RunAt)
	}
	asOf := ""
	if r.AsOf != nil && r.AsOf.First == r.AsOf.Last {
		asOf = r.AsOf.First
	}
	for _, g := range r.ByVerdict {
		pg := patientGroup{Verdict: g.Verdict, Heading: verdictHeadings[g.Verdict], Count: g.Count, More: g.More}
		for _, e := range g.Listed {
			pg.Patients = append(pg.Patients, patientLink{ID: e.ID, Href: reportHref(e, asOf), Stored: e.ScreeningID != ""})
		}
		p.Groups = append(p.Groups, pg)
	}
	p.Legend = []segment{{Class: "pass", Name: "pass"}, {Class: "fail", Name: "fail"}, {Class: "unknown", Name: "unknown"}, {Class: "review", Name: "review"}}
	return p
}

// num formats an SVG coordinate with one decimal, the same on every platform.
func num(v float64) string {
	return strings.TrimSuffix(strconv.FormatFloat(v, 'f', 1, 64), ".0")
}

// percent is n of total as a whole percentage ("–" when nobody was screened).
func percent(n, total int) string {
	if total == 0 {
		return "–"
	}
	return strconv.Itoa((n*100+total/2)/total) + "%"
}
