package containertest

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
)

// TestSIGTERMDrainsInFlightRequests stops the service as Kubernetes does while a
// screening waits on a slow FHIR server: the screening still gets its verdict, new
// connections are refused, and the process exits 0 well before a SIGKILL.
func TestSIGTERMDrainsInFlightRequests(t *testing.T) {
	s := needSuite(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// A FHIR server of its own, slow enough that the request is surely in flight.
	const requestStarted = `"msg":"request"`
	fhirLog := newLogWatch(requestStarted)
	slow, err := s.startStubLogged(ctx, "fhir-slow", fhirLog, "-latency", "3s", "-log-requests")
	if err != nil {
		t.Fatal(err)
	}
	const draining, stopped = "shutting down: draining in-flight requests", `"msg":"stopped"`
	svcLog := newLogWatch(draining, stopped)
	sv, err := s.startService(ctx, serviceOptions{
		fhirURL: slow.base, logs: svcLog,
		env: map[string]string{"TRIALSCREEN_REQUEST_TIMEOUT": "60s", "TRIALSCREEN_SHUTDOWN_TIMEOUT": "60s"},
	})
	if err != nil {
		t.Fatal(err)
	}

	inFlight := make(chan answer, 1)
	go func() { inFlight <- sv.screen(ctx, "demo-candidate") }()
	if err := fhirLog.wait(ctx, requestStarted); err != nil {
		t.Fatalf("the screening never reached the FHIR server: %v", err)
	}
	id := sv.ctr.GetContainerID()
	if _, err := s.docker.ContainerKill(ctx, id, client.ContainerKillOptions{Signal: "SIGTERM"}); err != nil {
		t.Fatalf("docker kill --signal SIGTERM: %v", err)
	}
	if err := svcLog.wait(ctx, draining); err != nil {
		t.Fatalf("the service did not start draining: %v", err)
	}

	t.Run("new connections are refused while draining", func(t *testing.T) {
		select {
		case a := <-inFlight:
			inFlight <- a
			t.Fatal("the in-flight screening ended before the check: the FHIR stub is not slow enough")
		default:
		}
		a := probe(ctx, sv.base+"/healthz")
		if a.err == nil {
			t.Errorf("a new connection during the drain got HTTP %d, want no answer", a.status)
		} else {
			t.Logf("new connection during the drain: %v", a.err)
		}
	})

	t.Run("the in-flight screening completes", func(t *testing.T) {
		a := <-inFlight
		if a.err != nil || a.status != 200 {
			t.Fatalf("in-flight screening: %d %v %.300s", a.status, a.err, a.body)
		}
		if _, v, err := verdictOf(a.body); err != nil || v != wantVerdict["demo-candidate"] {
			t.Errorf("in-flight screening: verdict %q (%v), want %q", v, err, wantVerdict["demo-candidate"])
		}
	})

	t.Run("the process exits 0", func(t *testing.T) {
		wait := s.docker.ContainerWait(ctx, id, client.ContainerWaitOptions{Condition: container.WaitConditionNotRunning})
		select {
		case r := <-wait.Result:
			if r.StatusCode != 0 {
				t.Errorf("exit status %d, want 0 (137 would be a SIGKILL after the drain timed out)", r.StatusCode)
			}
		case err := <-wait.Error:
			t.Fatalf("waiting for the container: %v", err)
		}
		if err := svcLog.wait(ctx, stopped); err != nil {
			t.Errorf("no clean stop in the log: %v", err)
		}
	})

	t.Run("after exit the port is closed", func(t *testing.T) {
		if c, err := net.DialTimeout("tcp", "127.0.0.1:"+sv.port, 2*time.Second); err == nil {
			c.Close()
			t.Errorf("127.0.0.1:%s still accepts connections after the service exited", sv.port)
		}
	})
}

// probe sends one request on a connection of its own (no keep-alive reuse).
func probe(ctx context.Context, url string) answer {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return answer{err: err}
	}
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Do(req)
	if err != nil {
		return answer{err: err}
	}
	resp.Body.Close()
	return answer{status: resp.StatusCode}
}
