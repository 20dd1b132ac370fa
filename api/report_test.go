package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/net/html"

	"github.com/trialscreen/trialscreen/demo"
	"github.com/trialscreen/trialscreen/fhirclient"
	"github.com/trialscreen/trialscreen/protocols"
	"github.com/trialscreen/trialscreen/screening"
)

// reportTestRoute serves renderReport for a patient of the configured source. The REST
// route that content-negotiates the page lives in rest.go; this keeps these tests about
// the page alone.
const reportTestRoute = "/test-report/:id"

// newReportServer builds a demo-mode Server over src (nil: the demo patients) with the
// test route.
func newReportServer(t *testing.T, src screening.Source) *Server {
	t.Helper()
	p, err := protocols.LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	if src == nil {
		if src, err = demo.NewSource(p); err != nil {
			t.Fatal(err)
		}
	}
	m, err := NewMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{
		Protocol: p, Source: src, Demo: true, DefaultAsOf: demo.DefaultAsOf, Now: (&testClock{}).Now,
		Audit: NewAuditLog(io.Discard, "test"), Metrics: m,
	})
	if err != nil {
		t.Fatal(err)
	}
	s.echo.GET(reportTestRoute, func(c echo.Context) error {
		st, err := s.settings(c.QueryParam("as_of"), "")
		if err != nil {
			return err
		}
		result, err := s.screen(c.Request().Context(), screenRequest{
			Surface: surfaceReport, PatientID: c.Param("id"), SourceName: "demo", Settings: st,
		})
		if err != nil {
			return err
		}
		return s.renderReport(c, result)
	})
	return s
}

// getReport fetches a patient's report page and checks what every report response
// carries: 200, HTML, and the security headers.
func getReport(t *testing.T, s *Server, patientID string) *html.Node {
	t.Helper()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/test-report/"+patientID, nil)
	req.Header.Set("Accept", "text/html")
	s.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d, body %s", rec.Code, rec.Body.String())
	}
	checkReportHeaders(t, rec.Header(), rec.Body.Bytes())
	doc, err := html.Parse(bytes.NewReader(rec.Body.Bytes()))
	if err != nil {
		t.Fatalf("the page does not parse as HTML: %v", err)
	}
	return doc
}

func checkReportHeaders(t *testing.T, h http.Header, body []byte) {
	t.Helper()
	want := map[string]string{
		"Content-Type":           "text/html; charset=utf-8",
		"X-Content-Type-Options": "nosniff",
		"Cache-Control":          "no-store",
		"Referrer-Policy":        "no-referrer",
	}
	for k, v := range want {
		if got := h.Get(k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
	csp := h.Get("Content-Security-Policy")
	for _, d := range []string{"default-src 'none'", "img-src data:", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, d) {
			t.Errorf("Content-Security-Policy %q lacks %q", csp, d)
		}
	}
	if strings.Contains(csp, "script-src") || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("Content-Security-Policy %q allows scripts or any inline style", csp)
	}
	// The style hash must be that of the style the page carries, or browsers drop it.
	_, rest, _ := bytes.Cut(body, []byte("<style>"))
	css, _, _ := bytes.Cut(rest, []byte("</style>"))
	sum := sha256.Sum256(css)
	if want := "style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"; !strings.Contains(csp, want) {
		t.Errorf("Content-Security-Policy %q does not allow the page's style (%s)", csp, want)
	}
}

func TestReportDemoPatients(t *testing.T) {
	p, err := protocols.LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	src, err := demo.NewSource(p)
	if err != nil {
		t.Fatal(err)
	}
	s := newReportServer(t, src)
	tests := []struct {
		patient  string
		verdict  string // the headline
		outcomes map[string]string
		words    []string // shown in the criteria table as people write them
	}{
		{"demo-candidate", "Potentially eligible", map[string]string{"age": "pass", "life-expectancy": "review"},
			[]string{"Negative", "×10⁹/L", "62 years", "ALT ≤ 2.5 × ULN; ULN 40 U/L from the lab's range"}},
		{"demo-ineligible-labs", "Ineligible", map[string]string{"neutrophils": "fail", "platelets": "fail", "creatinine-clearance": "fail"},
			[]string{"CrCl 39 mL/min", "133 µmol/L", "Platelets ≥ 50 ×10⁹/L; latest result within 14 days", "Negative"}},
		{"demo-ineligible-exclusion", "Ineligible", map[string]string{"cns-malignancy": "fail", "pulmonary-fibrosis": "fail"}, nil},
		{"demo-insufficient-data", "Insufficient data", map[string]string{"ecog": "unknown", "neutrophils": "unknown", "age": "pass"},
			[]string{"ANC ≥ 1 ×10⁹/L"}},
	}
	for _, tt := range tests {
		t.Run(tt.patient, func(t *testing.T) {
			rec, err := src.Record(context.Background(), tt.patient)
			if err != nil {
				t.Fatal(err)
			}
			want := p.Evaluate(rec, screening.Settings{AsOf: demo.AsOf()})
			doc := getReport(t, s, tt.patient)

			// The verdict, prominent, with its counts.
			verdict := nodeWhere(t, doc, func(n *html.Node) bool { return nodeAttr(n, "id") == "verdict" })
			if got := nodeAttr(verdict, "data-verdict"); got != string(want.Verdict) {
				t.Errorf("data-verdict %q, want %q", got, want.Verdict)
			}
			headline := nodeWhere(t, verdict, nodeClass("headline"))
			if got := nodeText(headline); got != tt.verdict {
				t.Errorf("verdict headline %q, want %q", got, tt.verdict)
			}
			counts := nodeText(nodeWhere(t, verdict, nodeClass("counts")))
			for _, c := range []struct {
				n    int
				word string
			}{{want.Counts.Pass, "pass"}, {want.Counts.Fail, "fail"}, {want.Counts.Unknown, "unknown"}, {want.Counts.Review, "review"}} {
				if w := strconv.Itoa(c.n) + " " + c.word; !strings.Contains(counts, w) {
					t.Errorf("counts %q lack %q", counts, w)
				}
			}
			page := nodeText(doc)
			wantShown := []string{want.Patient.Reference, "2026-11-20 12:00 UTC", want.Protocol.ID + ", version " + want.Protocol.Version,
				"final, amended, corrected", want.Patient.Name, want.Patient.Gender, want.Patient.BirthDate}
			for _, w := range wantShown {
				if w == "" || !strings.Contains(page, w) {
					t.Errorf("the page does not show %q", w)
				}
			}
			if got := nodeText(nodeWhere(t, doc, func(n *html.Node) bool { return nodeAttr(n, "id") == "patient-name" })); got != want.Patient.Name {
				t.Errorf("the heading names %q, want the patient %q", got, want.Patient.Name)
			}

			// All 39 criteria, each with its outcome: those that decide the verdict
			// (fail for ineligible, unknown for insufficient data) first, each group in
			// protocol order.
			table := nodeWhere(t, doc, func(n *html.Node) bool { return n.Data == "table" && nodeAttr(n, "id") == "criteria" })
			rows := nodesWhere(table, func(n *html.Node) bool { return n.Data == "tr" && nodeHasAttr(n, "data-criterion") })
			if len(rows) != 39 || len(want.Criteria) != 39 {
				t.Fatalf("%d criterion rows (the screening has %d), want 39", len(rows), len(want.Criteria))
			}
			order := wantOrder(want)
			// The table's own words (the protocol's wording is quoted as written).
			var ownWords []string
			for n := range table.Descendants() {
				if n.Type == html.TextNode && !nodeClass("ctext")(n.Parent) {
					ownWords = append(ownWords, n.Data)
				}
			}
			tableText := strings.Join(strings.Fields(strings.Join(ownWords, " ")), " ")
			for i, row := range rows {
				c := order[i]
				if got := nodeAttr(row, "data-criterion"); got != c.ID {
					t.Errorf("row %d is %q, want %q", i+1, got, c.ID)
				}
				if got := nodeAttr(row, "data-outcome"); got != string(c.Outcome) {
					t.Errorf("%s: data-outcome %q, want %q", c.ID, got, c.Outcome)
				}
				// The outcome reads as a word, not only as a colour.
				badge := nodeWhere(t, row, nodeClass("badge"))
				if got := strings.ToLower(nodeText(badge)); !strings.HasSuffix(got, string(c.Outcome)) {
					t.Errorf("%s: badge %q does not say %q", c.ID, got, c.Outcome)
				}
				rowText := nodeText(row)
				for _, w := range []string{readable(c.Summary), thresholdWords(c)} {
					if !strings.Contains(rowText, w) {
						t.Errorf("%s: row lacks %q", c.ID, w)
					}
				}
				switch {
				case c.Obtain == "":
				case want.Verdict == screening.Ineligible && strings.Contains(rowText, "To obtain"):
					t.Errorf("%s: an ineligible patient's row asks to obtain %q", c.ID, c.Obtain)
				case want.Verdict != screening.Ineligible && !strings.Contains(rowText, readable(c.Obtain)):
					t.Errorf("%s: row lacks what to obtain %q", c.ID, c.Obtain)
				}
				// Every evidence resource is named in its criterion's row (plain text: the
				// demo source has no FHIR base, so nothing links off the page).
				var got, wantRefs []string
				for _, r := range nodesWhere(row, nodeClass("ref")) {
					got = append(got, nodeText(r))
					if r.Data == "a" {
						t.Errorf("%s: evidence %q links somewhere without a FHIR base", c.ID, nodeAttr(r, "href"))
					}
				}
				for _, e := range c.Evidence {
					if e.Resource != "" {
						wantRefs = append(wantRefs, e.Resource)
					}
				}
				if strings.Join(got, " ") != strings.Join(wantRefs, " ") {
					t.Errorf("%s: evidence references %q, want %q", c.ID, got, wantRefs)
				}
			}
			for id, o := range tt.outcomes {
				if got := nodeAttr(nodeWhere(t, table, func(n *html.Node) bool { return nodeAttr(n, "data-criterion") == id }), "data-outcome"); got != o {
					t.Errorf("%s: %q, want %q", id, got, o)
				}
			}
			// Values as people write them: no raw UCUM annotations or powers, no four
			// decimals, and the record's words for coded results.
			for _, raw := range []string{"10*9/L", "{score}", "10*3/uL", " >= ", " <= "} {
				if strings.Contains(tableText, raw) {
					t.Errorf("the criteria table shows %q", raw)
				}
			}
			if m := regexp.MustCompile(`\d\.\d{3,}`).FindString(tableText); m != "" {
				t.Errorf("the criteria table shows %q, more decimals than a clinician writes", m)
			}
			for _, w := range tt.words {
				if !strings.Contains(tableText, w) {
					t.Errorf("the criteria table lacks %q", w)
				}
			}

			// The review items: a plain list, nothing to tick that would not be kept.
			review := nodeWhere(t, doc, func(n *html.Node) bool { return nodeAttr(n, "id") == "review" })
			if inputs := nodesWhere(review, func(n *html.Node) bool { return n.Data == "input" || n.Data == "form" }); len(inputs) != 0 {
				t.Errorf("the review list has %d inputs or forms, which save nothing", len(inputs))
			}
			items := nodesWhere(review, func(n *html.Node) bool { return n.Data == "li" })
			if len(items) != len(want.ReviewItems) || len(items) == 0 {
				t.Errorf("%d review list items for %d review items", len(items), len(want.ReviewItems))
			}
			for i, li := range items {
				if it := want.ReviewItems[i]; nodeAttr(li, "data-criterion") != it.Criterion || !strings.Contains(nodeText(li), readable(it.What)) {
					t.Errorf("review item %d reads %q, want %q of %s", i, nodeText(li), it.What, it.Criterion)
				}
			}

			// What to obtain, for each unknown; for an ineligible patient, nothing.
			obtain := nodesWhere(doc, func(n *html.Node) bool { return nodeAttr(n, "id") == "to-obtain" })
			if want.Verdict == screening.Ineligible {
				if len(obtain) != 0 {
					t.Errorf("an ineligible patient's report lists tests to obtain: %q", nodeText(obtain[0]))
				}
				return
			}
			if len(obtain) != 1 {
				t.Fatalf("%d to-obtain sections, want 1", len(obtain))
			}
			obtainItems := nodesWhere(obtain[0], func(n *html.Node) bool { return n.Data == "li" })
			if len(obtainItems) != want.Counts.Unknown || len(want.ToObtain) != want.Counts.Unknown {
				t.Fatalf("%d items to obtain, %d unknown criteria", len(obtainItems), want.Counts.Unknown)
			}
			for i, it := range want.ToObtain {
				if nodeAttr(obtainItems[i], "data-criterion") != it.Criterion || !strings.Contains(nodeText(obtainItems[i]), readable(it.What)) {
					t.Errorf("to obtain %d: %q, want %q for %s", i, nodeText(obtainItems[i]), it.What, it.Criterion)
				}
			}
		})
	}
}

// wantOrder is the order the report lists a screening's criteria in: those with the
// outcome that decides the verdict first, then the rest, each in protocol order.
func wantOrder(s *screening.Screening) []screening.Result {
	first := map[screening.Verdict]screening.Outcome{screening.Ineligible: screening.Fail, screening.InsufficientData: screening.Unknown}[s.Verdict]
	var head, tail []screening.Result
	for _, c := range s.Criteria {
		if first != "" && c.Outcome == first {
			head = append(head, c)
		} else {
			tail = append(tail, c)
		}
	}
	return append(head, tail...)
}

// linkedSource is the demo source with a FHIR base, as a FHIR server source would have.
type linkedSource struct {
	screening.Source
	base string
}

func (l linkedSource) FHIRBase() string { return l.base }

func TestReportLinksEvidenceToFHIRBase(t *testing.T) {
	p, err := protocols.LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	src, err := demo.NewSource(p)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, base, wantPrefix string
	}{
		{"base with a path", "https://fhir.example.org/R4", "https://fhir.example.org/R4/"},
		{"trailing slash", "https://fhir.example.org/R4/", "https://fhir.example.org/R4/"},
		{"not http: plain text", "javascript:alert(1)//", ""},
		{"no host: plain text", "/R4", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newReportServer(t, linkedSource{src, tt.base})
			doc := getReport(t, s, "demo-candidate")
			table := nodeWhere(t, doc, func(n *html.Node) bool { return nodeAttr(n, "id") == "criteria" })
			refs := nodesWhere(table, nodeClass("ref"))
			if len(refs) < 20 {
				t.Fatalf("%d evidence references, want the candidate's (more than 20)", len(refs))
			}
			for _, r := range refs {
				if tt.wantPrefix == "" {
					if r.Data == "a" {
						t.Errorf("%s links to %q from an unusable base", nodeText(r), nodeAttr(r, "href"))
					}
					continue
				}
				if want := tt.wantPrefix + nodeText(r); r.Data != "a" || nodeAttr(r, "href") != want {
					t.Errorf("evidence %s: <%s href=%q>, want a link to %q", nodeText(r), r.Data, nodeAttr(r, "href"), want)
				}
			}
		})
	}
}

func TestReportEscapesRecordText(t *testing.T) {
	const evil = `<script>alert("x")</script>`
	v := 1.0
	result := &screening.Screening{
		Patient:  screening.PatientRef{ID: evil, Reference: "Patient/" + evil},
		Verdict:  screening.InsufficientData,
		Protocol: screening.ProtocolRef{ID: "p", Version: "1", Title: evil},
		Settings: screening.SettingsReport{TimeZone: evil},
		Counts:   screening.Counts{Unknown: 1},
		Criteria: []screening.Result{{
			ID: "age", Kind: "inclusion", Outcome: screening.Unknown, Reason: screening.ReasonNoData,
			Summary: evil, Rule: evil, Text: evil, Obtain: evil,
			Evidence: []screening.Evidence{
				{Resource: "Observation/" + evil, Text: evil, Note: evil, Value: &v, Unit: evil, Date: evil},
				{Resource: `Observation/"onmouseover="alert(1)`}, // no slash in the id: linkable
			},
		}},
		ToObtain:    []screening.Item{{Criterion: "age", Reason: screening.ReasonNoData, What: evil}},
		ReviewItems: []screening.Item{{Criterion: "age", Reason: screening.ReasonManual, What: evil}},
		Data: screening.DataReport{
			Sources:    map[string]screening.SourceStatus{"Observation": {State: screening.FetchPartial, Detail: evil}},
			Unreadable: []screening.UnreadableEntry{{Index: 1, ResourceType: evil, Problem: evil}},
		},
	}
	tests := []struct {
		name   string
		linked bool // the source has a FHIR base, so references are links
	}{
		{"plain references", false},
		{"linked references", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			c := echo.New().NewContext(httptest.NewRequest(http.MethodGet, "/", nil), rec)
			s := &Server{}
			if tt.linked {
				s.cfg.Source = linkedSource{base: "https://fhir.example.org"}
			}
			if err := s.renderReport(c, result); err != nil {
				t.Fatal(err)
			}
			body := rec.Body.String()
			if strings.Contains(body, "<script") {
				t.Fatalf("record text reached the page unescaped:\n%s", body)
			}
			if n := strings.Count(body, "&lt;script&gt;"); n < 12 {
				t.Errorf("the escaped text shows %d times, want every field (12 or more)", n)
			}
			doc, err := html.Parse(strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			if s := nodesWhere(doc, func(n *html.Node) bool { return n.Data == "script" }); len(s) != 0 {
				t.Errorf("the page has %d script elements", len(s))
			}
			if tt.linked {
				// An id holding a slash is no resource id: shown, never linked.
				a := nodeWhere(t, doc, func(n *html.Node) bool { return n.Data == "a" && nodeClass("ref")(n) })
				if want := "https://fhir.example.org/Observation/%22onmouseover=%22alert%281%29"; nodeAttr(a, "href") != want || len(a.Attr) != 2 {
					t.Errorf("link %v, want only class and the id escaped in the path: %q", a.Attr, want)
				}
			}
		})
	}
}

// TestReportUnknownPatient: the report route's errors are the REST problem documents.
func TestReportUnknownPatient(t *testing.T) {
	s := newReportServer(t, nil)
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/test-report/nobody", nil))
	if rec.Code != http.StatusNotFound || rec.Header().Get("Content-Type") != "application/problem+json" ||
		!strings.Contains(rec.Body.String(), `"title":"Patient not found"`) {
		t.Errorf("got %d %s %s, want a 404 problem document", rec.Code, rec.Header().Get("Content-Type"), rec.Body.String())
	}
}

// HTML tree helpers.

func nodeAttr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func nodeHasAttr(n *html.Node, key string) bool {
	for _, a := range n.Attr {
		if a.Key == key {
			return true
		}
	}
	return false
}

func nodeClass(class string) func(*html.Node) bool {
	return func(n *html.Node) bool {
		return n.Type == html.ElementNode && strings.Contains(" "+nodeAttr(n, "class")+" ", " "+class+" ")
	}
}

func nodesWhere(root *html.Node, match func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	for n := range root.Descendants() {
		if n.Type == html.ElementNode && match(n) {
			out = append(out, n)
		}
	}
	return out
}

func nodeWhere(t *testing.T, root *html.Node, match func(*html.Node) bool) *html.Node {
	t.Helper()
	all := nodesWhere(root, match)
	if len(all) != 1 {
		t.Fatalf("found %d matching elements, want 1", len(all))
	}
	return all[0]
}

// text is an element's text with whitespace runs collapsed.
func nodeText(n *html.Node) string {
	var b strings.Builder
	for d := range n.Descendants() {
		if d.Type == html.TextNode {
			b.WriteString(d.Data)
		}
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

// A report screened from a FHIR server (fhirclient.RecordSource) links its evidence to
// that server: the source offers its base URL.
func TestReportLinksEvidenceOfFHIRClientSource(t *testing.T) {
	p, err := protocols.LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	fhir := newCDSFakeFHIR(t, "candidate")
	c, err := fhirclient.New(fhirclient.Config{BaseURL: fhir.srv.URL + "/", Attempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	src, err := fhirclient.NewRecordSource(c, p)
	if err != nil {
		t.Fatal(err)
	}
	doc := getReport(t, newReportServer(t, src), "demo-candidate")
	table := nodeWhere(t, doc, func(n *html.Node) bool { return nodeAttr(n, "id") == "criteria" })
	refs := nodesWhere(table, nodeClass("ref"))
	if len(refs) < 20 {
		t.Fatalf("%d evidence references, want the candidate's (more than 20)", len(refs))
	}
	for _, r := range refs {
		if want := fhir.srv.URL + "/" + nodeText(r); r.Data != "a" || nodeAttr(r, "href") != want {
			t.Errorf("evidence %s: <%s href=%q>, want a link to %q", nodeText(r), r.Data, nodeAttr(r, "href"), want)
		}
	}
}
