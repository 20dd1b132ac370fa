package api

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/trialscreen/trialscreen/batch"
	"github.com/trialscreen/trialscreen/fhirclient"
	"github.com/trialscreen/trialscreen/funnel"
	"github.com/trialscreen/trialscreen/screening"
	"github.com/trialscreen/trialscreen/store"
)

// Batches is the shared store of REST batches: jobs, each patient's claim under a lease,
// results and progress. store.Store implements it.
type Batches interface {
	CreateBatch(ctx context.Context, j store.BatchJob, perCaller, total int) error
	Batch(ctx context.Context, id string) (store.BatchInfo, error)
	CancelBatch(ctx context.Context, id, why string, now time.Time) (bool, error)
	DeleteBatch(ctx context.Context, id string) error
	PruneBatches(ctx context.Context, before time.Time) error
	EachBatchResult(ctx context.Context, id string, fn func(doc []byte) error) error
	ClaimBatchPatient(ctx context.Context, worker string, lease time.Duration) (store.BatchClaim, bool, error)
	RenewBatchLeases(ctx context.Context, worker string, lease time.Duration) error
	FinishBatchPatient(ctx context.Context, worker string, c store.BatchClaim, o store.BatchOutcome) error
	ReleaseBatchClaims(ctx context.Context, worker string) error
}

const (
	defaultBatchLease = 30 * time.Second
	defaultBatchPoll  = time.Second
	// sharedWorkers is how many patients a replica works on at once: what the memory
	// store's defaultMaxRunning batches of batchWorkers each keep in flight.
	sharedWorkers = defaultMaxRunning * batchWorkers
)

// errBatchStore answers a batch route when the store fails: the database may be back in
// a moment, and the batch is not lost.
var errBatchStore = echo.NewHTTPError(http.StatusServiceUnavailable, "the batch store is unavailable just now; try again shortly")

// sharedBatches keeps the batches in the store: every replica answers for every batch,
// and its workers claim patients of any queued batch.
type sharedBatches struct {
	s      *Server
	st     Batches
	worker string // this replica's name on its claims: random, so that a restart is a new one

	base   context.Context // the workers'; close cancels it
	stop   context.CancelFunc
	wg     sync.WaitGroup
	wake   chan struct{} // a batch was created here: idle workers look at once
	closed atomic.Bool

	jobsMu sync.Mutex
	jobs   map[string]store.BatchInfo // batches' settings by id (batchworker.go)
}

func newSharedBatches(s *Server, st Batches) *sharedBatches {
	// Batches are background work on the FHIR server, as in memory (batchstore.go).
	base, stop := context.WithCancel(fhirclient.AsBackground(context.Background()))
	b := &sharedBatches{s: s, st: st, worker: rand.Text(), base: base, stop: stop, wake: make(chan struct{}, sharedWorkers),
		jobs: map[string]store.BatchInfo{}}
	b.wg.Add(sharedWorkers + 1)
	for range sharedWorkers {
		go b.work()
	}
	go b.renew()
	return b
}

// close stops the workers, waits (until ctx ends) for them, and gives up the patients
// they held unfinished, so that another replica takes them at once. (A replica that
// dies instead loses them when their lease ends.)
func (b *sharedBatches) close(ctx context.Context) error {
	if b.closed.Load() {
		return nil // closed before
	}
	if err := b.abandon(ctx); err != nil {
		return err
	}
	err := b.s.storeCall(ctx, storeOpBatch, func(ctx context.Context) error { return b.st.ReleaseBatchClaims(ctx, b.worker) })
	if err != nil {
		return fmt.Errorf("batches: giving up this replica's unfinished patients (they pass to another replica when their lease ends): %w", err)
	}
	return nil
}

// abandon stops the workers and waits for them, leaving their claims to their leases.
func (b *sharedBatches) abandon(ctx context.Context) error {
	b.closed.Store(true)
	b.stop()
	stopped := make(chan struct{})
	go func() { b.wg.Wait(); close(stopped) }()
	select {
	case <-stopped:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("batches: workers still stopping: %w", ctx.Err())
	}
}

// call runs one store operation within the store timeout; a failure is logged (never
// with patient data) and answered as errBatchStore.
func (b *sharedBatches) call(ctx context.Context, op string, f func(ctx context.Context) error) error {
	err := b.s.storeCall(ctx, storeOpBatch, f)
	if err != nil && !errors.Is(err, store.ErrNotFound) && !errors.As(err, new(*store.BatchLimitError)) {
		b.s.log.Error("batch store failed", "operation", op, "error", err.Error())
		return errBatchStore
	}
	return err
}

func (b *sharedBatches) create(ctx context.Context, caller Caller, address string, ids []string, settings screening.Settings) (batchStatus, error) {
	if b.closed.Load() {
		return batchStatus{}, errBatchClosed
	}
	now := b.s.cfg.Now().UTC()
	j := store.BatchJob{
		ID: rand.Text(), CallerID: caller.ID, CallerUser: caller.User, Address: address,
		AsOf: settings.AsOf.Format(time.RFC3339Nano), PatientIDs: ids, Created: now,
	}
	if !settings.LymphodepletionDate.IsZero() {
		j.LymphodepletionDate = settings.LymphodepletionDate.Format("2006-01-02")
	}
	err := b.call(ctx, "batch_prune", func(ctx context.Context) error { return b.st.PruneBatches(ctx, now.Add(-defaultBatchTTL)) })
	if err == nil {
		err = b.call(ctx, "batch_create", func(ctx context.Context) error {
			return b.st.CreateBatch(ctx, j, b.s.batches.maxPerCaller, b.s.batches.maxBatches)
		})
	}
	var le *store.BatchLimitError
	switch {
	case errors.As(err, &le) && le.Scope == "caller":
		return batchStatus{}, echo.NewHTTPError(http.StatusTooManyRequests, fmt.Sprintf(
			"this caller already has %d unfinished batches, the most the service holds for one caller (limit %d); wait for one to finish or cancel one",
			le.Count, le.Limit))
	case errors.As(err, &le):
		return batchStatus{}, echo.NewHTTPError(http.StatusTooManyRequests, fmt.Sprintf(
			"the service already holds %d unfinished batches; wait for one to finish or cancel one", le.Count))
	case err != nil:
		return batchStatus{}, err
	}
	for range sharedWorkers {
		select {
		case b.wake <- struct{}{}:
		default:
		}
	}
	return b.status(ctx, caller, j.ID)
}

// info is the caller's batch from the store; another caller's is not found.
func (b *sharedBatches) info(ctx context.Context, caller Caller, id string) (store.BatchInfo, error) {
	var in store.BatchInfo
	err := b.call(ctx, "batch_get", func(ctx context.Context) (err error) { in, err = b.st.Batch(ctx, id); return err })
	if errors.Is(err, store.ErrNotFound) || err == nil && in.CallerID != caller.ID {
		return in, errBatchNotFound
	}
	if err == nil && in.Final() && b.s.cfg.Now().Sub(in.Finished) >= defaultBatchTTL {
		return in, errBatchNotFound // expired, not yet pruned
	}
	return in, err
}

func (b *sharedBatches) status(ctx context.Context, caller Caller, id string) (batchStatus, error) {
	in, err := b.info(ctx, caller, id)
	if err != nil {
		return batchStatus{}, err
	}
	return statusOfStored(in), nil
}

func (b *sharedBatches) remove(ctx context.Context, caller Caller, id string) (batchStatus, bool, error) {
	in, err := b.info(ctx, caller, id)
	if err != nil {
		return batchStatus{}, false, err
	}
	if in.Final() {
		return batchStatus{}, true, b.call(ctx, "batch_delete", func(ctx context.Context) error { return b.st.DeleteBatch(ctx, id) })
	}
	err = b.call(ctx, "batch_cancel", func(ctx context.Context) error {
		_, err := b.st.CancelBatch(ctx, id, "cancelled by the caller", b.s.cfg.Now().UTC())
		return err
	})
	if err != nil {
		return batchStatus{}, false, err
	}
	st, err := b.status(ctx, caller, id)
	return st, false, err
}

// statusOfStored renders a stored batch as the memory store renders its own.
func statusOfStored(in store.BatchInfo) batchStatus {
	self := "/v1/batches/" + in.ID
	st := batchStatus{
		ID: in.ID, State: in.State, Created: in.Created, AsOf: in.AsOf, LymphodepletionDate: in.LymphodepletionDate,
		Total: in.Total, Screened: in.Screened, Error: in.Error, Links: batchLinks{Self: self},
		Failed:   batchFailures{Count: sum(in.Failed), Reasons: in.Failed},
		Verdicts: map[string]int{},
	}
	if !in.Started.IsZero() {
		st.Started = &in.Started
	}
	if !in.Finished.IsZero() {
		st.Finished = &in.Finished
	}
	for _, v := range []screening.Verdict{screening.PotentiallyEligible, screening.Ineligible, screening.InsufficientData} {
		st.Verdicts[string(v)] = in.Verdicts[string(v)]
	}
	st.Done = st.Screened + st.Failed.Count
	if in.State == batchDone {
		st.Links.Results, st.Links.Summary, st.Links.Funnel = self+"/results", self+"/summary.csv", self+"/funnel"
	}
	return st
}

// output builds a done batch's outputs from its stored results, as batch.Finish builds
// them from results.ndjson: the results in patient order, the summary and the funnel.
func (b *sharedBatches) output(ctx context.Context, caller Caller, id, name string) (io.ReadCloser, error) {
	in, err := b.info(ctx, caller, id)
	if err != nil {
		return nil, err
	}
	if err := checkDone(statusOfStored(in)); err != nil {
		return nil, err
	}
	switch name {
	case batch.ResultsFile:
		return b.results(ctx, id), nil
	case batch.SummaryFile:
		return pipe(func(w io.Writer) error {
			res := b.results(ctx, id)
			defer res.Close()
			return batch.Summarize(res, w, nil)
		}), nil
	}
	f := funnel.New(b.s.cfg.Protocol)
	res := b.results(ctx, id)
	defer res.Close()
	if err := batch.Summarize(res, io.Discard, f); err != nil {
		return nil, err
	}
	return pipe(func(w io.Writer) error {
		if name == batch.FunnelHTML {
			return f.WriteHTML(w)
		}
		return f.WriteJSON(w)
	}), nil
}

// results streams the stored verdict documents as NDJSON. The rows are read as the
// reader is: ten thousand documents are never held at once.
func (b *sharedBatches) results(ctx context.Context, id string) io.ReadCloser {
	return pipe(func(w io.Writer) error {
		err := b.st.EachBatchResult(ctx, id, func(doc []byte) error {
			_, err := w.Write(append(doc, '\n'))
			return err
		})
		if err != nil && !errors.Is(err, io.ErrClosedPipe) {
			b.s.log.Error("batch results could not be read", "batch", id, "error", err.Error())
		}
		return err
	})
}

// pipe runs write on its own goroutine into the reader it returns; closing the reader
// early stops the writer.
func pipe(write func(w io.Writer) error) io.ReadCloser {
	r, w := io.Pipe()
	go func() { w.CloseWithError(write(w)) }()
	return r
}
