package api

import (
	"context"
	"fmt"
	"io"

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
