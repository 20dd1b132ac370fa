package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/trialscreen/trialscreen/screening"
	"github.com/trialscreen/trialscreen/store"
)

// errReportGone answers a report link that cannot be served: its token is not valid or
// has expired, or the report is gone (its stored screening deleted by retention, or, for
// one kept in memory, older than an hour, evicted, or the replica restarted or another
// replica reached). One answer for all: the remedy is the same, and a caller probing
// links learns nothing of which uuids exist.
func errReportGone() error {
	return echo.NewHTTPError(http.StatusNotFound,
		"this report link has expired or is not valid (a card's report link works for 1 hour); reopen the patient's chart in the EHR for a new card and link")
}

// linkedReport is the screening behind a report link, from the store or from memory.
type linkedReport struct {
	stored    *store.Screening     // when it was stored
	result    *screening.Screening // when it is kept in memory
	patientID string
	issuer    string
}

// report serves the report of one CDS Hooks card (routeReport): the screening the card
// was built from, as the HTML page (the default: a clinician's browser opens it) or, when
// the caller prefers application/json, the verdict document. The sealed link is the only
// credential; every view is audited under the EHR and user the card was made for. A
// stored screening is read from the store, so any replica serves it; the store failing
// is a 503 (the link works again once it is back).
func (h *cdsHandler) report(c echo.Context) error {
	s := h.s
	hd := c.Response().Header()
	hd.Set(echo.HeaderCacheControl, "no-store") // patient data, and errors too: a link may come back to life in no cache
	hd.Set("Referrer-Policy", "no-referrer")    // the URL carries the token
	hd.Add(echo.HeaderVary, echo.HeaderAccept)
	id, token := c.Param("uuid"), c.QueryParam(reportLinkParam)
	var cl reportLinkClaims
	ok := isCardUUID(id)
	if ok {
		cl, ok = s.openReportLinkAt(id, token, s.cfg.Now())
	}
	if !ok {
		s.log.Info("report link refused", "reason", "token not valid or expired")
		return errReportGone()
	}
	r, err := h.linked(c.Request().Context(), id, cl)
	if err != nil {
		return err
	}
	s.cfg.Audit.Record(Access{
		Caller: r.issuer, User: cl.User, Surface: surfaceReport, PatientID: r.patientID,
		Types: s.cfg.Protocol.NeededTypes(), Source: "cds-card", Address: remoteAddr(c.Request()),
		Details: map[string]string{"cds-card-uuid": id},
	})
	// Evidence links to the EHR's FHIR server when the record came from it; prefetched
	// data has no server a browser could open, so its references stay plain text.
	link := resourceLinkFor(cl.FHIRBase)
	if accept := c.Request().Header.Get(echo.HeaderAccept); accept != "" &&
		acceptQuality(accept, "application", "json") > acceptQuality(accept, "text", "html") {
		if r.stored != nil {
			return c.JSONBlob(http.StatusOK, r.stored.Document)
		}
		return c.JSON(http.StatusOK, r.result)
	}
	if r.stored != nil {
		return s.renderStoredReport(c, *r.stored, link)
	}
	return s.renderReportLinked(c, r.result, link, nil, nil)
}

// linked finds the screening a valid link names: in the store by its id, or, for one
// that could not be stored, in this replica's memory.
func (h *cdsHandler) linked(ctx context.Context, cardUUID string, cl reportLinkClaims) (linkedReport, error) {
	s := h.s
	if cl.ScreeningID == "" {
		r, ok := h.reports.get(cardUUID)
		if !ok {
			s.log.Info("report link refused", "reason", "report not stored and not held by this replica", "uuid", cardUUID)
			return linkedReport{}, errReportGone()
		}
		return linkedReport{result: r.result, patientID: r.patientID, issuer: r.issuer}, nil
	}
	if s.cfg.Screenings == nil {
		// Made by a replica with a store, opened on one without: a configuration error.
		s.log.Warn("report link refused", "reason", "the link names a stored screening and this replica has no store", "uuid", cardUUID)
		return linkedReport{}, errReportGone()
	}
	sc, err := s.readStored(ctx, cl.ScreeningID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		s.log.Info("report link refused", "reason", "stored screening no longer kept", "uuid", cardUUID)
		return linkedReport{}, errReportGone()
	case err != nil:
		return linkedReport{}, err
	}
	return linkedReport{stored: &sc, patientID: sc.PatientID, issuer: sc.CallerID}, nil
}

// isCardUUID reports whether s has the shape of the uuids cards get (newCardUUID):
// lower-case hex in 8-4-4-4-12 groups.
func isCardUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		switch i {
		case 8, 13, 18, 23:
			if b != '-' {
				return false
			}
		default:
			if !(b >= '0' && b <= '9' || b >= 'a' && b <= 'f') {
				return false
			}
		}
	}
	return true
}
