package api

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/trialscreen/trialscreen/screening"
	"github.com/trialscreen/trialscreen/store"
)

// Worklist gives pages of the coordinator's worklist: each screened patient with their
// latest verdict. store.Store implements it.
type Worklist interface {
	Worklist(ctx context.Context, q store.WorklistQuery) (store.WorklistPage, error)
}

// Routes of the worklist: the page for browsers, the same list as JSON for portals and
// dashboards.
const (
	routeWorklistPage = "/"
	routeWorklist     = "/v1/worklist"
)

// Worklist page sizes: the default, and the most a search box may hold.
const (
	defaultWorklistSize = 50
	maxSearchLen        = 100
)

// registerWorklist adds the worklist routes, authenticated like the stored screenings.
func (s *Server) registerWorklist(e *echo.Echo) {
	e.GET(routeWorklistPage, s.getWorklistPage, s.authenticate())
	e.GET(routeWorklist, s.getWorklist, s.authenticate())
}

// worklistFilter is a worklist request as its parameters gave it: what the query is
// built from, and what the page's form and next link give back.
type worklistFilter struct {
	Verdict       string // "" or a verdict
	EligibleSince string // "" or YYYY-MM-DD
	WaitsForData  bool
	Search        string
	Limit         int
}

// parseWorklistFilter reads the worklist's parameters. An empty value is no filter (a
// form sends every field); anything else unreadable is a 400 naming the parameter.
func parseWorklistFilter(q url.Values) (worklistFilter, store.WorklistQuery, error) {
	f := worklistFilter{Limit: defaultWorklistSize}
	var wq store.WorklistQuery
	switch v := q.Get("verdict"); v {
	case "":
	case string(screening.PotentiallyEligible), string(screening.InsufficientData), string(screening.Ineligible):
		f.Verdict, wq.Verdict = v, v
	default:
		return f, wq, invalid("verdict", "is not potentially-eligible, insufficient-data or ineligible")
	}
	if v := q.Get("eligible_since"); v != "" {
		d, err := time.Parse(time.DateOnly, v)
		if err != nil {
			return f, wq, invalid("eligible_since", "is not a date (YYYY-MM-DD)")
		}
		// A date is its first instant in UTC, as the screening's calendar dates are read.
		f.EligibleSince, wq.EligibleSince = v, d
	}
	switch v := q.Get("waits_for_data"); v {
	case "", "false":
	case "true":
		f.WaitsForData, wq.WaitsForData = true, true
	default:
		return f, wq, invalid("waits_for_data", "is not true or false")
	}
	if f.WaitsForData && f.Verdict != "" && f.Verdict != string(screening.InsufficientData) {
		return f, wq, invalid("waits_for_data", "lists insufficient-data verdicts, and verdict asks for %s", f.Verdict)
	}
	if v := strings.TrimSpace(q.Get("q")); v != "" {
		if !utf8.ValidString(v) || utf8.RuneCountInString(v) > maxSearchLen || strings.ContainsFunc(v, unicode.IsControl) {
			return f, wq, invalid("q", "is not a patient id or name prefix (at most %d characters, no control characters)", maxSearchLen)
		}
		f.Search, wq.Search = v, v
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > store.MaxPageSize {
			return f, wq, invalid("limit", "is not a whole number from 1 to %d", store.MaxPageSize)
		}
		f.Limit = n
	}
	wq.Limit, wq.Cursor = f.Limit, q.Get("cursor")
	return f, wq, nil
}

// readWorklist answers one worklist request: parameters checked first (a 400 needs no
// store), then the page read and its reading audited as one record.
func (s *Server) readWorklist(c echo.Context) (worklistFilter, store.WorklistPage, error) {
	f, wq, err := parseWorklistFilter(c.QueryParams())
	if err != nil {
		return f, store.WorklistPage{}, err
	}
	if s.cfg.Worklist == nil {
		return f, store.WorklistPage{}, echo.NewHTTPError(http.StatusNotFound, errScreeningsNotStored.Error())
	}
	var page store.WorklistPage
	err = s.storeCall(c.Request().Context(), storeOpWorklist, func(ctx context.Context) (err error) {
		page, err = s.cfg.Worklist.Worklist(ctx, wq)
		return err
	})
	switch {
	case errors.Is(err, store.ErrBadCursor):
		return f, page, invalid("cursor", "is not a cursor a previous page gave (next_cursor)")
	case err != nil:
		return f, page, &storeUnavailable{err: err}
	}
	s.auditWorklist(c, f, page)
	return f, page, nil
}

// auditWorklist records a worklist read: who, which filters (by name: a search may be a
// patient's name), and which patients were shown. The audit sink names patients; the
// application log and metrics never do.
func (s *Server) auditWorklist(c echo.Context, f worklistFilter, page store.WorklistPage) {
	var filters, shown []string
	for _, p := range []struct {
		name string
		set  bool
	}{{"verdict", f.Verdict != ""}, {"eligible_since", f.EligibleSince != ""}, {"waits_for_data", f.WaitsForData},
		{"q", f.Search != ""}, {"cursor", c.QueryParam("cursor") != ""}} {
		if p.set {
			filters = append(filters, p.name)
		}
	}
	for _, e := range page.Items {
		shown = append(shown, e.PatientID)
	}
	caller := callerOf(c)
	s.cfg.Audit.Record(Access{Caller: caller.ID, User: caller.User, Surface: surfaceWorklist, Source: "store",
		Address: remoteAddr(c.Request()), Details: map[string]string{
			"worklist-filters": strings.Join(filters, " "),
			"patients-listed":  strconv.Itoa(len(page.Items)),
			"patients":         strings.Join(shown, " "),
		}})
}

// surfaceWorklist names worklist reads in audit records.
const surfaceWorklist = "worklist"

// worklistJSON is GET /v1/worklist: newest screening first; next_cursor, when present,
// gives the next page (with the same filters).
type worklistJSON struct {
	Patients   []worklistItemJSON `json:"patients"`
	NextCursor string             `json:"next_cursor,omitempty"`
}

type worklistItemJSON struct {
	Patient                  screening.PatientRef `json:"patient"`
	ScreeningID              string               `json:"screening_id"`
	Screened                 time.Time            `json:"screened"`
	Verdict                  string               `json:"verdict"`
	Surface                  string               `json:"surface"`
	ToObtain                 []store.ObtainItem   `json:"to_obtain"`
	ReviewItems              int                  `json:"review_items"`
	PotentiallyEligibleSince *time.Time           `json:"potentially_eligible_since,omitempty"`
	PreviousVerdict          string               `json:"previous_verdict,omitempty"`
	Report                   string               `json:"report"` // the stored screening, relative to the service
}

// getWorklist is GET /v1/worklist.
func (s *Server) getWorklist(c echo.Context) error {
	_, page, err := s.readWorklist(c)
	if err != nil {
		return err
	}
	out := worklistJSON{Patients: make([]worklistItemJSON, 0, len(page.Items)), NextCursor: page.Next}
	for _, e := range page.Items {
		it := worklistItemJSON{
			Patient:     screening.PatientRef{ID: e.PatientID, Reference: "Patient/" + e.PatientID, Name: e.Name, Gender: e.Gender, BirthDate: e.BirthDate},
			ScreeningID: e.ScreeningID, Screened: e.Created, Verdict: e.Verdict, Surface: e.Surface,
			ToObtain: e.ToObtain, ReviewItems: e.ReviewCount, PreviousVerdict: e.PreviousVerdict,
			Report: storedScreeningPath(e.ScreeningID),
		}
		if it.ToObtain == nil {
			it.ToObtain = []store.ObtainItem{}
		}
		if !e.EligibleSince.IsZero() {
			since := e.EligibleSince
			it.PotentiallyEligibleSince = &since
		}
		out.Patients = append(out.Patients, it)
	}
	c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
	return c.JSON(http.StatusOK, out)
}

// storedScreeningPath is the path of a stored screening (its report, for a browser).
func storedScreeningPath(id string) string { return "/v1/screenings/" + url.PathEscape(id) }
