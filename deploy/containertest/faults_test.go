package containertest

import (
	"context"
	"encoding/json"
	"testing"
	"time"
)

// TestFaultDrills takes the FHIR server away under load (stopped, then paused) and
// brings it back. While it is away every screening is the patient's own verdict,
// insufficient-data (criteria unknown) or a 502/504 problem, never a wrong verdict;
// once it is back the service screens correctly again by itself, without a restart.
func TestFaultDrills(t *testing.T) {
	s := needSuite(t)
	f, sv := s.fhir, s.service
	drills := []struct {
		name            string
		outage, restore func(context.Context) error
		hold            time.Duration // how long the FHIR server stays away
	}{
		{"stop then start the FHIR server", f.stop, f.start, 4 * time.Second},
		// Longer than the service's request timeout (5s), so that requests time out.
		{"pause then unpause the FHIR server", f.pause, f.unpause, 7 * time.Second},
	}
	for _, d := range drills {
		t.Run(d.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			if _, err := sv.waitAllCorrect(ctx, 45*time.Second); err != nil {
				t.Fatalf("before the drill: %v", err)
			}
			started := startedAt(ctx, t, s, sv)

			l := startLoad(ctx, sv, 4, "before")
			defer l.stop()
			if err := l.waitCount(ctx, "before", outcomeCorrect, 8, 30*time.Second); err != nil {
				t.Fatal(err)
			}

			// The outage counts from the request to Docker: requests in flight as the
			// server goes away are the ones that see it go.
			l.enter("outage")
			if err := d.outage(ctx); err != nil {
				t.Fatalf("outage: %v", err)
			}
			restored := false
			defer func() {
				if !restored {
					_ = d.restore(context.Background()) // leave the FHIR server up for the next test
				}
			}()
			time.Sleep(d.hold / 2)
			checkProbesDuringOutage(ctx, t, sv)
			time.Sleep(d.hold - d.hold/2)

			l.enter("recovery")
			if err := d.restore(ctx); err != nil {
				t.Fatalf("restore: %v", err)
			}
			restored = true
			took, err := sv.waitAllCorrect(ctx, 45*time.Second)
			if err != nil {
				t.Errorf("the service did not recover by itself: %v", err)
			} else {
				t.Logf("all screenings correct again %s after the FHIR server came back", took.Round(100*time.Millisecond))
			}

			l.enter("after")
			if err := l.waitCount(ctx, "after", outcomeCorrect, 8, 30*time.Second); err != nil {
				t.Error(err)
			}
			l.stop()
			t.Logf("answers:%s", l.summary("before", "outage", "recovery", "after"))

			for _, v := range l.violations {
				t.Error(v)
			}
			if all, degraded := l.total("outage"); degraded == 0 {
				t.Errorf("the outage degraded none of its %d answers: the drill did not reach the service", all)
			}
			if all, degraded := l.total("after"); degraded > 0 {
				t.Errorf("%d of %d answers after recovery were not correct", degraded, all)
			}
			if now := startedAt(ctx, t, s, sv); now != started {
				t.Errorf("the service container restarted (started %s, now %s)", started, now)
			}
		})
	}
}

// checkProbesDuringOutage: the process stays alive (no restart by Kubernetes) but is
// not ready (no traffic routed to it).
func checkProbesDuringOutage(ctx context.Context, t *testing.T, sv *service) {
	t.Helper()
	if a := sv.get(ctx, "/healthz", false); a.status != 200 {
		t.Errorf("/healthz during the outage: %d %v, want 200", a.status, a.err)
	}
	a := sv.get(ctx, "/readyz", false)
	var body map[string]string
	_ = json.Unmarshal([]byte(a.body), &body)
	if a.status != 503 || body["status"] != "not ready" {
		t.Errorf("/readyz during the outage: %d %s, want 503 not ready", a.status, a.body)
	}
}

// startedAt is when the service container's process last started.
func startedAt(ctx context.Context, t *testing.T, s *suite, sv *service) string {
	t.Helper()
	st, err := sv.ctr.State(ctx)
	if err != nil {
		t.Fatalf("container state: %v", err)
	}
	if !st.Running {
		t.Fatalf("the service container is not running (exit %d)", st.ExitCode)
	}
	return st.StartedAt
}
