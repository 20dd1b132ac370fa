package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/trialscreen/trialscreen/fhirclient"
	"github.com/trialscreen/trialscreen/internal/bodymem"
	"github.com/trialscreen/trialscreen/screening"
)

// Problem is an RFC 9457 problem document, the body of every REST error.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
	// Field names the request field at fault, for 400s.
	Field string `json:"field,omitempty"`
	// Upstream is the FHIR server's OperationOutcome text, when it explains the failure.
	// It is server free text that may describe the patient, so only an authenticated
	// caller asking about that patient gets it, and it is never logged.
	Upstream string `json:"upstream,omitempty"`
	// RetryAfter, when set, is sent as the Retry-After header (seconds): the request
	// was refused for capacity and may be sent again then.
	RetryAfter int `json:"-"`
}

// badRequest is invalid input: a 400 that names the field at fault.
type badRequest struct {
	field string
	msg   string
}

func (e *badRequest) Error() string { return e.field + ": " + e.msg }

func invalid(field, format string, args ...any) error {
	return &badRequest{field: field, msg: fmt.Sprintf(format, args...)}
}

// tooLarge is input over one of the service's size caps (a Bundle's entries): a 413
// naming the field, the count seen and the cap.
type tooLarge struct {
	field string
	msg   string
}

func (e *tooLarge) Error() string { return e.field + ": " + e.msg }

// deadlinePassed is the request's deadline passing during the service's own work
// (reading a Bundle or a prefetch), not while it waited on a FHIR server.
type deadlinePassed struct {
	during string
	err    error
}

func (e *deadlinePassed) Error() string {
	return "the request's time limit passed while " + e.during + ": " + e.err.Error()
}

func (e *deadlinePassed) Unwrap() error { return e.err }

// ownWork words a context error ending the service's own work: a deadline as such, a
// cancellation as it is (the caller went away). Other errors pass unchanged.
func ownWork(err error, during string) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return &deadlinePassed{during: during, err: err}
	}
	return err
}

// bodyMemoryRetryAfter is the Retry-After (seconds) of a 503 for a busy memory budget
// for bodies: the time a large body takes to read and screen, after which its share is
// free again.
const bodyMemoryRetryAfter = 2

// errUnauthenticated answers a REST request without valid credentials. It says nothing
// more on purpose: why a token was refused goes to the log, not to whoever sent it.
var errUnauthenticated = errors.New("authentication required")

// statusClientClosed is the de facto status (nginx's 499) for a request the client
// cancelled: it keeps such requests out of the 5xx error rate.
const statusClientClosed = 499

// problemFor maps an error to its problem document. This is the one place where error
// kinds become HTTP statuses.
func problemFor(err error) Problem {
	var br *badRequest
	var tl *tooLarge
	var dp *deadlinePassed
	var he *echo.HTTPError
	var fe *fhirclient.Error
	switch {
	case errors.As(err, &br):
		return Problem{Type: "about:blank", Title: "Invalid request", Status: http.StatusBadRequest, Detail: br.Error(), Field: br.field}
	case errors.As(err, &tl):
		return Problem{Type: "about:blank", Title: "Content Too Large", Status: http.StatusRequestEntityTooLarge, Detail: tl.Error(), Field: tl.field}
	case errors.Is(err, bodymem.ErrTooLarge):
		return Problem{Type: "about:blank", Title: "Content Too Large", Status: http.StatusRequestEntityTooLarge, Detail: err.Error()}
	case shedReason(err) != "":
		p := Problem{Type: "about:blank", Title: "The service is busy", Status: http.StatusServiceUnavailable, Detail: err.Error(), RetryAfter: retryAfterSeconds}
		if errors.Is(err, bodymem.ErrBusy) {
			p.RetryAfter = bodyMemoryRetryAfter
		}
		return p
	case errors.As(err, &dp):
		return Problem{Type: "about:blank", Title: "The request did not finish in time", Status: http.StatusGatewayTimeout, Detail: dp.Error()}
	case errors.Is(err, errUnauthenticated):
		return Problem{Type: "about:blank", Title: "Unauthorized", Status: http.StatusUnauthorized, Detail: errUnauthenticated.Error()}
	case errors.As(err, new(*storeUnavailable)):
		return Problem{Type: "about:blank", Title: "The screening store is unavailable", Status: http.StatusServiceUnavailable, Detail: "stored screenings cannot be read just now; screening itself still works"}
	case errors.Is(err, screening.ErrPatientNotFound):
		return Problem{Type: "about:blank", Title: "Patient not found", Status: http.StatusNotFound, Detail: err.Error()}
	case errors.Is(err, context.Canceled):
		// The caller went away; nobody reads this answer, and it is no server fault.
		return Problem{Type: "about:blank", Title: "Request cancelled", Status: statusClientClosed, Detail: "the request was cancelled by the caller"}
	case errors.Is(err, context.DeadlineExceeded):
		p := Problem{Type: "about:blank", Title: "The FHIR server did not answer in time", Status: http.StatusGatewayTimeout, Detail: err.Error()}
		if errors.As(err, &fe) {
			p.Upstream = fe.Outcome
		}
		return p
	case errors.As(err, &fe):
		return Problem{Type: "about:blank", Title: "The FHIR server could not provide the record", Status: http.StatusBadGateway, Detail: err.Error(), Upstream: fe.Outcome}
	case errors.As(err, &he):
		msg := http.StatusText(he.Code)
		if s, ok := he.Message.(string); ok {
			msg = s
		}
		return Problem{Type: "about:blank", Title: http.StatusText(he.Code), Status: he.Code, Detail: msg}
	}
	return Problem{Type: "about:blank", Title: "Internal error", Status: http.StatusInternalServerError, Detail: "the service failed; the log has the details"}
}

// entitledToUpstream reports whether the caller of c may see the FHIR server's text
// about the patient asked for: an authenticated REST caller (whose request named the
// patient). Anyone else, an open demo service's caller included, gets the status only.
func entitledToUpstream(c echo.Context) bool {
	caller := callerOf(c)
	return caller.ID != "" && caller != callerAnonymous
}

// handleError is Echo's error handler: every error becomes a problem document. A 5xx is
// logged with its error, which never holds patient data: fhirclient errors name the
// kind, status and operation, are redacted of ids, values and tokens, and leave the
// server's own text out (it goes only to an entitled caller, as upstream).
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	p := problemFor(err)
	if reason := shedReason(err); reason != "" {
		// Expected under overload, and counted: one log line per refusal would flood.
		s.cfg.Metrics.shed.WithLabelValues(c.Path(), reason).Inc()
		c.Response().Header().Set("Retry-After", strconv.Itoa(p.RetryAfter))
	} else if p.Status >= 500 {
		s.log.Error("request failed", "route", c.Path(), "status", p.Status, "error", err.Error())
	}
	if !entitledToUpstream(c) {
		p.Upstream = ""
	}
	if c.Request().Method != http.MethodHead && prefersHTML(c.Request().Header.Get(echo.HeaderAccept)) {
		// A person at a browser: a page, not a JSON document (htmlerrors.go).
		_ = s.renderErrorPage(c, p)
		return
	}
	c.Response().Header().Set(echo.HeaderContentType, "application/problem+json")
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(p.Status)
		return
	}
	_ = c.JSON(p.Status, p)
}
