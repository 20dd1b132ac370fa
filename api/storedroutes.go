package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/trialscreen/trialscreen/store"
)

// Routes of the stored screenings.
const (
	routeStoredScreening   = "/v1/screenings/:id"
	routePatientScreenings = "/v1/patients/:id/screenings"
)

// defaultPageSize is a patient's list page without a limit.
const defaultPageSize = 20

// registerStored adds the stored-screening routes: authenticated like the rest of REST;
// not admitted, since a read costs the database, not a screening slot.
func (s *Server) registerStored(e *echo.Echo) {
	e.GET(routeStoredScreening, s.getStoredScreening, s.authenticate())
	e.GET(routePatientScreenings, s.listPatientScreenings, s.authenticate())
}

// getStoredScreening gives a stored verdict document as it was answered, or, when the
// caller prefers text/html (a browser), its report page with what changed since the
// patient's previous screening.
func (s *Server) getStoredScreening(c echo.Context) error {
	id := c.Param("id")
	if !screeningIDPattern.MatchString(id) {
		return invalid("id", "is not a screening id (1 to 64 of A-Z a-z 0-9 - _; got %d bytes)", len(id))
	}
	if s.cfg.Screenings == nil {
		return echo.NewHTTPError(http.StatusNotFound, errScreeningsNotStored.Error())
	}
	sc, err := s.readStored(c.Request().Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return echo.NewHTTPError(http.StatusNotFound, errScreeningNotFound.Error())
	}
	if err != nil {
		return err
	}
	r := c.Request()
	s.cfg.Audit.Record(Access{Caller: callerOf(c).ID, User: callerOf(c).User, Surface: surfaceREST, PatientID: sc.PatientID,
		Source: "store", Address: remoteAddr(r), Details: map[string]string{"screening-id": id}})
	c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
	c.Response().Header().Add(echo.HeaderVary, echo.HeaderAccept)
	if accept := r.Header.Get(echo.HeaderAccept); accept != "" &&
		acceptQuality(accept, "text", "html") > acceptQuality(accept, "application", "json") {
		return s.renderStoredReport(c, sc, s.storedResourceLink(sc))
	}
	return c.JSONBlob(http.StatusOK, s.withStanding(r.Context(), sc))
}

// storedResourceLink links a stored screening's evidence to the service's own FHIR
// server when the record came from it (REST, report pages, batches). A card's record
// came from its EHR, whose server the store does not keep: plain references.
func (s *Server) storedResourceLink(sc store.Screening) func(string) string {
	if sc.Surface == surfaceCDS {
		return nil
	}
	return s.resourceLink()
}

// screeningListItem is one screening in a patient's list.
type screeningListItem struct {
	ID      string    `json:"id"`
	Created time.Time `json:"created"`
	Verdict string    `json:"verdict"`
	Surface string    `json:"surface"`
}

// screeningList is GET /v1/patients/{id}/screenings: newest first; next_cursor, when
// present, gives the next page.
type screeningList struct {
	Patient    string              `json:"patient"`
	Screenings []screeningListItem `json:"screenings"`
	NextCursor string              `json:"next_cursor,omitempty"`
}

// listPatientScreenings lists a patient's stored screenings, a page at a time.
func (s *Server) listPatientScreenings(c echo.Context) error {
	id := c.Param("id")
	if err := checkFHIRID("id", id); err != nil {
		return err
	}
	limit := defaultPageSize
	if v := c.QueryParam("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > store.MaxPageSize {
			return invalid("limit", "is not a whole number from 1 to %d", store.MaxPageSize)
		}
		limit = n
	}
	if s.cfg.Screenings == nil {
		return echo.NewHTTPError(http.StatusNotFound, errScreeningsNotStored.Error())
	}
	var page store.Page
	err := s.storeCall(c.Request().Context(), storeOpList, func(ctx context.Context) (err error) {
		page, err = s.cfg.Screenings.ListByPatient(ctx, id, c.QueryParam("cursor"), limit)
		return err
	})
	switch {
	case errors.Is(err, store.ErrBadCursor):
		return invalid("cursor", "is not a cursor a previous page gave (next_cursor)")
	case err != nil:
		return &storeUnavailable{err: err}
	}
	r := c.Request()
	s.cfg.Audit.Record(Access{Caller: callerOf(c).ID, User: callerOf(c).User, Surface: surfaceREST, PatientID: id,
		Source: "store", Address: remoteAddr(r), Details: map[string]string{"screenings-listed": strconv.Itoa(len(page.Items))}})
	out := screeningList{Patient: id, Screenings: make([]screeningListItem, 0, len(page.Items)), NextCursor: page.Next}
	for _, it := range page.Items {
		out.Screenings = append(out.Screenings, screeningListItem{ID: it.ID, Created: it.Created, Verdict: it.Verdict, Surface: it.Surface})
	}
	c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
	return c.JSON(http.StatusOK, out)
}
