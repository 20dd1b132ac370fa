package api

import (
	"errors"
	"fmt"

	"github.com/labstack/echo/v4"

	"github.com/trialscreen/trialscreen/fhirclient"
	"github.com/trialscreen/trialscreen/internal/bodymem"
)

// admission caps the screenings in progress on this replica. Past the cap the next one
// is refused at once with 503 and Retry-After: a request queued behind more work than
// the replica can finish would wait until its deadline and end in a 504 anyway, having
// held memory, a FHIR slot and a caller all the while. Refusing early lets the caller
// (or the load balancer) try another replica or a moment later, and keeps the answers
// that are given fast.
type admission struct {
	slots chan struct{}
}

func newAdmission(max int) *admission { return &admission{slots: make(chan struct{}, max)} }

// errBusy is a request refused because the replica is at a capacity limit; it becomes
// a 503 with Retry-After (problemFor).
type errBusy struct{ why string }

func (e *errBusy) Error() string { return e.why }

// retryAfterSeconds is the Retry-After of a 503 busy answer: long enough for the
// screenings in progress (tens of milliseconds each when the FHIR server is healthy) to
// finish, short enough that a person at a screen barely notices one retry.
const retryAfterSeconds = 1

// admit is the route middleware of every surface that screens a patient.
func (s *Server) admit(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		select {
		case s.admission.slots <- struct{}{}:
		default:
			return &errBusy{why: fmt.Sprintf("this replica has %d screenings in progress, its limit (MaxScreenings); retry in %d s", cap(s.admission.slots), retryAfterSeconds)}
		}
		s.cfg.Metrics.inProgress.Inc()
		defer func() {
			s.cfg.Metrics.inProgress.Dec()
			<-s.admission.slots
		}()
		return next(c)
	}
}

// shedReason says which capacity limit refused a request ("" when none did): this
// replica's cap on screenings, its cap on requests in flight to a FHIR server, or its
// memory budget for request bodies (internal/bodymem).
func shedReason(err error) string {
	var b *errBusy
	switch {
	case errors.As(err, &b):
		return "screenings"
	case errors.Is(err, bodymem.ErrBusy):
		// Before fhirclient's busy: a FHIR response the budget could not pay for is
		// both, and memory is why.
		return "body-memory"
	case errors.Is(err, fhirclient.KindBusy):
		return "fhir-slots"
	}
	return ""
}
