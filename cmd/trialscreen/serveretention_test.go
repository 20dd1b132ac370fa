package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"

	"github.com/trialscreen/trialscreen/api"
	"github.com/trialscreen/trialscreen/store"
)

// signalDeleter is a real store whose every retention run is reported on runs, so that
// the test knows a run finished without waiting on a timer.
type signalDeleter struct {
	st   *store.Store
	fail error
	runs chan time.Time
}

func (d signalDeleter) DeleteScreeningsBefore(ctx context.Context, cutoff time.Time) (int64, error) {
	defer func() { d.runs <- cutoff }()
	if d.fail != nil {
		return 0, d.fail
	}
	return d.st.DeleteScreeningsBefore(ctx, cutoff)
}

// The retention job deletes what is older than the retention by the injected clock, at
// start and at each tick, counts it, leaves audit records alone, and stops cleanly.
func TestRetentionDeletesOldScreenings(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	st, err := store.Open(ctx, store.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	for i, age := range []time.Duration{100 * 24 * time.Hour, 50 * 24 * time.Hour, time.Hour} {
		if err := st.Save(ctx, store.Screening{ID: fmt.Sprintf("s%d", i), PatientID: "p", Created: t0.Add(-age), Document: []byte(`{}`)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.AppendAudit(ctx, "a1", t0.Add(-200*24*time.Hour), []byte(`{"resourceType":"AuditEvent"}`)); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	m, err := api.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	now := t0
	ticks := make(chan time.Time)
	d := signalDeleter{st: st, runs: make(chan time.Time)}
	stop := startRetention(d, 90*24*time.Hour, func() time.Time { return now }, ticks, m, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if cutoff := <-d.runs; !cutoff.Equal(t0.Add(-90 * 24 * time.Hour)) {
		t.Errorf("first run's cutoff = %v, want 90 days before the clock", cutoff)
	}
	now = t0.Add(45 * 24 * time.Hour) // the 50-day-old screening is 95 days old now
	ticks <- now
	<-d.runs
	stop()
	if got := counterValue(t, reg, "trialscreen_store_retention_deleted_total"); got != 2 {
		t.Errorf("retention deleted = %v, want 2", got)
	}
	if _, err := st.Get(ctx, "s2"); err != nil {
		t.Errorf("the recent screening: %v", err)
	}
	if c, err := st.VerifyAudit(ctx); err != nil || c.Count != 1 {
		t.Errorf("audit rows after retention: %+v, %v; want the one kept", c, err)
	}
}

// A run that fails is logged, and the job goes on to the next tick.
func TestRetentionFailureIsLogged(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	m, err := api.NewMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	var logs strings.Builder
	ticks := make(chan time.Time)
	d := signalDeleter{fail: errors.New("store: delete old screenings: connection refused"), runs: make(chan time.Time)}
	stop := startRetention(d, time.Hour, func() time.Time { return time.Time{} }, ticks, m, slog.New(slog.NewTextHandler(&logs, nil)))
	<-d.runs
	ticks <- time.Time{}
	<-d.runs
	stop()
	if n := strings.Count(logs.String(), "retention: old screenings not deleted"); n != 2 || !strings.Contains(logs.String(), "connection refused") {
		t.Errorf("logs = %s; want both failed runs logged with the error", logs.String())
	}
}

// TRIALSCREEN_RETENTION is a positive duration, 90 days by default.
func TestServeConfigRetention(t *testing.T) {
	c, err := readServeConfig(func(string) string { return "" })
	if err != nil || c.retention != 2160*time.Hour {
		t.Errorf("default retention = %v, %v; want 2160h", c.retention, err)
	}
	for _, v := range []string{"90d", "-1h", "0s"} {
		_, err := readServeConfig(func(k string) string { return map[string]string{envRetention: v}[k] })
		if err == nil || !strings.Contains(err.Error(), envRetention+`: "`+v+`" is not a positive duration`) {
			t.Errorf("%s: %v", v, err)
		}
	}
	c, err = readServeConfig(func(k string) string { return map[string]string{envRetention: "720h"}[k] })
	if err != nil || c.retention != 720*time.Hour {
		t.Errorf("720h: %v, %v", c.retention, err)
	}
}

func counterValue(t *testing.T, g prometheus.Gatherer, name string) float64 {
	t.Helper()
	n, err := testutil.GatherAndCount(g, name)
	if err != nil || n != 1 {
		t.Fatalf("%s: %d series, %v", name, n, err)
	}
	mfs, _ := g.Gather()
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	return 0
}
