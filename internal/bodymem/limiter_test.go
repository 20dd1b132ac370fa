package bodymem

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

// A wait short enough that a test of "busy" takes no time; no test waits for it to
// pass in order to succeed.
const shortWait = time.Millisecond

func newTestLimiter(t *testing.T, capacity int64) *Limiter {
	t.Helper()
	l, err := NewLimiter(capacity, shortWait, Costs{PerBodyByte: 4, PerEntry: 100})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// Shares are paid in heap: a body costs PerBodyByte a byte, and its entries PerEntry
// each when that is more. What does not fit is busy, what can never fit too large, and
// a released share is free again.
func TestSharesOfTheBudget(t *testing.T) {
	ctx := context.Background()
	l := newTestLimiter(t, 1000)
	a, err := l.Take(ctx, 100) // 400
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Grow(ctx, 100, 3); err != nil || a.Held() != 400 {
		t.Errorf("3 entries of a 100-byte body cost no more than its bytes: held %d, %v", a.Held(), err)
	}
	if err := a.Grow(ctx, 100, 6); err != nil || a.Held() != 600 {
		t.Errorf("6 entries cost 600, more than the bytes: held %d, %v", a.Held(), err)
	}
	_, err = l.Take(ctx, 101) // 404 > the 400 left
	var be *BusyError
	if !errors.As(err, &be) || !errors.Is(err, ErrBusy) || be.Want != 404 || be.Capacity != 1000 {
		t.Errorf("a share that does not fit now: %v; want busy", err)
	}
	if err := a.Grow(ctx, 100, 11); !errors.Is(err, ErrTooLarge) || err.Error() != "the request would take 1100 bytes of memory, more than the 1000 all requests together may take" {
		t.Errorf("a share over the whole budget: %v; want too large", err)
	}
	if a.Held() != 600 {
		t.Errorf("a failed Grow changed the share: held %d, want 600", a.Held())
	}
	a.Release()
	a.Release()                // twice is harmless
	b, err := l.Take(ctx, 250) // the whole budget
	if err != nil {
		t.Fatalf("after the release the whole budget is free: %v", err)
	}
	b.Release()
}

// A request that ends while it waits gets its own end, not "busy".
func TestWaitEndsWithTheRequest(t *testing.T) {
	l, err := NewLimiter(10, time.Hour, Costs{PerBodyByte: 1, PerEntry: 1})
	if err != nil {
		t.Fatal(err)
	}
	full, err := l.Take(context.Background(), 10)
	if err != nil {
		t.Fatal(err)
	}
	defer full.Release()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := l.Take(ctx, 1); !errors.Is(err, context.Canceled) {
		t.Errorf("%v; want context.Canceled", err)
	}
}

// A body of unknown length pays as it is read, a step at a time, and its read fails
// with "busy" when the next step is not free; a declared one was paid for and reads
// as it is.
func TestBodyPaysAsItIsRead(t *testing.T) {
	ctx := context.Background()
	read := func(l *Limiter, n int) (*Share, error) {
		s, err := l.Take(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(s.Body(ctx, io.NopCloser(strings.NewReader(strings.Repeat("x", n))), -1))
		if err == nil && len(data) != n {
			t.Fatalf("read %d bytes of %d", len(data), n)
		}
		return s, err
	}
	s, err := read(newTestLimiter(t, 4*3*growStep), 2*growStep+10)
	if err != nil {
		t.Fatal(err)
	}
	if h := s.Held(); h != 4*3*growStep {
		t.Errorf("held %d after reading 2 steps and 10 bytes; want 3 steps (%d)", h, 4*3*growStep)
	}
	s.Release()
	// A body that just fits the budget is read whole: the last step is cut to fit.
	s, err = read(newTestLimiter(t, 4*(2*growStep+10)), 2*growStep+10)
	if err != nil {
		t.Fatalf("a body that fits the budget exactly: %v", err)
	}
	s.Release()
	if _, err := read(newTestLimiter(t, 4*(2*growStep+10)), 2*growStep+11); !errors.Is(err, ErrTooLarge) {
		t.Errorf("a byte more than the budget: %v; want too large", err)
	}

	l := newTestLimiter(t, 4*3*growStep)

	other, err := l.Take(ctx, growStep) // leaves two steps
	if err != nil {
		t.Fatal(err)
	}
	defer other.Release()
	s, _ = l.Take(ctx, 0)
	defer s.Release()
	_, err = io.ReadAll(s.Body(ctx, io.NopCloser(strings.NewReader(strings.Repeat("x", 3*growStep))), -1))
	if !errors.Is(err, ErrBusy) {
		t.Errorf("reading past what is free: %v; want busy", err)
	}

	declared := io.NopCloser(strings.NewReader("{}"))
	if s.Body(ctx, declared, 2) != declared {
		t.Error("a body of declared length is wrapped")
	}
}

// No limiter, no share: everything is allowed.
func TestNilShare(t *testing.T) {
	var s *Share
	if err := s.Grow(context.Background(), 1<<40, 1<<40); err != nil {
		t.Error(err)
	}
	s.Release()
	if ShareOf(context.Background()) != nil {
		t.Error("a context without a share has one")
	}
}

// A request whose share is free now takes it while a larger one waits for more: a small
// body is never held up behind a large one.
func TestSmallSharesPassALargeOneWaiting(t *testing.T) {
	l, err := NewLimiter(100, time.Hour, Costs{PerBodyByte: 1, PerEntry: 1})
	if err != nil {
		t.Fatal(err)
	}
	held, err := l.Take(context.Background(), 60)
	if err != nil {
		t.Fatal(err)
	}
	waiting := make(chan error, 1)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		s, err := l.Take(ctx, 80) // waits: 40 are free
		if err == nil {
			s.Release()
		}
		waiting <- err
	}()
	for l.Waiting() == 0 {
		time.Sleep(time.Millisecond) // until the large one waits
	}
	small, err := l.Take(context.Background(), 30)
	if err != nil {
		t.Fatalf("a share that fits now, while a larger one waits: %v", err)
	}
	small.Release()
	held.Release()
	if err := <-waiting; err != nil {
		t.Errorf("the large share, once the budget is free: %v", err)
	}
	cancel()
}
