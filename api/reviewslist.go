package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/trialscreen/trialscreen/review"
	"github.com/trialscreen/trialscreen/screening"
	"github.com/trialscreen/trialscreen/store"
)

// reviewsAnswer is GET /v1/patients/{id}/reviews: the current decision on each criterion
// decided, and where the review of the patient's latest stored screening stands (absent
// when none is stored).
type reviewsAnswer struct {
	Patient     string           `json:"patient"`
	Decisions   []decisionView   `json:"decisions"`
	ScreeningID string           `json:"screening_id,omitempty"`
	Review      *review.Standing `json:"review,omitempty"`
}

// getReviews gives a patient's current decisions and the standing of the latest
// screening.
func (s *Server) getReviews(c echo.Context) error {
	id := c.Param("id")
	if err := checkFHIRID("id", id); err != nil {
		return err
	}
	rs, ok := s.cfg.Screenings.(ReviewStore)
	if !ok {
		return echo.NewHTTPError(http.StatusNotFound, errReviewsNotStored.Error())
	}
	ctx := c.Request().Context()
	decisions, err := s.currentDecisions(ctx, rs, id)
	if err != nil {
		return &storeUnavailable{err: err}
	}
	out := reviewsAnswer{Patient: id, Decisions: make([]decisionView, 0, len(decisions))}
	for _, d := range decisions {
		out.Decisions = append(out.Decisions, viewDecision(d))
	}
	latest, err := s.latestStored(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return err
	default:
		var doc screening.Screening
		if err := decodeStored(latest.Document, &doc); err != nil {
			return err
		}
		st := review.Compute(&doc, latest.Evidence, decisions)
		out.ScreeningID, out.Review = latest.ID, &st
	}
	caller := callerOf(c)
	s.cfg.Audit.Record(Access{Caller: caller.ID, User: caller.User, Surface: surfaceREST, PatientID: id, Source: "store",
		Address: remoteAddr(c.Request()), Details: map[string]string{"review-decisions-listed": strconv.Itoa(len(decisions))}})
	c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
	return c.JSON(http.StatusOK, out)
}

// latestStored reads a patient's newest stored screening: store.ErrNotFound when there
// is none, a storeUnavailable when the store fails.
func (s *Server) latestStored(ctx context.Context, patientID string) (store.Screening, error) {
	var page store.Page
	err := s.storeCall(ctx, storeOpList, func(ctx context.Context) (err error) {
		page, err = s.cfg.Screenings.ListByPatient(ctx, patientID, "", 1)
		return err
	})
	if err != nil {
		return store.Screening{}, &storeUnavailable{err: err}
	}
	if len(page.Items) == 0 {
		return store.Screening{}, store.ErrNotFound
	}
	return s.readStored(ctx, page.Items[0].ID)
}

// reviewHistory is GET /v1/patients/{id}/reviews/{criterion}: the decisions on the
// criterion, oldest first, the last one current; at most maxHistoryDecisions, the
// newest, with EarlierOmitted when there were more.
type reviewHistory struct {
	Patient        string         `json:"patient"`
	Criterion      string         `json:"criterion"`
	Decisions      []decisionView `json:"decisions"`
	EarlierOmitted bool           `json:"earlier_omitted,omitempty"`
}

// maxHistoryDecisions bounds a history answer: far more than a review item is decided
// in a patient's screening period, and a few MB at most with the longest notes, however
// many decisions a caller saves.
const maxHistoryDecisions = 200

// getReviewHistory gives who decided what on one review item, and when.
func (s *Server) getReviewHistory(c echo.Context) error {
	id, criterion := c.Param("id"), c.Param("criterion")
	if err := checkFHIRID("id", id); err != nil {
		return err
	}
	if !criterionPattern.MatchString(criterion) {
		return invalid("criterion", "is not a criterion id (1 to 64 of a-z 0-9 -)")
	}
	rs, ok := s.cfg.Screenings.(ReviewStore)
	if !ok {
		return echo.NewHTTPError(http.StatusNotFound, errReviewsNotStored.Error())
	}
	var decisions []store.Decision
	err := s.storeCall(c.Request().Context(), storeOpReview, func(ctx context.Context) (err error) {
		decisions, err = rs.DecisionHistory(ctx, id, criterion, maxHistoryDecisions+1)
		return err
	})
	if err != nil {
		return &storeUnavailable{err: err}
	}
	out := reviewHistory{Patient: id, Criterion: criterion}
	if len(decisions) > maxHistoryDecisions {
		decisions, out.EarlierOmitted = decisions[1:], true // oldest first: the oldest goes
	}
	out.Decisions = make([]decisionView, 0, len(decisions))
	for _, d := range decisions {
		out.Decisions = append(out.Decisions, viewDecision(d))
	}
	caller := callerOf(c)
	s.cfg.Audit.Record(Access{Caller: caller.ID, User: caller.User, Surface: surfaceREST, PatientID: id, Source: "store",
		Address: remoteAddr(c.Request()), Details: map[string]string{"review-criterion": criterion, "review-decisions-listed": strconv.Itoa(len(decisions))}})
	c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
	return c.JSON(http.StatusOK, out)
}
