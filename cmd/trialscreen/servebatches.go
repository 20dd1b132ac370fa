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
	return withStoreErr(s, func(st *store.Store) error { return st.CreateBatch(ctx, j, perCaller, total) })
}

func (s *serveStore) Batch(ctx context.Context, id string) (store.BatchInfo, error) {
	return withStore(s, func(st *store.Store) (store.BatchInfo, error) { return st.Batch(ctx, id) })
}

func (s *serveStore) CancelBatch(ctx context.Context, id, why string, now time.Time) (bool, error) {
	return withStore(s, func(st *store.Store) (bool, error) { return st.CancelBatch(ctx, id, why, now) })
}

func (s *serveStore) DeleteBatch(ctx context.Context, id string) error {
	return withStoreErr(s, func(st *store.Store) error { return st.DeleteBatch(ctx, id) })
}

func (s *serveStore) PruneBatches(ctx context.Context, before time.Time) error {
	return withStoreErr(s, func(st *store.Store) error { return st.PruneBatches(ctx, before) })
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
	return withStoreErr(s, func(st *store.Store) error { return st.RenewBatchLeases(ctx, worker, lease) })
}

func (s *serveStore) FinishBatchPatient(ctx context.Context, worker string, c store.BatchClaim, o store.BatchOutcome) error {
	return withStoreErr(s, func(st *store.Store) error { return st.FinishBatchPatient(ctx, worker, c, o) })
}

func (s *serveStore) ReleaseBatchClaims(ctx context.Context, worker string) error {
	return withStoreErr(s, func(st *store.Store) error { return st.ReleaseBatchClaims(ctx, worker) })
}
