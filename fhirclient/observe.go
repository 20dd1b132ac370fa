package fhirclient

import "time"

// Observer receives metrics of a Client, e.g. to feed Prometheus counters and histograms.
// Its arguments are chosen to be safe as metric labels: a FHIR resource type name and
// closed sets of words, never an id, URL, query or token.
//
// Methods are called synchronously on the request path, possibly from many goroutines at
// once: they must be quick and safe for concurrent use. BreakerState is called while the
// circuit breaker holds its lock, so that transitions arrive in order; it must not call
// back into the Client.
type Observer interface {
	// Request reports one HTTP attempt for resourceType (the type read or searched) and
	// how long it took, body read included. statusClass is one of "2xx", "3xx", "4xx",
	// "5xx"; "error" when there was no complete response (connection failure, timeout,
	// cancellation, the body cut off); or "open" when the circuit breaker refused the
	// call and nothing was sent (then d is 0).
	Request(resourceType string, statusClass string, d time.Duration)
	// Retry reports that a failed attempt for resourceType is being retried; it comes
	// just before the next attempt.
	Retry(resourceType string)
	// BreakerState reports that the circuit breaker has moved to state: "closed",
	// "open" or "half-open".
	BreakerState(state string)
}

// Status classes given to Observer.Request.
const (
	classError = "error"
	classOpen  = "open"
)

// statusClass is the class of an HTTP status; "error" outside 200 to 599.
func statusClass(status int) string {
	switch {
	case status >= 200 && status < 300:
		return "2xx"
	case status >= 300 && status < 400:
		return "3xx"
	case status >= 400 && status < 500:
		return "4xx"
	case status >= 500 && status < 600:
		return "5xx"
	}
	return classError
}

type nopObserver struct{}

func (nopObserver) Request(string, string, time.Duration) {}
func (nopObserver) Retry(string)                          {}
func (nopObserver) BreakerState(string)                   {}
