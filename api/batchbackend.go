package api

import (
	"context"
	"io"
	"os"
	"path/filepath"

	"github.com/trialscreen/trialscreen/screening"
)

// batchBackend is where a Server's batches live: this replica's memory and a temporary
// directory (batchstore.go), or the store every replica shares (batchshared.go). The
// routes (batches.go) answer the same documents from either.
type batchBackend interface {
	create(ctx context.Context, caller Caller, address string, ids []string, settings screening.Settings) (batchStatus, error)
	// status is the caller's batch; another caller's is not found, as one that does not exist.
	status(ctx context.Context, caller Caller, id string) (batchStatus, error)
	// remove cancels a queued or running batch, or deletes a finished one (deleted).
	remove(ctx context.Context, caller Caller, id string) (st batchStatus, deleted bool, err error)
	// output opens one of a done batch's outputs: batch.ResultsFile, SummaryFile,
	// FunnelJSON or FunnelHTML.
	output(ctx context.Context, caller Caller, id, name string) (io.ReadCloser, error)
}

// backend is the shared store's batches when the service has one, else this replica's.
func (s *Server) backend() batchBackend {
	if s.shared != nil {
		return s.shared
	}
	return memoryBatches{s.batches}
}

// memoryBatches adapts the in-memory batchStore to batchBackend.
type memoryBatches struct{ st *batchStore }

func (m memoryBatches) create(_ context.Context, caller Caller, address string, ids []string, settings screening.Settings) (batchStatus, error) {
	j, err := m.st.create(caller, address, ids, settings)
	if err != nil {
		return batchStatus{}, err
	}
	return m.st.status(j), nil
}

func (m memoryBatches) status(_ context.Context, caller Caller, id string) (batchStatus, error) {
	j, err := m.st.get(caller, id)
	if err != nil {
		return batchStatus{}, err
	}
	return m.st.status(j), nil
}

func (m memoryBatches) remove(_ context.Context, caller Caller, id string) (batchStatus, bool, error) {
	return m.st.remove(caller, id)
}

func (m memoryBatches) output(_ context.Context, caller Caller, id, name string) (io.ReadCloser, error) {
	j, err := m.st.get(caller, id)
	if err != nil {
		return nil, err
	}
	if err := checkDone(m.st.status(j)); err != nil {
		return nil, err
	}
	f, err := os.Open(filepath.Join(j.dir, name))
	if os.IsNotExist(err) { // deleted or expired since
		return nil, errBatchNotFound
	}
	return f, err
}
