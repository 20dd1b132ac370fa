package bodymem

import (
	"context"
	"io"
	"sync"
)

// Tab makes the responses one screening fetches from FHIR servers pay, together, for
// the heap they take: every page stays in memory until the record is read and the
// screening answered, so without a tab 64 screenings in progress, each fetching pages
// of up to the response limit, could hold far more than the pod has, whatever the
// budget of the bodies callers send. A nil Tab allows anything.
type Tab struct {
	mu    sync.Mutex
	share *Share
	bytes int64 // response bytes paid for so far, all the screening's responses together
}

// NewTab opens a tab on l's budget; a nil Limiter gives a nil Tab.
func (l *Limiter) NewTab() *Tab {
	if l == nil {
		return nil
	}
	return &Tab{share: &Share{l: l}}
}

// Pay makes the tab pay for n more bytes of response, waiting at most the limiter's
// wait; the error is a BusyError, a TooLargeError or ctx's, as Share.Grow's.
func (t *Tab) Pay(ctx context.Context, n int64) error {
	if t == nil || n <= 0 {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.share.Grow(ctx, t.bytes+n, 0); err != nil {
		return err
	}
	t.bytes += n
	return nil
}

// Body makes the tab pay for a response body: a declared length (length >= 0; the HTTP
// client reads no more) before it is read, a body of unknown length as it is read.
func (t *Tab) Body(ctx context.Context, body io.Reader, length int64) (io.Reader, error) {
	if t == nil {
		return body, nil
	}
	if length >= 0 {
		return body, t.Pay(ctx, length)
	}
	return &tabBody{r: body, t: t, ctx: ctx}, nil
}

// refund takes n bytes of a response given up off the tab. The share keeps its heap
// (it only grows); the tab's next responses use it before they take more.
func (t *Tab) refund(n int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.bytes -= n
}

// Release gives the tab's share of the budget back. It is safe to call more than once.
func (t *Tab) Release() {
	if t != nil {
		t.share.Release()
	}
}

// tabStep bounds one read of a body of unknown length, so that it pays for what it
// read at most that much after the fact. Paying what was read, rather than a step ahead
// as Share.Body does, keeps the small pages of a healthy screening (a few KB, often sent
// in chunks) from each holding a step of the budget: 64 screenings of nine pages would
// hold more than the whole budget.
const tabStep = 32 << 10

type tabBody struct {
	r    io.Reader
	t    *Tab
	ctx  context.Context
	paid int64
}

func (b *tabBody) Read(p []byte) (int, error) {
	if len(p) > tabStep {
		p = p[:tabStep]
	}
	n, err := b.r.Read(p)
	if perr := b.t.Pay(b.ctx, int64(n)); perr != nil {
		// The body is given up, and what it read with it: the screening's other
		// responses may use what it paid.
		b.t.refund(b.paid)
		return 0, perr
	}
	b.paid += int64(n)
	return n, err
}

type tabKey struct{}

// WithTab carries t in ctx, for the FHIR client that reads the screening's responses.
func WithTab(ctx context.Context, t *Tab) context.Context {
	return context.WithValue(ctx, tabKey{}, t)
}

// TabOf is the tab ctx carries, or nil.
func TabOf(ctx context.Context) *Tab {
	t, _ := ctx.Value(tabKey{}).(*Tab)
	return t
}
