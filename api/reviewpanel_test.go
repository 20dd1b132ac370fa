package api

import (
	"html/template"
	"strings"
	"testing"
	"time"

	"github.com/trialscreen/trialscreen/screening"
	"github.com/trialscreen/trialscreen/store"
)

// renderPanel renders the "review-panel" template: the parts the report page places
// (review-standing, review-item) together.
func renderPanel(t *testing.T, v reviewPanelView) string {
	t.Helper()
	var b strings.Builder
	if err := reviewPanelTemplate.ExecuteTemplate(&b, "review-panel", v); err != nil {
		t.Fatalf("review-panel: %v", err)
	}
	return b.String()
}

func panelDoc() *screening.Screening {
	return &screening.Screening{ScreeningID: "s2", Verdict: screening.PotentiallyEligible,
		ReviewItems: []screening.Item{{Criterion: "compliance", What: "Decide compliance"}, {Criterion: "life-expectancy", What: "Decide life expectancy"}},
		Criteria: []screening.Result{{ID: "compliance", Outcome: screening.Review}, {ID: "life-expectancy", Outcome: screening.Review,
			Evidence: []screening.Evidence{{Resource: "Observation/9"}}}}}
}

// A coordinator gets a form per item with the CSRF token, the current decision checked,
// the note escaped and "to re-check" where the evidence changed; the EHR's feedback is
// listed.
func TestReviewPanelRenders(t *testing.T) {
	at := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	decisions := []store.Decision{{Seq: 1, PatientID: "p/1", Criterion: "life-expectancy", Decision: "met", Note: "<script>x</script>",
		CallerID: "portal", CallerUser: "nurse-1", DecidedAt: at, ScreeningID: "s1", Evidence: []store.EvidenceRef{{Resource: "Observation/8"}}}}
	feedback := []store.Feedback{{Outcome: "overridden", OutcomeAt: at, Reasons: []store.OverrideReason{{Code: "c", System: "http://s", Comment: "later"}}}}
	v := buildReviewPanel("p/1", panelDoc(), nil, decisions, feedback, true, "tok&1")
	html := renderPanel(t, v)
	for _, want := range []string{
		`<p class="standing" id="review-standing">potentially eligible: 0 of 2 review items met, 1 to re-check, 1 open</p>`,
		`action="/v1/patients/p%2F1/reviews/life-expectancy"`,
		`<input type="hidden" name="` + CSRFField + `" value="tok&amp;1">`,
		`<input type="hidden" name="screening_id" value="s2">`,
		`value="met" checked`,
		`data-recheck="true"`,
		`to re-check: the evidence changed since this decision`,
		`by nurse-1 on`,
		`&lt;script&gt;x&lt;/script&gt;`,
		`Overridden on`, `http://s c`, `(later)`,
	} {
		if !strings.Contains(html, want) {
			t.Errorf("panel lacks %q:\n%s", want, html)
		}
	}
	if strings.Contains(html, "<script>") {
		t.Error("the note was not escaped")
	}
	if strings.Count(html, "<form") != 2 {
		t.Errorf("%d forms, want one per review item", strings.Count(html, "<form"))
	}
}

// A viewer sees the decisions without forms; a screening without review items says so;
// a not-met decision marks the standing.
func TestReviewPanelForViewer(t *testing.T) {
	decisions := []store.Decision{{Seq: 1, Criterion: "compliance", Decision: "not-met", CallerID: "portal", ScreeningID: "s2"}}
	html := renderPanel(t, buildReviewPanel("p1", panelDoc(), nil, decisions, nil, false, ""))
	if strings.Contains(html, "<form") || !strings.Contains(html, `class="standing not-eligible"`) || !strings.Contains(html, "Not met") {
		t.Errorf("viewer panel:\n%s", html)
	}
	empty := renderPanel(t, buildReviewPanel("p1", &screening.Screening{Verdict: screening.Ineligible}, nil, nil, nil, true, ""))
	if !strings.Contains(empty, "This screening has no review items.") || !strings.Contains(empty, "ineligible: no review items") {
		t.Errorf("panel without review items:\n%s", empty)
	}
}

// The panel parses into another template set, as the report's, with no functions.
func TestReviewPanelParsesIntoAnotherSet(t *testing.T) {
	set := template.Must(template.New("page").Parse(`<main>{{template "review-panel" .}}</main>`))
	if _, err := set.Parse(reviewsSource); err != nil {
		t.Fatalf("parse into another set: %v", err)
	}
	var b strings.Builder
	if err := set.Execute(&b, buildReviewPanel("p1", panelDoc(), nil, nil, nil, true, "")); err != nil || !strings.Contains(b.String(), "review-panel") {
		t.Errorf("execute: %v", err)
	}
}
