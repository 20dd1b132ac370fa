package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/trialscreen/trialscreen/store"
)

// CDS Hooks feedback (spec 2.0, "Feedback"): the EHR tells the service what a clinician
// did with a card, accepted or overridden (with a reason and a comment). It is stored
// against the screening the card was made from, which the card's uuid finds
// (screenings.card_uuid), and shown on that screening's report.

const (
	routeCDSFeedback = "/cds-services/" + cdsServiceID + "/feedback"
	// maxFeedbackBytes bounds a feedback body: a few cards' outcomes with a comment
	// each, far below a hook call's prefetch.
	maxFeedbackBytes = 64 << 10
	maxFeedbackItems = 50
	// maxFeedbackComment bounds a clinician's comment; maxFeedbackField any other string.
	maxFeedbackComment = 2000
	maxFeedbackField   = 256
)

// FeedbackStore is what feedback needs of the store; store.Store implements it.
type FeedbackStore interface {
	SaveFeedback(ctx context.Context, fbs []store.Feedback) ([]string, error)
	FeedbackFor(ctx context.Context, screeningID string) ([]store.Feedback, error)
}

var errFeedbackNotStored = errors.New("this service does not store screenings, so it takes no feedback on its cards")

// registerFeedback adds the feedback endpoint of the one service, its body bounded
// before anything reads it.
func (h *cdsHandler) registerFeedback(e *echo.Echo) {
	e.POST(routeCDSFeedback, h.feedback, middleware.BodyLimit(bodyLimit(maxFeedbackBytes)))
}

// feedbackRequest is the body: {"feedback": [Feedback, ...]}.
type feedbackRequest struct {
	Feedback []feedbackItem `json:"feedback"`
}

type feedbackItem struct {
	Card                string            `json:"card"`
	Outcome             string            `json:"outcome"`
	AcceptedSuggestions []json.RawMessage `json:"acceptedSuggestions"`
	OverrideReason      *struct {
		Reason *struct {
			Code    string `json:"code"`
			System  string `json:"system"`
			Display string `json:"display"`
		} `json:"reason"`
		UserComment string `json:"userComment"`
	} `json:"overrideReason"`
	OutcomeTimestamp string `json:"outcomeTimestamp"`
}

// feedback authenticates the EHR as for a hook call (its JWT's audience this endpoint),
// checks every item, and stores them all or none. 200 with no body on success.
func (h *cdsHandler) feedback(c echo.Context) error {
	s := h.s
	ehr, err := h.verifier.verifyFor(c.Request(), "/feedback")
	if err != nil {
		s.log.Info("cds feedback refused", "reason", err.Error())
		c.Response().Header().Set("WWW-Authenticate", `Bearer realm="cds-services"`)
		return c.NoContent(http.StatusUnauthorized)
	}
	fbs, err := decodeFeedback(c.Request(), ehr.issuer, s.cfg.Now().UTC())
	if err != nil {
		return err
	}
	fs, ok := s.cfg.Screenings.(FeedbackStore)
	if !ok {
		return echo.NewHTTPError(http.StatusNotFound, errFeedbackNotStored.Error())
	}
	err = s.storeCall(c.Request().Context(), storeOpFeedback, func(ctx context.Context) error {
		_, err := fs.SaveFeedback(ctx, fbs)
		return err
	})
	var uc *store.UnknownCardError
	var full *store.FeedbackFullError
	switch {
	case errors.As(err, &uc):
		return invalid(fmt.Sprintf("feedback[%d].card", uc.Index),
			"is not the uuid of a card this service returned to this EHR (or its screening could not be stored)")
	case errors.As(err, &full):
		return invalid(fmt.Sprintf("feedback[%d].card", full.Index),
			"has %d feedback records already; no more are kept for one card (none of this request was stored)", store.MaxFeedbackPerCard)
	case err != nil:
		return &storeUnavailable{err: err}
	}
	for _, fb := range fbs {
		s.cfg.Metrics.desk.feedback.WithLabelValues(fb.Outcome).Inc()
		// The card's uuid is random and names no patient; the comment is never logged.
		s.log.Info("cds feedback", "uuid", fb.CardUUID, "outcome", fb.Outcome, "reasons", len(fb.Reasons))
	}
	return c.NoContent(http.StatusOK)
}

// decodeFeedback reads and checks a feedback body; each 400 names the item's field
// ("feedback[1].outcome").
func decodeFeedback(r *http.Request, client string, now time.Time) ([]store.Feedback, error) {
	if err := checkJSONContentType(r.Header.Get(echo.HeaderContentType)); err != nil {
		return nil, err
	}
	data, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, bodyReadError(r, err)
	}
	var rq feedbackRequest
	if err := json.Unmarshal(data, &rq); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return nil, invalid(te.Field, "is JSON %s, not %s", te.Value, te.Type.Kind())
		}
		return nil, invalid("body", "is not a JSON CDS Hooks feedback request: %v", err)
	}
	switch {
	case len(rq.Feedback) == 0:
		return nil, invalid("feedback", `is required: an array of {"card", "outcome", "outcomeTimestamp"}`)
	case len(rq.Feedback) > maxFeedbackItems:
		return nil, invalid("feedback", "has %d items; at most %d at once", len(rq.Feedback), maxFeedbackItems)
	}
	out := make([]store.Feedback, 0, len(rq.Feedback))
	for i, it := range rq.Feedback {
		fb, err := checkFeedbackItem(it, fmt.Sprintf("feedback[%d].", i))
		if err != nil {
			return nil, err
		}
		fb.Client, fb.ReceivedAt = client, now
		out = append(out, fb)
	}
	return out, nil
}

// checkFeedbackItem checks one Feedback (prefix names it in errors) and makes it the
// store's.
func checkFeedbackItem(it feedbackItem, prefix string) (store.Feedback, error) {
	switch {
	case it.Card == "":
		return store.Feedback{}, invalid(prefix+"card", "is required: the card's uuid")
	case !cdsHookInstancePattern.MatchString(it.Card):
		return store.Feedback{}, invalid(prefix+"card", "is not a card uuid (1 to 128 printable characters)")
	case it.Outcome == "":
		return store.Feedback{}, invalid(prefix+"outcome", "is required: accepted or overridden")
	case it.Outcome != "accepted" && it.Outcome != "overridden":
		return store.Feedback{}, invalid(prefix+"outcome", "is %q; it must be accepted or overridden", clip(it.Outcome, 40))
	case it.OverrideReason != nil && it.Outcome != "overridden":
		return store.Feedback{}, invalid(prefix+"overrideReason", "goes only with outcome overridden")
	case it.OutcomeTimestamp == "":
		return store.Feedback{}, invalid(prefix+"outcomeTimestamp", "is required: when the clinician acted (ISO 8601, UTC)")
	}
	at, err := time.Parse(time.RFC3339, it.OutcomeTimestamp)
	if err != nil {
		return store.Feedback{}, invalid(prefix+"outcomeTimestamp", "%q is not an ISO 8601 timestamp (e.g. 2026-12-07T10:00:00Z)", clip(it.OutcomeTimestamp, 40))
	}
	fb := store.Feedback{CardUUID: it.Card, Outcome: it.Outcome, OutcomeAt: at.UTC()}
	if or := it.OverrideReason; or != nil {
		var reason store.OverrideReason
		if rc := or.Reason; rc != nil {
			switch {
			case rc.Code == "" || rc.System == "":
				return store.Feedback{}, invalid(prefix+"overrideReason.reason", "needs code and system (a Coding)")
			case len(rc.Code) > maxFeedbackField || len(rc.System) > maxFeedbackField || len(rc.Display) > maxFeedbackField:
				return store.Feedback{}, invalid(prefix+"overrideReason.reason", "has a code, system or display longer than %d bytes", maxFeedbackField)
			}
			reason.System, reason.Code, reason.Display = rc.System, rc.Code, rc.Display
		}
		switch {
		case len(or.UserComment) > maxFeedbackComment:
			return store.Feedback{}, invalid(prefix+"overrideReason.userComment", "is %d bytes; at most %d", len(or.UserComment), maxFeedbackComment)
		case !utf8.ValidString(or.UserComment):
			return store.Feedback{}, invalid(prefix+"overrideReason.userComment", "is not UTF-8 text")
		case freeTextProblem(or.UserComment) != "":
			return store.Feedback{}, invalid(prefix+"overrideReason.userComment", "%s", freeTextProblem(or.UserComment))
		}
		reason.Comment = or.UserComment
		if reason != (store.OverrideReason{}) {
			fb.Reasons = []store.OverrideReason{reason}
		}
	}
	return fb, nil
}
