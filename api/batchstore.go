package api

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/trialscreen/trialscreen/batch"
	"github.com/trialscreen/trialscreen/fhirclient"
	"github.com/trialscreen/trialscreen/screening"
)

// Batch states. queued and running are the non-final ones a client polls through.
const (
	batchQueued    = "queued"
	batchRunning   = "running"
	batchDone      = "done"
	batchFailed    = "failed"
	batchCancelled = "cancelled"
)

// Store limits. A batch's results live in a temporary directory (a verdict document is
// kilobytes; ten thousand of them do not belong in memory), so the bound that matters is
// disk: at most maxBatches batches of at most maxBatchIDs patients each.
const (
	defaultMaxBatches  = 100
	defaultMaxRunning  = 2 // further batches queue: each keeps batchWorkers fetches in flight
	defaultMaxBatchIDs = 10000
	defaultBatchTTL    = 24 * time.Hour // a finished batch is kept this long
	batchWorkers       = 8              // fetches in flight per batch: they wait on the FHIR server, not the CPU
)

// defaultMaxPerCaller is Config.MaxBatchesPerCaller's default: without a cap one caller
// could fill the store, locking others out or pushing their finished batches out.
const defaultMaxPerCaller = 10

// batchJob is one batch. The fields below mu-guarded are read and written under the
// store's mutex; the others are set at creation and never change.
type batchJob struct {
	id       string
	caller   Caller
	address  string
	created  time.Time
	settings screening.Settings
	ids      []string // sorted, unique
	dir      string   // its results directory
	ctx      context.Context
	cancel   context.CancelFunc
	// reasons[i] is why ids[i] could not be fetched; each is written by the one worker
	// that loads the patient and read after Run hands over its outcome.
	reasons []string

	// mu-guarded
	state             string
	started, finished time.Time
	screened          int
	failed            map[string]int // by reason
	verdicts          map[screening.Verdict]int
	errMsg            string
}

// final reports whether the batch's state will not change any more (after a cancel,
// its runner may still be winding down).
func (j *batchJob) final() bool {
	return j.state == batchDone || j.state == batchFailed || j.state == batchCancelled
}

// batchStore holds the batches of one Server in memory, bounded in number and age, and
// runs at most maxRunning of them at a time.
type batchStore struct {
	s *Server

	maxBatches, maxRunning, maxIDs int
	maxPerCaller                   int // batches held for one caller, finished included
	ttl                            time.Duration

	base    context.Context // every batch's context derives from it; Close cancels it
	stop    context.CancelFunc
	wg      sync.WaitGroup // runners
	mu      sync.Mutex
	jobs    map[string]*batchJob
	queue   []*batchJob
	running int
	closed  bool
	root    string // the temporary directory of all results; made with the first batch
}

func newBatchStore(s *Server) *batchStore {
	// Batches are background work on the FHIR server: they get a share of its request
	// slots, never those of the screenings someone is waiting for.
	base, stop := context.WithCancel(fhirclient.AsBackground(context.Background()))
	perCaller := s.cfg.MaxBatchesPerCaller
	if perCaller <= 0 {
		perCaller = defaultMaxPerCaller
	}
	return &batchStore{
		s: s, maxBatches: defaultMaxBatches, maxRunning: defaultMaxRunning, maxIDs: defaultMaxBatchIDs,
		maxPerCaller: perCaller, ttl: defaultBatchTTL, base: base, stop: stop, jobs: map[string]*batchJob{},
	}
}

var (
	errBatchNotFound = echo.NewHTTPError(http.StatusNotFound, "no such batch (it may have expired or been deleted)")
	errBatchClosed   = echo.NewHTTPError(http.StatusServiceUnavailable, "the service is shutting down and takes no new batches")
)

// create registers a batch and queues it.
func (st *batchStore) create(caller Caller, address string, ids []string, settings screening.Settings) (*batchJob, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.closed {
		return nil, errBatchClosed
	}
	now := st.s.cfg.Now().UTC()
	st.prune(now)
	// The caller's own oldest finished batch makes room, as the store's oldest does
	// below. No Retry-After: when a running batch finishes cannot be told in advance.
	ofCaller := func(j *batchJob) bool { return j.caller.ID == caller.ID }
	if n := st.count(ofCaller); n >= st.maxPerCaller && !st.evictOldest(ofCaller) {
		return nil, echo.NewHTTPError(http.StatusTooManyRequests, fmt.Sprintf(
			"this caller already has %d unfinished batches, the most the service holds for one caller (limit %d); wait for one to finish or cancel one",
			n, st.maxPerCaller))
	}
	if len(st.jobs) >= st.maxBatches && !st.evictOldest(anyBatch) {
		return nil, echo.NewHTTPError(http.StatusTooManyRequests, fmt.Sprintf(
			"the service already holds %d unfinished batches; wait for one to finish or cancel one", len(st.jobs)))
	}
	if st.root == "" {
		root, err := os.MkdirTemp("", "trialscreen-batches-") // 0700: the results are patient data
		if err != nil {
			return nil, fmt.Errorf("batch results directory: %w", err)
		}
		st.root = root
	}
	id := rand.Text() // 128 random bits, base32: an id nobody can guess
	ctx, cancel := context.WithCancel(st.base)
	j := &batchJob{
		id: id, caller: caller, address: address, created: now, settings: settings, ids: ids,
		dir: filepath.Join(st.root, id), ctx: ctx, cancel: cancel, reasons: make([]string, len(ids)),
		state: batchQueued, failed: map[string]int{}, verdicts: map[screening.Verdict]int{},
	}
	st.jobs[id] = j
	st.queue = append(st.queue, j)
	st.dispatch()
	return j, nil
}

// count is how many batches match. Called with mu held.
func (st *batchStore) count(match func(*batchJob) bool) int {
	n := 0
	for _, j := range st.jobs {
		if match(j) {
			n++
		}
	}
	return n
}

func anyBatch(*batchJob) bool { return true }

// dispatch starts queued batches while fewer than maxRunning run. Called with mu held.
func (st *batchStore) dispatch() {
	for st.running < st.maxRunning && len(st.queue) > 0 && !st.closed {
		j := st.queue[0]
		st.queue = st.queue[1:]
		j.state, j.started = batchRunning, st.s.cfg.Now().UTC()
		st.running++
		st.wg.Add(1)
		go st.run(j)
	}
}

// get is the caller's batch id. Another caller's batch is not found, exactly like one
// that does not exist: its id tells nothing.
func (st *batchStore) get(caller Caller, id string) (*batchJob, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.prune(st.s.cfg.Now().UTC())
	j, ok := st.jobs[id]
	if !ok || j.caller.ID != caller.ID {
		return nil, errBatchNotFound
	}
	return j, nil
}

// status is a copy of the batch's state for a response.
func (st *batchStore) status(j *batchJob) batchStatus {
	st.mu.Lock()
	defer st.mu.Unlock()
	return j.statusLocked()
}

// remove cancels a queued or running batch (it stays, as cancelled, until deleted or
// expired) and deletes a finished one with its results. deleted tells which happened.
func (st *batchStore) remove(caller Caller, id string) (status batchStatus, deleted bool, err error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	j, ok := st.jobs[id]
	if !ok || j.caller.ID != caller.ID {
		return status, false, errBatchNotFound
	}
	if j.final() {
		st.drop(j)
		return status, true, nil
	}
	st.cancelLocked(j, "cancelled by the caller")
	return j.statusLocked(), false, nil
}

// cancelLocked makes j cancelled now; a runner still working on it stops and removes
// its results. Called with mu held.
func (st *batchStore) cancelLocked(j *batchJob, why string) {
	if j.state == batchQueued {
		for i, q := range st.queue {
			if q == j {
				st.queue = append(st.queue[:i], st.queue[i+1:]...)
				break
			}
		}
	}
	j.state, j.finished, j.errMsg = batchCancelled, st.s.cfg.Now().UTC(), why
	j.cancel()
}

// drop forgets j and deletes its results. Called with mu held.
func (st *batchStore) drop(j *batchJob) {
	delete(st.jobs, j.id)
	j.cancel()
	_ = os.RemoveAll(j.dir)
}

// prune drops finished batches older than ttl. Called with mu held.
func (st *batchStore) prune(now time.Time) {
	for _, j := range st.jobs {
		if j.final() && now.Sub(j.finished) >= st.ttl {
			st.drop(j)
		}
	}
}

// evictOldest drops the finished batch among those that match that finished first, to
// make room; false when every one is still queued or running. Called with mu held.
func (st *batchStore) evictOldest(match func(*batchJob) bool) bool {
	var oldest *batchJob
	for _, j := range st.jobs {
		if match(j) && j.final() && (oldest == nil || j.finished.Before(oldest.finished) ||
			j.finished.Equal(oldest.finished) && j.created.Before(oldest.created)) {
			oldest = j
		}
	}
	if oldest == nil {
		return false
	}
	st.drop(oldest)
	return true
}

// Close cancels every queued and running batch, waits (until ctx ends) for the runners
// to stop, and deletes all results. The store takes no batches afterwards.
func (st *batchStore) Close(ctx context.Context) error {
	st.mu.Lock()
	st.closed = true
	for _, j := range st.jobs {
		if !j.final() {
			st.cancelLocked(j, "the service shut down")
		}
	}
	st.mu.Unlock()
	st.stop()
	stopped := make(chan struct{})
	go func() { st.wg.Wait(); close(stopped) }()
	select {
	case <-stopped:
	case <-ctx.Done():
		return fmt.Errorf("batches: runners still stopping: %w", ctx.Err())
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, j := range st.jobs {
		st.drop(j)
	}
	if st.root != "" {
		if err := os.RemoveAll(st.root); err != nil {
			return fmt.Errorf("batches: removing results: %w", err)
		}
	}
	return nil
}

// CloseBatches cancels the running and queued REST batches and deletes every batch's
// results. Call it when the service shuts down, after the HTTP server has stopped
// taking requests; ctx bounds the wait for running batches to stop.
func (s *Server) CloseBatches(ctx context.Context) error {
	err := s.batches.Close(ctx)
	if s.shared != nil {
		err = errors.Join(err, s.shared.close(ctx))
	}
	return err
}

// run executes j on its own goroutine and records how it ended.
func (st *batchStore) run(j *batchJob) {
	defer st.wg.Done()
	start := time.Now()
	st.s.log.Info("batch started", "batch", j.id, "patients", len(j.ids))
	err := st.execute(j)

	st.mu.Lock()
	defer st.mu.Unlock()
	st.running--
	switch {
	case j.state == batchCancelled:
		_ = os.RemoveAll(j.dir)
	case err != nil:
		// Never patient data: Run's errors are the sink's (files) and the input's.
		st.s.log.Error("batch failed", "batch", j.id, "error", err.Error())
		j.state, j.errMsg = batchFailed, "the batch could not be completed; the service log has the details"
		_ = os.RemoveAll(j.dir) // a prefix of the results is not served as if it were all of them
	default:
		j.state = batchDone
	}
	if j.finished.IsZero() {
		j.finished = st.s.cfg.Now().UTC()
	}
	// Counts by reason, never the patients: the application log holds no patient ids.
	st.s.log.Info("batch finished", "batch", j.id, "state", j.state, "patients", len(j.ids),
		"screened", j.screened, "not_screened", sum(j.failed), "not_screened_by_reason", j.failed,
		"duration", time.Since(start).String())
	st.dispatch()
}

// execute screens j's patients into its directory: results.ndjson in patient id order,
// then summary.csv and the funnel (batch.Finish), as the CLI's batch writes them.
func (st *batchStore) execute(j *batchJob) error {
	s := st.s
	cfg := batch.Config{
		Protocol: s.cfg.Protocol, Settings: j.settings, Workers: batchWorkers, TempDir: st.root,
		Report: func(p batch.Problem) { st.notScreened(j, p) },
	}
	out, err := batch.OpenDir(j.dir, batch.NewManifest(cfg, []string{"rest-batch:" + j.id}), false)
	if err != nil {
		return err
	}
	_, err = batch.Run(j.ctx, cfg, batchInput{st: st, j: j}, &batchSink{st: st, j: j, out: out})
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	_, err = batch.Finish(j.dir, s.cfg.Protocol)
	return err
}

// notScreened counts a patient Run could not screen, by the reason its fetch recorded.
// Run calls it from its committer, after the patient's worker is done with reasons.
func (st *batchStore) notScreened(j *batchJob, p batch.Problem) {
	if !p.Patient || p.Line == 0 || p.Line > uint64(len(j.ids)) {
		return
	}
	reason := j.reasons[p.Line-1]
	if reason == "" { // the fetch worked; evaluating the record failed
		reason = reasonError
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	j.failed[reason]++
}

// Reasons a patient of a batch was not screened: a closed set, for the status document.
const (
	reasonNotFound = "not_found"          // the record source has no such patient
	reasonTimeout  = "timeout"            // the FHIR server did not answer in time
	reasonUpstream = "fhir_error"         // the FHIR server failed or refused
	reasonBirth    = "as_of_before_birth" // the batch's as_of is before the patient's birth date
	reasonError    = "error"              // anything else
)

func failureReason(err error) string {
	var fe *fhirclient.Error
	switch {
	case errors.Is(err, screening.ErrPatientNotFound):
		return reasonNotFound
	case errors.Is(err, context.DeadlineExceeded):
		return reasonTimeout
	case errors.As(err, &fe):
		return reasonUpstream
	}
	return reasonError
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// batchInput yields a batch's patients (already sorted and unique, as Run needs them);
// each is fetched from the configured source on one of Run's workers, and every fetch
// is audited as any screening is.
type batchInput struct {
	st *batchStore
	j  *batchJob
}

func (in batchInput) Patients(ctx context.Context, env *batch.Env, yield func(batch.Patient) error) error {
	for i, id := range in.j.ids {
		if !env.Keep(id) {
			continue
		}
		// Where carries the patient's position, so that notScreened finds its reason.
		p := batch.Patient{ID: id, Where: batch.Problem{File: "patient_ids", Line: uint64(i + 1)}, Load: in.loader(i)}
		if err := yield(p); err != nil {
			return err
		}
	}
	return nil
}

func (in batchInput) loader(i int) func(context.Context) (*screening.Record, error) {
	j := in.j
	return func(ctx context.Context) (*screening.Record, error) {
		rec, reason, err := in.st.s.fetchForBatch(ctx, j.caller, j.address, j.id, j.ids[i], j.settings)
		j.reasons[i] = reason
		return rec, err
	}
}

// fetchForBatch fetches one patient of a batch from the configured source, audited as
// any screening is, and tells why it cannot be screened ("" when it can).
func (s *Server) fetchForBatch(ctx context.Context, caller Caller, address, batchID, id string, settings screening.Settings) (*screening.Record, string, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.RequestTimeout)
	defer cancel()
	rec, err := s.cfg.Source.Record(ctx, id)
	s.cfg.Audit.Record(Access{
		Caller: caller.ID, User: caller.User, Surface: surfaceBatch, PatientID: id,
		Types: s.cfg.Protocol.NeededTypes(), Source: s.sourceName(), Address: address, Err: err,
		Details: map[string]string{"batch": batchID},
	})
	switch {
	case err != nil:
		return rec, failureReason(err), err
	case screening.CheckBirth(rec, settings) != nil:
		return rec, reasonBirth, nil // and batch.Run refuses to screen it
	}
	return rec, "", nil
}

// batchSink writes a batch's results and counts them as they come: the status shows
// verdicts so far, and every screening counts in the service's metrics.
type batchSink struct {
	st  *batchStore
	j   *batchJob
	out *batch.Dir
}

func (k *batchSink) Put(r *batch.Result) error {
	if err := k.out.Put(r); err != nil {
		return err
	}
	k.st.s.cfg.Metrics.ObserveScreening(surfaceBatch, r.Screening)
	k.st.mu.Lock()
	defer k.st.mu.Unlock()
	k.j.screened++
	k.j.verdicts[r.Screening.Verdict]++
	return nil
}
