package api

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/trialscreen/trialscreen/review"
	"github.com/trialscreen/trialscreen/screening"
	"github.com/trialscreen/trialscreen/store"
)

// Routes of review decisions: PUT (JSON, portals) and POST (a browser's form) record a
// decision on one review item; GET gives a patient's current decisions.
const (
	routeReview  = "/v1/patients/:id/reviews/:criterion"
	routeReviews = "/v1/patients/:id/reviews"
)

// ReviewStore is what review decisions need of the store; store.Store implements it. A
// Config.Screenings without it serves no review routes (404) and documents without a
// review standing.
type ReviewStore interface {
	SaveDecision(ctx context.Context, d store.Decision) error
	CurrentDecisions(ctx context.Context, patientID string) ([]store.Decision, error)
	DecisionHistory(ctx context.Context, patientID, criterion string, limit int) ([]store.Decision, error)
}

// maxNoteChars bounds a decision's note, in characters as the form's textarea counts
// them: a sentence or two for the coordinator's team, not a document.
const maxNoteChars = 2000

// criterionPattern is the shape of a criterion id (screening-contract.md).
var criterionPattern = regexp.MustCompile(`^[a-z0-9-]{1,64}$`)

var (
	errReviewsNotStored = errors.New("this service does not store review decisions")
	errCannotDecide     = errors.New("this caller may read but not record review decisions")
)

// maxReviewBodyBytes bounds a PUT's body: a decision, a note of maxNoteChars even
// written entirely as JSON \u escapes of surrogate pairs (12 bytes a character), and a
// screening id. The service-wide limit (16 MiB, for bundles) would let a caller have it
// read that much, outside the memory limiter, to record one decision.
const maxReviewBodyBytes = 64 << 10

// registerReviews adds the JSON review routes, authenticated like the rest of REST.
func (s *Server) registerReviews(e *echo.Echo) {
	e.PUT(routeReview, s.putReview, middleware.BodyLimit(bodyLimit(maxReviewBodyBytes)), s.authenticate())
	e.GET(routeReviews, s.getReviews, s.authenticate())
	e.GET(routeReview, s.getReviewHistory, s.authenticate())
	s.registerReviewForms(e)
}

// decisionRequest is a decision as a caller sends it, whichever the encoding.
type decisionRequest struct {
	PatientID, Criterion        string
	Decision, Note, ScreeningID string
	Surface                     string // rest (JSON), report (a browser's form)
}

// reviewFields are the members of a PUT body.
var reviewFields = []string{"decision", "note", "screening_id"}

// putReview records a decision sent as JSON.
func (s *Server) putReview(c echo.Context) error {
	if !callerOf(c).CanDecide() {
		return echo.NewHTTPError(http.StatusForbidden, errCannotDecide.Error())
	}
	r := c.Request()
	if err := checkJSONContentType(r.Header.Get(echo.HeaderContentType)); err != nil {
		return err
	}
	data, err := readJSONBody(r, reviewFields)
	if err != nil {
		return err
	}
	members, err := jsonObject(data, reviewFields, `send {"decision": "met", "note": "...", "screening_id": "..."}`)
	if err != nil {
		return err
	}
	rq := decisionRequest{PatientID: c.Param("id"), Criterion: c.Param("criterion"), Surface: surfaceREST}
	if err := stringMembers(members, map[string]*string{"decision": &rq.Decision, "note": &rq.Note, "screening_id": &rq.ScreeningID}); err != nil {
		return err
	}
	out, err := s.decide(c, rq)
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
	return c.JSON(http.StatusOK, out)
}

// decisionAnswer is the answer to a decision recorded: the decision, and where the
// review of the screening it was made on now stands.
type decisionAnswer struct {
	Patient  string          `json:"patient"`
	Decision decisionView    `json:"decision"`
	Review   review.Standing `json:"review"`
}

// decisionView is a stored decision as REST shows it.
type decisionView struct {
	Criterion   string            `json:"criterion"`
	Decision    string            `json:"decision"`
	Note        string            `json:"note,omitempty"`
	DecidedBy   string            `json:"decided_by"`
	DecidedUser string            `json:"decided_by_user,omitempty"`
	DecidedAt   time.Time         `json:"decided_at"`
	ScreeningID string            `json:"screening_id"`
	Evidence    []evidenceRefView `json:"evidence"`
}

type evidenceRefView struct {
	Resource    string `json:"resource"`
	VersionID   string `json:"version_id,omitempty"`
	LastUpdated string `json:"last_updated,omitempty"`
}

func viewDecision(d store.Decision) decisionView {
	v := decisionView{Criterion: d.Criterion, Decision: d.Decision, Note: d.Note, DecidedBy: d.CallerID,
		DecidedUser: d.CallerUser, DecidedAt: d.DecidedAt, ScreeningID: d.ScreeningID, Evidence: []evidenceRefView{}}
	for _, e := range d.Evidence {
		v.Evidence = append(v.Evidence, evidenceRefView(e))
	}
	return v
}

// decide checks and records one decision, whichever the surface: the JSON PUT and the
// browser's form share it. Every attempt that reads the store (the screening named) is
// audited, refused or not; the record never holds the note (free text about the
// patient). A request refused on its own words touches no patient data: not audited.
func (s *Server) decide(c echo.Context, rq decisionRequest) (decisionAnswer, error) {
	if err := checkDecision(rq); err != nil {
		return decisionAnswer{}, err
	}
	rs, ok := s.cfg.Screenings.(ReviewStore)
	if !ok {
		return decisionAnswer{}, echo.NewHTTPError(http.StatusNotFound, errReviewsNotStored.Error())
	}
	ctx, caller := c.Request().Context(), callerOf(c)
	d, doc, sc, err := s.decisionFor(ctx, rq, caller)
	if err == nil {
		err = s.storeCall(ctx, storeOpReview, func(ctx context.Context) error { return rs.SaveDecision(ctx, d) })
		if err != nil {
			err = &storeUnavailable{err: err}
		}
	}
	s.cfg.Audit.Record(Access{Caller: caller.ID, User: caller.User, Surface: rq.Surface, PatientID: rq.PatientID,
		Source: "store", Address: remoteAddr(c.Request()), Err: err, Details: map[string]string{
			"review-criterion": rq.Criterion, "review-decision": rq.Decision, "screening-id": rq.ScreeningID}})
	if err != nil {
		return decisionAnswer{}, err
	}
	s.cfg.Metrics.desk.decisions.WithLabelValues(d.Decision).Inc()
	current, err := s.currentDecisions(ctx, rs, rq.PatientID)
	if err != nil {
		// Recorded; only the standing could not be read back.
		s.log.Warn("review decision recorded, standing not read", "error", err.Error())
		current = []store.Decision{d}
	}
	return decisionAnswer{Patient: rq.PatientID, Decision: viewDecision(d), Review: review.Compute(doc, sc.Evidence, current)}, nil
}

// checkDecision checks what a request says without the store: each error names its field.
func checkDecision(rq decisionRequest) error {
	switch {
	case !isFHIRID(rq.PatientID):
		return checkFHIRID("id", rq.PatientID)
	case !criterionPattern.MatchString(rq.Criterion):
		return invalid("criterion", "is not a criterion id (1 to 64 of a-z 0-9 -)")
	case rq.Decision == "":
		return invalid("decision", "is required: one of %s", strings.Join(review.Decisions, ", "))
	case !review.ValidDecision(rq.Decision):
		return invalid("decision", "is %q; it must be one of %s", clip(rq.Decision, 40), strings.Join(review.Decisions, ", "))
	case !utf8.ValidString(rq.Note):
		return invalid("note", "is not UTF-8 text")
	case utf8.RuneCountInString(rq.Note) > maxNoteChars:
		return invalid("note", "is %d characters; at most %d", utf8.RuneCountInString(rq.Note), maxNoteChars)
	case freeTextProblem(rq.Note) != "":
		return invalid("note", "%s", freeTextProblem(rq.Note))
	case rq.ScreeningID == "":
		return invalid("screening_id", "is required: the stored screening the decision was made on")
	case !screeningIDPattern.MatchString(rq.ScreeningID):
		return invalid("screening_id", "is not a screening id (1 to 64 of A-Z a-z 0-9 - _)")
	}
	return nil
}

// decisionFor reads the screening a decision names and makes the decision to store: the
// screening must be the patient's, and the criterion one of its review items. The
// evidence judged is the screening's for that criterion.
func (s *Server) decisionFor(ctx context.Context, rq decisionRequest, caller Caller) (store.Decision, *screening.Screening, store.Screening, error) {
	sc, err := s.readStored(ctx, rq.ScreeningID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return store.Decision{}, nil, sc, invalid("screening_id", "no stored screening has this id")
	case err != nil:
		return store.Decision{}, nil, sc, err
	case sc.PatientID != rq.PatientID:
		return store.Decision{}, nil, sc, invalid("screening_id", "names a screening of another patient")
	}
	var doc screening.Screening
	if err := decodeStored(sc.Document, &doc); err != nil {
		return store.Decision{}, nil, sc, err
	}
	items := make([]string, 0, len(doc.ReviewItems))
	for _, it := range doc.ReviewItems {
		items = append(items, it.Criterion)
	}
	if !slices.Contains(items, rq.Criterion) {
		list := strings.Join(items, ", ")
		if list == "" {
			list = "none"
		}
		return store.Decision{}, nil, sc, invalid("criterion", "%q is not a review item of screening %s (its review items: %s)", rq.Criterion, sc.ID, list)
	}
	return store.Decision{
		PatientID: rq.PatientID, Criterion: rq.Criterion, Decision: rq.Decision, Note: rq.Note,
		CallerID: caller.ID, CallerUser: caller.User, DecidedAt: s.cfg.Now().UTC(), ScreeningID: sc.ID,
		Evidence: review.CriterionEvidence(&doc, sc.Evidence, rq.Criterion),
	}, &doc, sc, nil
}

// clip shortens a caller's value quoted in an error.
func clip(v string, n int) string {
	if len(v) <= n {
		return v
	}
	return v[:n] + "..."
}

// currentDecisions reads a patient's current review decisions within the store's bound,
// timed and counted like every store call.
func (s *Server) currentDecisions(ctx context.Context, rs ReviewStore, patientID string) ([]store.Decision, error) {
	var decisions []store.Decision
	err := s.storeCall(ctx, storeOpReview, func(ctx context.Context) (err error) {
		decisions, err = rs.CurrentDecisions(ctx, patientID)
		return err
	})
	return decisions, err
}
