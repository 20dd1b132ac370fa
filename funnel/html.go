package funnel

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"strconv"
	"strings"
)

//go:embed page.html.tmpl
var pageSource string

var pageTemplate = template.Must(template.New("page").Parse(pageSource))

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
