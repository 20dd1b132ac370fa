package api

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// errReportGone answers a report link that cannot be served: its token is not valid or
// has expired, or the report is no longer in memory (older than an hour, evicted, or
// the service restarted). One answer for all: the remedy is the same, and a caller
// probing links learns nothing of which uuids exist.
func errReportGone() error {
	return echo.NewHTTPError(http.StatusNotFound,
		"this report link has expired or is not valid (a card's report is kept for 1 hour); reopen the patient's chart in the EHR for a new card and link")
}

// report serves the report of one CDS Hooks card (routeReport): the screening the card
// was built from, as the HTML page (the default: a clinician's browser opens it) or, when
// the caller prefers application/json, the verdict document. The sealed link is the only
// credential; every view is audited under the EHR and user the card was made for. A
// report another replica holds is asked of it (reportforward.go).
func (h *cdsHandler) report(c echo.Context) error {
	s := h.s
	hd := c.Response().Header()
	hd.Set(echo.HeaderCacheControl, "no-store") // patient data, and errors too: a link may come back to life in no cache
	hd.Set("Referrer-Policy", "no-referrer")    // the URL carries the token
	hd.Add(echo.HeaderVary, echo.HeaderAccept)
	id, token := c.Param("uuid"), c.QueryParam(reportLinkParam)
	var holder string
	ok := isCardUUID(id)
	if ok {
		holder, ok = s.openReportLinkAt(id, token, s.cfg.Now())
	}
	if !ok {
		s.log.Info("report link refused", "reason", "token not valid or expired")
		return errReportGone()
	}
	if _, nonce, ok := s.forwardedFor(c.Request(), id); ok {
		// A peer asks: prove this is a replica of the deployment, whatever the answer.
		hd.Set(headerHolder, s.peerMAC(holderLabel, id, nonce))
	}
	r, ok := h.reports.get(id)
	if !ok {
		if s.mayForward(c.Request(), holder) {
			return h.forwardReport(c, id, token, holder)
		}
		s.log.Info("report link refused", "reason", "report no longer held", "uuid", id)
		return errReportGone()
	}
	details := map[string]string{"cds-card-uuid": id}
	addr := remoteAddr(c.Request())
	if browser, _, ok := s.forwardedFor(c.Request(), id); ok {
		// Passed on by the replica the browser reached: audit the browser.
		details["relayed-by"] = addr
		addr = browser
	}
	s.cfg.Audit.Record(Access{
		Caller: r.issuer, User: r.userID, Surface: surfaceReport, PatientID: r.patientID,
		Types: s.cfg.Protocol.NeededTypes(), Source: "cds-card", Address: addr,
		Details: details,
	})
	if accept := c.Request().Header.Get(echo.HeaderAccept); accept != "" &&
		acceptQuality(accept, "application", "json") > acceptQuality(accept, "text", "html") {
		return c.JSON(http.StatusOK, r.result)
	}
	// Evidence links to the EHR's FHIR server when the record came from it; prefetched
	// data has no server a browser could open, so its references stay plain text.
	return renderReportLinked(c, r.result, resourceLinkFor(r.fhirBase))
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
