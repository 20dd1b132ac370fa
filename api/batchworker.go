package api

import (
	"context"
	"errors"
	"time"

	"github.com/trialscreen/trialscreen/batch"
	"github.com/trialscreen/trialscreen/screening"
	"github.com/trialscreen/trialscreen/store"
)

// work claims the shared batches' patients one at a time and screens them until close.
// Idle, it looks again every BatchPoll, or at once when a batch is created here.
func (b *sharedBatches) work() {
	defer b.wg.Done()
	for b.base.Err() == nil {
		if b.step() {
			continue
		}
		t := time.NewTimer(b.s.cfg.BatchPoll)
		select {
		case <-b.base.Done():
		case <-b.wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// maxJobCache bounds the batches whose settings a replica keeps: a few run at a time.
const maxJobCache = 64

// job is what a claimed patient's batch says of its screening (caller, address,
// settings), none of which changes: read once per batch, not once per patient, since
// the store's Batch also counts the batch's progress.
func (b *sharedBatches) job(id string) (store.BatchInfo, error) {
	b.jobsMu.Lock()
	in, ok := b.jobs[id]
	b.jobsMu.Unlock()
	if ok {
		return in, nil
	}
	err := b.call(b.base, "batch_get", func(ctx context.Context) (err error) { in, err = b.st.Batch(ctx, id); return err })
	if err != nil {
		return in, err
	}
	b.jobsMu.Lock()
	defer b.jobsMu.Unlock()
	if len(b.jobs) >= maxJobCache {
		clear(b.jobs)
	}
	b.jobs[id] = in
	return in, nil
}

// renew extends this replica's leases every third of a lease, so that a patient whose
// fetch is slow is not taken over while it is being worked on.
func (b *sharedBatches) renew() {
	defer b.wg.Done()
	t := time.NewTicker(b.s.cfg.BatchLease / 3)
	defer t.Stop()
	for {
		select {
		case <-b.base.Done():
			return
		case <-t.C:
			_ = b.call(b.base, "batch_renew", func(ctx context.Context) error {
				return b.st.RenewBatchLeases(ctx, b.worker, b.s.cfg.BatchLease)
			})
		}
	}
}

// step claims one patient and records its outcome; false when there was nothing to
// claim (or the store failed: the worker waits before trying again).
func (b *sharedBatches) step() bool {
	var c store.BatchClaim
	var found bool
	// Not logged: a database down would have every idle worker log each poll; the
	// store metrics count the failures.
	err := b.s.storeCall(b.base, storeOpBatch, func(ctx context.Context) (err error) {
		c, found, err = b.st.ClaimBatchPatient(ctx, b.worker, b.s.cfg.BatchLease)
		return err
	})
	if err != nil || !found {
		return false
	}
	in, err := b.job(c.BatchID)
	if err != nil {
		return false // the claim lapses and the patient is taken again
	}
	o, err := b.screen(in, c)
	if err != nil || b.base.Err() != nil {
		// Stopping: the outcome may be the stop's, not the patient's. The lease lapses
		// and another replica screens the patient.
		return false
	}
	err = b.call(context.WithoutCancel(b.base), "batch_finish", func(ctx context.Context) error {
		return b.st.FinishBatchPatient(ctx, b.worker, c, o)
	})
	if errors.Is(err, store.ErrLeaseLost) {
		b.s.log.Info("batch patient taken over by another replica", "batch", c.BatchID)
	}
	return err == nil || errors.Is(err, store.ErrLeaseLost)
}

// screen screens one claimed patient with batch.Run, as the memory store's batches are
// screened: the same verdict document, the same reasons when there is none.
func (b *sharedBatches) screen(in store.BatchInfo, c store.BatchClaim) (store.BatchOutcome, error) {
	s := b.s
	settings, err := storedSettings(in, s.cfg.Location)
	if err != nil {
		return store.BatchOutcome{Reason: reasonError}, nil
	}
	caller := Caller{ID: in.CallerID, User: in.CallerUser}
	reason := ""
	var res *batch.Result
	cfg := batch.Config{Protocol: s.cfg.Protocol, Settings: settings, Workers: 1}
	p := batch.Patient{ID: c.PatientID, Where: batch.Problem{File: "patient_ids", Line: uint64(c.Pos + 1)},
		Load: func(ctx context.Context) (*screening.Record, error) {
			rec, why, err := s.fetchForBatch(ctx, caller, in.Address, in.ID, c.PatientID, settings)
			reason = why
			return rec, err
		}}
	_, err = batch.Run(b.base, cfg, onePatient{p}, sinkFunc(func(r *batch.Result) error { res = r; return nil }))
	if err != nil {
		return store.BatchOutcome{}, err
	}
	if res == nil {
		if reason == "" { // the fetch worked; evaluating the record failed
			reason = reasonError
		}
		return store.BatchOutcome{Reason: reason}, nil
	}
	s.cfg.Metrics.ObserveScreening(surfaceBatch, res.Screening)
	return store.BatchOutcome{Verdict: string(res.Screening.Verdict), Document: res.JSON}, nil
}

// storedSettings reads back the settings CreateBatch stored.
func storedSettings(in store.BatchInfo, loc *time.Location) (screening.Settings, error) {
	st := screening.Settings{Location: loc}
	var err error
	if st.AsOf, err = time.Parse(time.RFC3339Nano, in.AsOf); err != nil {
		return st, err
	}
	if in.LymphodepletionDate != "" {
		if loc == nil {
			loc = time.UTC
		}
		st.LymphodepletionDate, err = time.ParseInLocation("2006-01-02", in.LymphodepletionDate, loc)
	}
	return st, err
}

// onePatient is a batch.Input of one patient.
type onePatient struct{ p batch.Patient }

func (o onePatient) Patients(_ context.Context, _ *batch.Env, yield func(batch.Patient) error) error {
	return yield(o.p)
}

type sinkFunc func(*batch.Result) error

func (f sinkFunc) Put(r *batch.Result) error { return f(r) }
