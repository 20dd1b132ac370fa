package api

import (
	"context"
	"errors"
	"html/template"

	"github.com/trialscreen/trialscreen/screening"
	"github.com/trialscreen/trialscreen/store"
)

// reportPageTemplate is the report page as served: report.html with its empty blocks
// filled by the review panel's parts (reviews.html) and the signed-in person
// (signedin.html). report.html stays a page of its own (newReportTemplate), which the
// report's tests render without a store.
var reportPageTemplate = func() *template.Template {
	t := newReportTemplate()
	for _, src := range []string{reviewsSource, signedInSource, reportReviewBlocks} {
		template.Must(t.Parse(src))
	}
	return t
}()

// reportReviewBlocks fills report.html's blocks: each review item's decision and form
// after the item, the standing (and feedback) under the verdict, the person in the
// header.
const reportReviewBlocks = `{{define "review-decisions"}}{{with .Panel}}{{template "review-item" .}}{{end}}{{end}}` +
	`{{define "review-standing-block"}}{{with .Panel}}{{template "review-standing" .}}{{end}}{{end}}` +
	`{{define "page-user"}}{{template "signed-in" .User}}{{end}}`

// withPanel puts the panel on the page: its items beside the report's review items.
func (p *reportPage) withPanel(panel *reviewPanelView) {
	p.Panel = panel
	if panel == nil {
		return
	}
	for i := range p.Review {
		for j := range panel.Items {
			if panel.Items[j].Criterion == p.Review[i].Criterion {
				p.Review[i].Panel = &panel.Items[j]
			}
		}
	}
}

// freshReviewPanel is the panel of a screening just made: the patient's decisions and
// where they stand, without forms (decisions are made on the stored report, which it
// links to). Nil when the screening was not stored.
func (s *Server) freshReviewPanel(ctx context.Context, result *screening.Screening) *reviewPanelView {
	if result.ScreeningID == "" || s.cfg.Screenings == nil {
		return nil
	}
	sc, err := s.readStored(ctx, result.ScreeningID)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			s.log.Warn("report: stored screening not read for its review", "error", err.Error())
		}
		return nil
	}
	panel := s.reviewPanel(ctx, sc, result, false, "")
	if panel != nil {
		panel.StoredHref = storedScreeningPath(result.ScreeningID)
	}
	return panel
}
