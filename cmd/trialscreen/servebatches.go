package main

import (
	"context"
	"time"

	"github.com/trialscreen/trialscreen/api"
	"github.com/trialscreen/trialscreen/store"
)

// The REST batches' share of the store (api.Batches): while the database is not open
// each call fails with errStoreNotOpen, which the batch routes answer with a 503 and the
// workers wait out, so that batches resume without a restart when it opens.
var _ api.Batches = (*serveStore)(nil)

func (s *serveStore) CreateBatch(ctx context.Context, j store.BatchJob, perCaller, total int) error {
	if st := s.cur.Load(); st != nil {
		return st.CreateBatch(ctx, j, perCaller, total)
	}
	return errStoreNotOpen
}

func (s *serveStore) Batch(ctx context.Context, id string) (store.BatchInfo, error) {
	if st := s.cur.Load(); st != nil {
		return st.Batch(ctx, id)
	}
	return store.BatchInfo{}, errStoreNotOpen
}

func (s *serveStore) CancelBatch(ctx context.Context, id, why string, now time.Time) (bool, error) {
	if st := s.cur.Load(); st != nil {
		return st.CancelBatch(ctx, id, why, now)
	}
	return false, errStoreNotOpen
}

func (s *serveStore) DeleteBatch(ctx context.Context, id string) error {
	if st := s.cur.Load(); st != nil {
		return st.DeleteBatch(ctx, id)
	}
	return errStoreNotOpen
}

func (s *serveStore) PruneBatches(ctx context.Context, before time.Time) error {
	if st := s.cur.Load(); st != nil {
		return st.PruneBatches(ctx, before)
	}
	return errStoreNotOpen
}

func (s *serveStore) EachBatchResult(ctx context.Context, id string, fn func(doc []byte) error) error {
	if st := s.cur.Load(); st != nil {
		return st.EachBatchResult(ctx, id, fn)
	}
	return errStoreNotOpen
}

func (s *serveStore) ClaimBatchPatient(ctx context.Context, worker string, lease time.Duration) (store.BatchClaim, bool, error) {
	if st := s.cur.Load(); st != nil {
		return st.ClaimBatchPatient(ctx, worker, lease)
	}
	return store.BatchClaim{}, false, errStoreNotOpen
}

func (s *serveStore) RenewBatchLeases(ctx context.Context, worker string, lease time.Duration) error {
	if st := s.cur.Load(); st != nil {
		return st.RenewBatchLeases(ctx, worker, lease)
	}
	return errStoreNotOpen
}

func (s *serveStore) FinishBatchPatient(ctx context.Context, worker string, c store.BatchClaim, o store.BatchOutcome) error {
	if st := s.cur.Load(); st != nil {
		return st.FinishBatchPatient(ctx, worker, c, o)
	}
	return errStoreNotOpen
}

func (s *serveStore) ReleaseBatchClaims(ctx context.Context, worker string) error {
	if st := s.cur.Load(); st != nil {
		return st.ReleaseBatchClaims(ctx, worker)
	}
	return errStoreNotOpen
}
