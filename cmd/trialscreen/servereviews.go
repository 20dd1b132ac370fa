package main

import (
	"context"

	"github.com/trialscreen/trialscreen/api"
	"github.com/trialscreen/trialscreen/store"
)

// The api finds these capabilities on Config.Screenings by type: the store behind serve
// must have each, or its routes answer 404 ("does not store ...") and the report shows
// no changes since the previous screening.
var (
	_ api.PreviousScreenings = (*serveStore)(nil)
	_ api.ReviewStore        = (*serveStore)(nil)
	_ api.DecisionsOnSave    = (*serveStore)(nil)
	_ api.FeedbackStore      = (*serveStore)(nil)
)

func (s *serveStore) Previous(ctx context.Context, q store.PreviousQuery) (store.Screening, error) {
	return withStore(s, func(st *store.Store) (store.Screening, error) { return st.Previous(ctx, q) })
}

func (s *serveStore) SaveReadingDecisions(ctx context.Context, sc store.Screening) ([]store.Decision, error) {
	return withStore(s, func(st *store.Store) ([]store.Decision, error) { return st.SaveReadingDecisions(ctx, sc) })
}

func (s *serveStore) SaveDecision(ctx context.Context, d store.Decision) error {
	return withStoreErr(s, func(st *store.Store) error { return st.SaveDecision(ctx, d) })
}

func (s *serveStore) CurrentDecisions(ctx context.Context, patientID string) ([]store.Decision, error) {
	return withStore(s, func(st *store.Store) ([]store.Decision, error) { return st.CurrentDecisions(ctx, patientID) })
}

func (s *serveStore) DecisionHistory(ctx context.Context, patientID, criterion string, limit int) ([]store.Decision, error) {
	return withStore(s, func(st *store.Store) ([]store.Decision, error) {
		return st.DecisionHistory(ctx, patientID, criterion, limit)
	})
}

func (s *serveStore) SaveFeedback(ctx context.Context, fbs []store.Feedback) ([]string, error) {
	return withStore(s, func(st *store.Store) ([]string, error) { return st.SaveFeedback(ctx, fbs) })
}

func (s *serveStore) FeedbackFor(ctx context.Context, screeningID string) ([]store.Feedback, error) {
	return withStore(s, func(st *store.Store) ([]store.Feedback, error) { return st.FeedbackFor(ctx, screeningID) })
}
