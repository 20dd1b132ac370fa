package api

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/trialscreen/trialscreen/store"
)

// AuditStore keeps audit records in the database, each chained to the one before
// (store.AppendAudits): a batch, in order, all or none. An event id already stored is
// success: a retry after a commit whose answer was lost must not store the record twice.
type AuditStore interface {
	AppendAudits(ctx context.Context, entries []store.AuditEntry) error
}

// AuditStoreOptions tune the writer that copies audit records into an AuditStore.
type AuditStoreOptions struct {
	// MaxPending bounds the records waiting for the database; default 10000 (about 13 MB).
	// Past it a record is dropped from the queue and counted: it is still in the sink.
	MaxPending int
	// WriteTimeout bounds one append; default 5s.
	WriteTimeout time.Duration
	// Backoff is the wait after the n-th failure in a row; nil: 100 ms doubling to 10 s.
	Backoff func(n int) time.Duration
	Metrics *Metrics     // nil: not counted
	Logger  *slog.Logger // nil: not logged
}

// auditWriter copies audit records into the database in the background, in order: the
// request that accessed patient data never waits for the database, and a record the
// database refuses stays queued and is retried until it is written. The sink has every
// record anyway, so nothing is lost when the queue is full or the process stops first.
type auditWriter struct {
	st   AuditStore
	opts AuditStoreOptions

	mu      sync.Mutex
	pending []store.AuditEntry

	wake     chan struct{} // a record was queued (capacity 1: one wake-up is enough)
	stopping chan struct{} // closed by stop: flush what is pending, then end
	abort    context.CancelFunc
	base     context.Context // cancelled when stop's deadline passes
	done     chan struct{}
}

// StoreTo starts copying every record Record writes into st as well, and returns the
// function that stops it: it flushes what is pending until ctx ends and returns how many
// records it left unwritten (they are in the sink). Call it once, before serving.
func (a *AuditLog) StoreTo(st AuditStore, opts AuditStoreOptions) (stop func(ctx context.Context) int) {
	if opts.MaxPending <= 0 {
		opts.MaxPending = 10000
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = 5 * time.Second
	}
	if opts.Backoff == nil {
		opts.Backoff = defaultAuditBackoff
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	base, abort := context.WithCancel(context.Background())
	w := &auditWriter{st: st, opts: opts, wake: make(chan struct{}, 1), stopping: make(chan struct{}),
		base: base, abort: abort, done: make(chan struct{})}
	a.writer.Store(w)
	go w.run()
	var once sync.Once
	return func(ctx context.Context) int {
		once.Do(func() { close(w.stopping) })
		select {
		case <-w.done:
		case <-ctx.Done():
			abort()
			<-w.done
		}
		abort()
		w.mu.Lock()
		defer w.mu.Unlock()
		return len(w.pending)
	}
}

func defaultAuditBackoff(n int) time.Duration {
	d := 100 * time.Millisecond
	for i := 1; i < n && d < 10*time.Second; i++ {
		d *= 2
	}
	return min(d, 10*time.Second)
}

// push queues a record, or drops and counts it when the queue is full.
func (w *auditWriter) push(it store.AuditEntry) {
	w.mu.Lock()
	full := len(w.pending) >= w.opts.MaxPending
	if !full {
		w.pending = append(w.pending, it)
	}
	n := len(w.pending)
	w.mu.Unlock()
	if m := w.opts.Metrics; m != nil {
		m.store.auditPending.Set(float64(n))
		if full {
			m.store.auditDropped.Inc()
		}
	}
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// head is a copy of the oldest queued records, at most store.MaxAuditBatch of them:
// what one transaction writes.
func (w *auditWriter) head() []store.AuditEntry {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]store.AuditEntry(nil), w.pending[:min(len(w.pending), store.MaxAuditBatch)]...)
}

// pop removes the n oldest records once they are written.
func (w *auditWriter) pop(n int) {
	w.mu.Lock()
	clear(w.pending[:n])
	w.pending = w.pending[n:]
	left := len(w.pending)
	w.mu.Unlock()
	if m := w.opts.Metrics; m != nil {
		m.store.auditPending.Set(float64(left))
	}
}

// run writes the queue's head until it is written, waiting longer after each failure in
// a row. On stop it goes on while writes succeed, and ends at the first failure.
func (w *auditWriter) run() {
	defer close(w.done)
	failures := 0
	for {
		batch := w.head()
		if len(batch) == 0 {
			select {
			case <-w.wake:
				continue
			case <-w.stopping:
				return
			}
		}
		ctx, cancel := context.WithTimeout(w.base, w.opts.WriteTimeout)
		err := w.st.AppendAudits(ctx, batch)
		cancel()
		if err == nil {
			if failures > 0 {
				w.opts.Logger.Info("audit store: writing again", "failures", failures)
			}
			failures = 0
			w.pop(len(batch))
			continue
		}
		failures++
		if m := w.opts.Metrics; m != nil {
			m.store.auditFailures.Inc()
		}
		if failures == 1 {
			// The error names the database's state, never the record.
			w.opts.Logger.Error("audit store: a record could not be written; it is in the audit sink and will be retried", "error", err.Error())
		}
		t := time.NewTimer(w.opts.Backoff(failures))
		select {
		case <-t.C:
		case <-w.stopping:
			t.Stop()
			return
		}
	}
}
