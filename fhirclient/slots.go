package fhirclient

import (
	"context"
	"fmt"
	"time"
)

// slots caps the requests in flight to one server and keeps most of them for
// interactive work. A hospital FHIR server is shared with the EHR itself, so the cap is
// the service's promise to it; within the cap, background work (batches, bulk
// downloads) may hold at most bg slots, so a 2,000-patient batch never leaves a
// clinician's screening queued behind it.
//
// Interactive requests wait at most wait for a slot. Past that the server is saturated
// by this replica, and queueing longer only turns into a timeout at the caller's
// deadline: the request fails at once with KindBusy, which the service answers with 503
// and Retry-After. Background requests wait as long as their context allows: a batch has
// no one waiting at a screen.
type slots struct {
	all  chan struct{}
	bg   chan struct{}
	wait time.Duration
}

func newSlots(max, background int, wait time.Duration) *slots {
	return &slots{all: make(chan struct{}, max), bg: make(chan struct{}, background), wait: wait}
}

type backgroundKey struct{}

// AsBackground marks the requests made with ctx as background work: they use at most
// Config.MaxBackground of the server's slots and wait for one as long as ctx allows.
func AsBackground(ctx context.Context) context.Context {
	return context.WithValue(ctx, backgroundKey{}, true)
}

func isBackground(ctx context.Context) bool {
	b, _ := ctx.Value(backgroundKey{}).(bool)
	return b
}

// acquire takes a slot for one request; release gives it back. The error is the
// context's when ctx ended first, or errBusy when an interactive request waited out
// wait.
func (s *slots) acquire(ctx context.Context) (release func(), err error) {
	if isBackground(ctx) {
		select {
		case s.bg <- struct{}{}:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		select {
		case s.all <- struct{}{}:
			return func() { <-s.all; <-s.bg }, nil
		case <-ctx.Done():
			<-s.bg
			return nil, ctx.Err()
		}
	}
	select {
	case s.all <- struct{}{}: // the usual case: no timer
		return func() { <-s.all }, nil
	default:
	}
	t := time.NewTimer(s.wait)
	defer t.Stop()
	select {
	case s.all <- struct{}{}:
		return func() { <-s.all }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-t.C:
		return nil, errBusy{max: cap(s.all), wait: s.wait}
	}
}

// errBusy says why a request found no slot; it is the Err of a KindBusy Error.
type errBusy struct {
	max  int
	wait time.Duration
}

func (e errBusy) Error() string {
	return fmt.Sprintf("no request slot came free within %s: %d requests to this server are in flight (MaxConcurrent)", e.wait, e.max)
}
