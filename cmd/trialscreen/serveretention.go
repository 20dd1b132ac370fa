package main

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/trialscreen/trialscreen/api"
)

// retentionEvery is how often the retention job runs: screenings then live at most an
// hour past TRIALSCREEN_RETENTION.
const retentionEvery = time.Hour

// retentionTimeout bounds one run, so that a database that hangs does not hold the job
// (and shutdown) forever.
const retentionTimeout = 5 * time.Minute

// screeningDeleter is what the retention job needs of the store.
type screeningDeleter interface {
	DeleteScreeningsBefore(ctx context.Context, cutoff time.Time) (int64, error)
}

// startRetention deletes the screenings older than retention (by now) once at start and
// then on every tick, until the returned stop is called. Audit records are not touched:
// they are kept apart, and are never deleted by the service. A failed run is logged and
// left to the next tick.
func startRetention(st screeningDeleter, retention time.Duration, now func() time.Time, ticks <-chan time.Time, metrics *api.Metrics, log *slog.Logger) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			rctx, rcancel := context.WithTimeout(ctx, retentionTimeout)
			n, err := st.DeleteScreeningsBefore(rctx, now().Add(-retention))
			rcancel()
			switch {
			case err != nil && !(ctx.Err() != nil && errors.Is(err, context.Canceled)):
				// A failure is logged even when shutdown began meanwhile; only the run
				// the shutdown itself cut short is not a failure.
				log.Error("retention: old screenings not deleted; trying again at the next run", "error", err.Error())
			case n > 0:
				metrics.RetentionDeleted(n)
				log.Info("retention: old screenings deleted", "deleted", n, "retention", retention.String())
			}
			select {
			case <-ctx.Done():
				return
			case <-ticks:
			}
		}
	}()
	return func() {
		cancel()
		<-done
	}
}
