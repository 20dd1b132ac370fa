package bodymem

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
)

// A screening's responses pay together: each adds to what the tab holds, and the tab
// gives it all back at once.
func TestTabPaysForEveryResponse(t *testing.T) {
	l := newTestLimiter(t, 1000) // 250 body bytes at 4 bytes of heap each
	tab := l.NewTab()
	ctx := context.Background()
	for range 2 {
		r, err := tab.Body(ctx, strings.NewReader(strings.Repeat("x", 100)), 100)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadAll(r); err != nil {
			t.Fatal(err)
		}
	}
	if got := l.Capacity() - l.freeNow(); got != 800 {
		t.Errorf("the tab holds %d bytes of heap after two responses of 100 bytes; want 800", got)
	}
	_, err := tab.Body(ctx, strings.NewReader(strings.Repeat("x", 100)), 100)
	if !errors.Is(err, ErrTooLarge) {
		t.Errorf("a third response of 100 bytes (1,200 in all, over the budget of 1,000): %v; want ErrTooLarge", err)
	}
	tab.Release()
	tab.Release()
	if free := l.freeNow(); free != l.Capacity() {
		t.Errorf("after Release %d of %d bytes are free", free, l.Capacity())
	}
}

// A response of unknown length pays for what it read as it is read, and stops with the
// budget's error when what it read would not fit.
func TestTabPaysForAChunkedResponseAsItIsRead(t *testing.T) {
	l := newTestLimiter(t, 4*100<<10) // 100 KiB of body
	tab := l.NewTab()
	r, err := tab.Body(context.Background(), bytes.NewReader(make([]byte, 200<<10)), -1)
	if err != nil {
		t.Fatalf("a body of unknown length pays nothing before it is read: %v", err)
	}
	n, err := io.Copy(io.Discard, r)
	if !errors.Is(err, ErrTooLarge) || n > 100<<10 || n < 100<<10-tabStep {
		t.Errorf("read %d bytes, error %v; want about 100 KiB read, then ErrTooLarge", n, err)
	}
	// The body given up is off the tab: the screening's next response may use it.
	if _, err := tab.Body(context.Background(), strings.NewReader("x"), 90<<10); err != nil {
		t.Errorf("after the large body was given up, a response of 90 KiB: %v", err)
	}
	tab.Release()
	small := l.NewTab()
	defer small.Release()
	r, _ = small.Body(context.Background(), strings.NewReader("a small page"), -1)
	if b, err := io.ReadAll(r); err != nil || string(b) != "a small page" {
		t.Errorf("a small page read %q, %v", b, err)
	}
	if held := l.Capacity() - l.freeNow(); held != 4*int64(len("a small page")) {
		t.Errorf("a small page of unknown length holds %d bytes of heap; want 4 per byte read (%d)", held, 4*len("a small page"))
	}
}

// While others hold the budget, a response waits at most the limiter's wait, then is
// refused as busy.
func TestTabBusyWhileOthersHoldTheBudget(t *testing.T) {
	l := newTestLimiter(t, 1000)
	other, err := l.Take(context.Background(), 200) // 800 of heap
	if err != nil {
		t.Fatal(err)
	}
	defer other.Release()
	tab := l.NewTab()
	defer tab.Release()
	if _, err := tab.Body(context.Background(), strings.NewReader("x"), 100); !errors.Is(err, ErrBusy) {
		t.Errorf("error %v; want ErrBusy", err)
	}
}

func TestNilTabAllowsAnything(t *testing.T) {
	var l *Limiter
	tab := l.NewTab()
	r, err := tab.Body(context.Background(), strings.NewReader("abc"), 3)
	if err != nil || tab.Pay(context.Background(), 1<<40) != nil {
		t.Fatalf("a nil tab refused: %v", err)
	}
	if b, _ := io.ReadAll(r); string(b) != "abc" {
		t.Errorf("read %q", b)
	}
	tab.Release()
	if TabOf(context.Background()) != nil || TabOf(WithTab(context.Background(), tab)) != nil {
		t.Error("TabOf: want nil for a context without a tab")
	}
}

// freeNow is the budget not held by any share.
func (l *Limiter) freeNow() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.free
}
