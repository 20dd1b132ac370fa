package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/labstack/echo/v4"

	"github.com/trialscreen/trialscreen/screening"
	"github.com/trialscreen/trialscreen/store"
)

// PreviousScreenings is what the report needs of a store to say what changed since the
// patient's previous screening. store.Store implements it; a store without it gives
// reports without that section.
type PreviousScreenings interface {
	Previous(ctx context.Context, q store.PreviousQuery) (store.Screening, error)
}

// decodeStored reads a stored verdict document back.
func decodeStored(doc []byte, into *screening.Screening) error {
	if err := json.Unmarshal(doc, into); err != nil {
		return fmt.Errorf("stored verdict document: %w", err)
	}
	return nil
}

// readStored reads a stored screening by id: store.ErrNotFound when the store does not
// hold it, a storeUnavailable (503) when the store fails.
func (s *Server) readStored(ctx context.Context, id string) (store.Screening, error) {
	var sc store.Screening
	err := s.storeCall(ctx, storeOpGet, func(ctx context.Context) (err error) {
		sc, err = s.cfg.Screenings.Get(ctx, id)
		return err
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return store.Screening{}, err
	case err != nil:
		return store.Screening{}, &storeUnavailable{err: err}
	}
	return sc, nil
}

// renderStoredReport writes a stored screening's HTML report, the same page as a live
// one, with what changed since the patient's previous screening from the same source,
// and the review panel: the decisions, and the forms for a caller who may make them.
// link may be nil (evidence references as plain text).
func (s *Server) renderStoredReport(c echo.Context, sc store.Screening, link func(string) string) error {
	var res screening.Screening
	if err := decodeStored(sc.Document, &res); err != nil {
		return fmt.Errorf("stored screening report: %w", err)
	}
	ctx := c.Request().Context()
	forms, csrf := s.pageForms(c)
	return s.renderReportLinked(c, &res, link, s.since(ctx, sc, &res), s.reviewPanel(ctx, sc, &res, forms, csrf))
}
