package api

import (
	"context"
	"fmt"
	"io"
	"sync"

	"golang.org/x/sync/singleflight"

	"github.com/trialscreen/trialscreen/batch"
	"github.com/trialscreen/trialscreen/funnel"
)

// batchFunnel is a done batch's funnel, counted from its results (as batch.Finish counts
// a directory's), with what its page says of the run: when it started and what was
// screened. Both backends answer it alike; only the service knows these, so the funnel
// files a batch directory keeps do not carry them.
func (s *Server) batchFunnel(ctx context.Context, caller Caller, id string) (*funnel.Funnel, error) {
	st, err := s.backend().status(ctx, caller, id)
	if err != nil {
		return nil, err
	}
	if err := checkDone(st); err != nil {
		return nil, err
	}
	// A done batch's results never change, and counting them reads every verdict
	// document (a 100,000-patient batch: gigabytes of JSON): each replica counts a batch
	// once, however many ask at once, and keeps the last few funnels it counted.
	v, err, _ := s.funnels.group.Do(id, func() (any, error) {
		if f, ok := s.funnels.get(id); ok {
			return f, nil
		}
		f, err := s.countFunnel(ctx, caller, id, st)
		if err == nil {
			s.funnels.put(id, f)
		}
		return f, err
	})
	if err != nil {
		return nil, err
	}
	return v.(*funnel.Funnel), nil
}

// countFunnel counts a done batch's funnel from its results.
func (s *Server) countFunnel(ctx context.Context, caller Caller, id string, st batchStatus) (*funnel.Funnel, error) {
	res, err := s.backend().output(ctx, caller, id, batch.ResultsFile)
	if err != nil {
		return nil, err
	}
	defer res.Close()
	f := funnel.New(s.cfg.Protocol)
	if err := batch.Summarize(res, io.Discard, f); err != nil {
		return nil, fmt.Errorf("batch funnel: %w", err)
	}
	f.RunAt = st.Created
	if st.Started != nil {
		f.RunAt = *st.Started
	}
	f.Inputs = []string{fmt.Sprintf("%s posted to /v1/batches: %d screened, %d could not be",
		plural(st.Total, "patient id", "patient ids"), st.Screened, st.Failed.Count)}
	return f, nil
}

// funnelCache keeps the funnels of the last done batches counted (batchFunnel): they
// are read-only once counted, so requests share them.
type funnelCache struct {
	group singleflight.Group
	mu    sync.Mutex
	byID  map[string]*funnel.Funnel
	order []string // oldest first
}

// maxCachedFunnels bounds the cache: a funnel is a few kilobytes of counts and at most
// a few hundred listed patients per verdict.
const maxCachedFunnels = 32

func (fc *funnelCache) get(id string) (*funnel.Funnel, bool) {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	f, ok := fc.byID[id]
	return f, ok
}

func (fc *funnelCache) put(id string, f *funnel.Funnel) {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	if fc.byID == nil {
		fc.byID = map[string]*funnel.Funnel{}
	}
	if _, ok := fc.byID[id]; ok {
		return
	}
	if len(fc.order) == maxCachedFunnels {
		delete(fc.byID, fc.order[0])
		fc.order = fc.order[1:]
	}
	fc.byID[id] = f
	fc.order = append(fc.order, id)
}
