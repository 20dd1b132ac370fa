// Package bodymem bounds the memory that request bodies take while they are read,
// parsed and screened. Each request with a body holds a share of one budget, counted in
// bytes of heap, for as long as its body and what is made of it are in memory; its share
// grows as the body is read (a chunked body declares no length) and once its entries
// are counted. A request that cannot get its share within a short wait is refused as
// busy: the queue of large bodies never grows without bound, and the bodies in memory
// together never take more than the budget, however many arrive at once.
package bodymem

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Costs convert what a request holds into bytes of heap.
type Costs struct {
	PerBodyByte int64 // heap per byte of body, the body itself included
	PerEntry    int64 // heap per Bundle entry, however small the entry
}

// of is the heap a body of n bytes holding entries entries takes: the larger of the two
// estimates. Real entries are hundreds of bytes, and their cost is in PerBodyByte; the
// per-entry cost is what an entry of two bytes ("{}") still costs, which its bytes would
// not pay for.
func (c Costs) of(n, entries int64) int64 { return max(n*c.PerBodyByte, entries*c.PerEntry) }

// Limiter is the budget. It is safe for concurrent use.
//
// It is not a FIFO queue (as golang.org/x/sync/semaphore is): a request whose share is
// free now takes it, even while a larger one waits for more to be released. A small
// screening is then never held up behind a large body, and the large one, if the
// budget never frees up enough for it, is refused after its wait like any other.
type Limiter struct {
	capacity int64
	wait     time.Duration
	costs    Costs

	mu      sync.Mutex
	free    int64
	waiting int           // requests waiting for their share
	changed chan struct{} // closed (and replaced) whenever shares are released
}

// NewLimiter returns a budget of capacity bytes of heap, whose requests wait at most
// wait for their share.
func NewLimiter(capacity int64, wait time.Duration, costs Costs) (*Limiter, error) {
	if capacity <= 0 || wait <= 0 || costs.PerBodyByte <= 0 || costs.PerEntry <= 0 {
		return nil, fmt.Errorf("bodymem: capacity %d, wait %s and costs %+v must all be positive", capacity, wait, costs)
	}
	return &Limiter{capacity: capacity, wait: wait, costs: costs, free: capacity, changed: make(chan struct{})}, nil
}

// acquire takes n bytes of the budget, waiting until ctx ends for them to be free.
func (l *Limiter) acquire(ctx context.Context, n int64) error {
	for {
		l.mu.Lock()
		if l.free >= n {
			l.free -= n
			l.mu.Unlock()
			return nil
		}
		changed := l.changed
		l.waiting++
		l.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
		}
		l.mu.Lock()
		l.waiting--
		l.mu.Unlock()
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

// Waiting is how many requests wait for their share now.
func (l *Limiter) Waiting() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.waiting
}

// release gives n bytes back and wakes the requests waiting for some.
func (l *Limiter) release(n int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.free += n
	close(l.changed)
	l.changed = make(chan struct{})
}

// Capacity is the budget in bytes of heap.
func (l *Limiter) Capacity() int64 { return l.capacity }

// Wait is how long a request waits for its share before it is refused as busy.
func (l *Limiter) Wait() time.Duration { return l.wait }

// ErrBusy matches a BusyError: the budget is taken by other requests now.
var ErrBusy = errors.New("busy")

// BusyError is a share that could not be had within the wait.
type BusyError struct{ Want, Capacity int64 }

func (e *BusyError) Error() string {
	return fmt.Sprintf("the service is busy with other large requests: %d bytes of memory for this one were not free within the wait (the budget is %d)", e.Want, e.Capacity)
}

func (e *BusyError) Unwrap() error { return ErrBusy }

// ErrTooLarge matches a TooLargeError: no wait would help.
var ErrTooLarge = errors.New("too large")

// TooLargeError is a share larger than the whole budget.
type TooLargeError struct{ Want, Capacity int64 }

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("the request would take %d bytes of memory, more than the %d all requests together may take", e.Want, e.Capacity)
}

func (e *TooLargeError) Unwrap() error { return ErrTooLarge }

// Share is one request's part of the budget. A nil Share (no limiter) allows anything.
type Share struct {
	l *Limiter

	mu      sync.Mutex
	held    int64
	bytes   int64 // body bytes paid for
	entries int64 // entries paid for
}

// Take gives a request a share for a body of n bytes (0 when the length is not known
// yet: Body grows the share as the body is read).
func (l *Limiter) Take(ctx context.Context, n int64) (*Share, error) {
	s := &Share{l: l}
	if err := s.Grow(ctx, n, 0); err != nil {
		return nil, err
	}
	return s, nil
}

// Grow makes s pay for a body of at least n bytes holding at least entries entries,
// waiting at most the limiter's wait for the difference. On an error s keeps what it
// held.
func (s *Share) Grow(ctx context.Context, n, entries int64) error {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n, entries = max(n, s.bytes), max(entries, s.entries)
	want := s.l.costs.of(n, entries)
	more := want - s.held
	if more <= 0 {
		s.bytes, s.entries = n, entries
		return nil
	}
	if want > s.l.capacity {
		return &TooLargeError{Want: want, Capacity: s.l.capacity}
	}
	wctx, cancel := context.WithTimeout(ctx, s.l.wait)
	defer cancel()
	if err := s.l.acquire(wctx, more); err != nil {
		if ctx.Err() != nil {
			return ctx.Err() // the request's own end, not the budget's
		}
		return &BusyError{Want: want, Capacity: s.l.capacity}
	}
	s.held, s.bytes, s.entries = want, n, entries
	return nil
}

// Release gives the share back. It is safe to call more than once.
func (s *Share) Release() {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.held > 0 {
		s.l.release(s.held)
		s.held = 0
	}
}

// Held is the heap the share pays for now.
func (s *Share) Held() int64 {
	if s == nil {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.held
}

type shareKey struct{}

// WithShare carries s in ctx, for the code that counts the request's entries.
func WithShare(ctx context.Context, s *Share) context.Context {
	return context.WithValue(ctx, shareKey{}, s)
}

// ShareOf is the share ctx carries, or nil.
func ShareOf(ctx context.Context) *Share {
	s, _ := ctx.Value(shareKey{}).(*Share)
	return s
}
