package api

import (
	"context"
	_ "embed"
	"html/template"
	"net/url"

	"github.com/trialscreen/trialscreen/review"
	"github.com/trialscreen/trialscreen/screening"
	"github.com/trialscreen/trialscreen/store"
)

// reviewsSource defines the "review-panel" template. The report page parses it into its
// own set (reportTemplate) and includes the panel; reviewPanelTemplate is it alone.
//
//go:embed templates/reviews.html
var reviewsSource string

var reviewPanelTemplate = template.Must(template.New("reviews").Parse(reviewsSource))

// reviewPanelView is what the review panel shows of one stored screening.
type reviewPanelView struct {
	PatientID   string
	ScreeningID string
	Standing    string // the summary line, beside the computed verdict
	NotEligible bool   // a person decided a review item is not met
	Items       []reviewPanelItem
	Feedback    []feedbackView // the EHR's feedback on the card this screening was made for
	// StoredHref, on the report of a fresh screening, links to its stored report, where
	// decisions are made (a fresh report has no forms).
	StoredHref string
}

// reviewForm is one review item's form: for a caller who may decide, on a page that
// can carry the CSRF token (a signed-in session's, or none in demo mode).
type reviewForm struct {
	Action      string // POST /v1/patients/{id}/reviews/{criterion}
	Criterion   string
	ScreeningID string
	Current     string // the current decision, checked
	// CSRFField and CSRFToken: the field the csrf middleware checks (csrf.go), one name
	// on every form.
	CSRFField, CSRFToken string
	Choices              []reviewChoice
}

type reviewChoice struct{ Value, Label string }

// reviewChoices are the decisions a form offers, in review.Decisions' order.
var reviewChoices = []reviewChoice{{review.Met, "Met"}, {review.NotMet, "Not met"}, {review.NotApplicable, "Not applicable"}}

type reviewPanelItem struct {
	Criterion string
	What      string // the screening's words for what to decide
	// Decision is the current decision ("" while open), with its words, who made it,
	// when, and the note.
	Decision, DecisionLabel string
	DecidedBy, DecidedAt    string
	Note                    string
	ToRecheck               bool        // the evidence it judged changed since
	Form                    *reviewForm // nil: the decision is shown, no form
}

// feedbackView is one piece of CDS Hooks feedback as the report words it.
type feedbackView struct {
	Outcome, OutcomeLabel string
	At                    string
	Reason, Comment       string
}

// buildReviewPanel puts a screening's review in the panel's words: the standing from
// review.Compute, each review item with its current decision and the note, and a form
// per item when canDecide (csrf is the token the forms carry).
func buildReviewPanel(patientID string, doc *screening.Screening, versions []store.EvidenceRef, decisions []store.Decision,
	feedback []store.Feedback, canDecide bool, csrf string) reviewPanelView {
	st := review.Compute(doc, versions, decisions)
	notes := make(map[string]string, len(decisions))
	for _, d := range decisions {
		notes[d.Criterion] = d.Note // decisions are the current ones: one per criterion
	}
	what := make(map[string]string, len(doc.ReviewItems))
	for _, it := range doc.ReviewItems {
		what[it.Criterion] = it.What
	}
	v := reviewPanelView{
		PatientID: patientID, ScreeningID: doc.ScreeningID, Standing: st.Summary, NotEligible: st.NotEligible,
	}
	for _, it := range st.Items {
		pi := reviewPanelItem{Criterion: it.Criterion, What: what[it.Criterion], Decision: it.Decision, ToRecheck: it.ToRecheck}
		if canDecide {
			pi.Form = &reviewForm{Action: "/v1/patients/" + url.PathEscape(patientID) + "/reviews/" + url.PathEscape(it.Criterion),
				Criterion: it.Criterion, ScreeningID: doc.ScreeningID, Current: it.Decision,
				CSRFField: CSRFField, CSRFToken: csrf, Choices: reviewChoices}
		}
		if it.Decision != "" {
			pi.DecisionLabel, pi.Note, pi.DecidedBy = choiceLabel(it.Decision), notes[it.Criterion], it.DecidedBy
			if it.DecidedUser != "" {
				pi.DecidedBy = it.DecidedUser
			}
			if it.DecidedAt != nil {
				pi.DecidedAt = displayTime(*it.DecidedAt)
			}
		}
		v.Items = append(v.Items, pi)
	}
	for _, fb := range feedback {
		fv := feedbackView{Outcome: fb.Outcome, OutcomeLabel: "Accepted", At: displayTime(fb.OutcomeAt)}
		if fb.Outcome == "overridden" {
			fv.OutcomeLabel = "Overridden"
		}
		for _, r := range fb.Reasons {
			fv.Reason, fv.Comment = r.Display, r.Comment
			if fv.Reason == "" && r.Code != "" {
				fv.Reason = r.System + " " + r.Code
			}
		}
		v.Feedback = append(v.Feedback, fv)
	}
	return v
}

func choiceLabel(decision string) string {
	for _, c := range reviewChoices {
		if c.Value == decision {
			return c.Label
		}
	}
	return decision
}

// reviewPanel reads what the panel of a stored screening needs: the patient's current
// decisions and the feedback on its card. Nil when the store keeps no decisions; a
// store failure leaves the parts it could not read out (and is logged), so the report
// still shows.
func (s *Server) reviewPanel(ctx context.Context, sc store.Screening, doc *screening.Screening, canDecide bool, csrf string) *reviewPanelView {
	rs, ok := s.cfg.Screenings.(ReviewStore)
	if !ok {
		return nil
	}
	decisions, err := s.currentDecisions(ctx, rs, sc.PatientID)
	if err != nil {
		s.log.Warn("report: review decisions not read", "error", err.Error())
		return nil
	}
	var feedback []store.Feedback
	if fs, ok := s.cfg.Screenings.(FeedbackStore); ok && sc.CardUUID != "" {
		err := s.storeCall(ctx, storeOpFeedback, func(ctx context.Context) (err error) {
			feedback, err = fs.FeedbackFor(ctx, sc.ID)
			return err
		})
		if err != nil {
			s.log.Warn("report: cds feedback not read", "error", err.Error())
		}
	}
	v := buildReviewPanel(sc.PatientID, doc, sc.Evidence, decisions, feedback, canDecide, csrf)
	return &v
}
