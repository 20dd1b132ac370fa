package fhirclient

import (
	"errors"
	"fmt"
	"time"

	"github.com/sony/gobreaker/v2"
)

const (
	defaultBreakerFailures = 5
	defaultBreakerCooldown = 30 * time.Second
)

// Breaker states, as BreakerState and Observer.BreakerState give them.
const (
	BreakerClosed   = "closed"
	BreakerOpen     = "open"
	BreakerHalfOpen = "half-open"
)

// breaker is the circuit breaker of one Client, that is of one server. It counts calls of
// get (one logical GET, its retries included), not attempts:
//
//   - a failure is a call that ends KindUnavailable or KindThrottled (5xx, 408, 429,
//     connection failures, AttemptTimeout) while the caller still waits;
//   - a success is a call that got any other answer from the server, 4xx included: a 404
//     or 401 shows the server is up;
//   - the rest counts neither way: the caller canceled or its deadline passed, or no
//     request was sent (no token, a foreign redirect refused).
//
// After Config.BreakerFailures failures in a row the circuit opens: calls fail at once with
// KindUnavailable for Config.BreakerCooldown. Then it is half-open: one call goes through
// as a probe, others fail at once; the probe's success closes the circuit, its failure
// opens it again.
type breaker struct {
	cb       *gobreaker.CircuitBreaker[[]byte]
	failures int
	cooldown time.Duration
}

func newBreaker(failures int, cooldown time.Duration, obs Observer) *breaker {
	if failures < 0 {
		return nil // disabled
	}
	b := &breaker{failures: failures, cooldown: cooldown}
	b.cb = gobreaker.NewCircuitBreaker[[]byte](gobreaker.Settings{
		MaxRequests: 1, // one probe when half-open
		Timeout:     cooldown,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= uint32(failures) },
		IsSuccessful: func(err error) bool {
			var v *verdict
			return err == nil || errors.As(err, &v) && v.outcome == circuitSuccess
		},
		IsExcluded: func(err error) bool {
			var v *verdict
			return errors.As(err, &v) && v.outcome == circuitExcluded
		},
		// Called with the breaker's lock held: transitions reach the observer in order.
		OnStateChange: func(_ string, _, to gobreaker.State) { obs.BreakerState(stateName(to)) },
	})
	return b
}

func stateName(s gobreaker.State) string {
	switch s {
	case gobreaker.StateOpen:
		return BreakerOpen
	case gobreaker.StateHalfOpen:
		return BreakerHalfOpen
	}
	return BreakerClosed
}

type circuitOutcome int

const (
	circuitSuccess circuitOutcome = iota
	circuitFailure
	circuitExcluded
)

// verdict carries a failed call's error through gobreaker with what it means for the
// circuit; get unwraps it again.
type verdict struct {
	e       *Error
	outcome circuitOutcome
}

func (v *verdict) Error() string { return v.e.Error() }

// judge says what a call that ended in e means for the circuit. callerGone is the
// caller's context having ended: the server is not to blame for that.
func judge(e *Error, callerGone bool) circuitOutcome {
	switch {
	case callerGone:
		return circuitExcluded
	case e.Kind == KindUnavailable || e.Kind == KindThrottled:
		return circuitFailure
	case e.Status == 0:
		return circuitExcluded // nothing reached the server, or nothing came back
	}
	return circuitSuccess
}

// run makes call through the circuit. refused is set when the circuit did not let the
// call through; then call was not made and refused is gobreaker's reason.
func (b *breaker) run(call func() ([]byte, *Error, circuitOutcome)) (body []byte, e *Error, refused error) {
	ran := false
	body, err := b.cb.Execute(func() ([]byte, error) {
		ran = true
		body, e, o := call()
		if e != nil {
			return nil, &verdict{e: e, outcome: o}
		}
		return body, nil
	})
	if err == nil {
		return body, nil, nil
	}
	if !ran {
		return nil, nil, err
	}
	var v *verdict
	if errors.As(err, &v) {
		return nil, v.e, nil
	}
	// Not reached: call returns only verdicts.
	return nil, &Error{Kind: KindUnavailable, Err: err}, nil
}

// refusal is the error of a call the circuit did not let through.
func (b *breaker) refusal(rq *request, reason error) *Error {
	var why string
	if errors.Is(reason, gobreaker.ErrTooManyRequests) {
		why = "the circuit breaker is half-open and its one probe request is still out; not sent"
	} else {
		why = fmt.Sprintf("the circuit breaker is open after %d failed requests in a row; not sent (it lets a probe through %s after opening)", b.failures, b.cooldown)
	}
	return &Error{Kind: KindUnavailable, Op: rq.op, Page: rq.page, Err: errors.New(why)}
}

// BreakerState is the state of the client's circuit breaker: "closed", "open" or
// "half-open". It is "closed" when the breaker is disabled (Config.BreakerFailures < 0).
// A circuit whose cool-down has passed reads "half-open".
func (c *Client) BreakerState() string {
	if c.breaker == nil {
		return BreakerClosed
	}
	return stateName(c.breaker.cb.State())
}
