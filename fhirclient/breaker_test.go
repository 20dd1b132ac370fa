package fhirclient

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const testCooldown = 200 * time.Millisecond

// switchable answers with the status in code: 200 with a Patient, or that error status.
func switchable(t *testing.T) (*server, *atomic.Int32) {
	var code atomic.Int32
	code.Store(503)
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if c := int(code.Load()); c != 200 {
			writeJSON(w, c, outcome("error", "down"))
			return
		}
		writeJSON(w, 200, patient(patientID))
	})
	return srv, &code
}

func breakerClient(t *testing.T, base string, rec *recorder, mod func(*Config)) *Client {
	return newClient(t, base, func(cfg *Config) {
		cfg.BreakerCooldown = testCooldown
		if rec != nil {
			cfg.Observer = rec
		}
		if mod != nil {
			mod(cfg)
		}
	})
}

func TestBreakerOpensFailsFastAndCloses(t *testing.T) {
	srv, code := switchable(t)
	rec := &recorder{}
	c := breakerClient(t, srv.URL, rec, nil)
	ctx := context.Background()

	// Five calls, each retried to Attempts (3), open the circuit (BreakerFailures 5).
	for i := 1; i <= 5; i++ {
		if s := c.BreakerState(); s != BreakerClosed {
			t.Fatalf("before call %d the circuit is %s", i, s)
		}
		_, err := c.Read(ctx, "Patient", patientID)
		checkError(t, err, KindUnavailable, "read Patient", "HTTP 503", "3 attempts")
	}
	if n := srv.hits.Load(); n != 15 {
		t.Errorf("the server saw %d requests, want 5 calls × 3 attempts", n)
	}
	if s := c.BreakerState(); s != BreakerOpen {
		t.Fatalf("after 5 failed calls the circuit is %s, want open", s)
	}

	// Open: calls fail at once, and the server hears nothing of them.
	code.Store(200)
	for range 3 {
		start := time.Now()
		_, err := c.Read(ctx, "Patient", patientID)
		e := checkError(t, err, KindUnavailable, "read Patient", "circuit breaker is open")
		if e.Attempts != 0 || e.Status != 0 {
			t.Errorf("refused call: Attempts %d, Status %d; want 0, 0", e.Attempts, e.Status)
		}
		if d := time.Since(start); d > 50*time.Millisecond {
			t.Errorf("a refused call took %s", d)
		}
	}
	if n := srv.hits.Load(); n != 15 {
		t.Errorf("the server saw %d requests while the circuit was open", n-15)
	}

	// After the cool-down one probe goes through; its success closes the circuit.
	time.Sleep(testCooldown + 50*time.Millisecond)
	if s := c.BreakerState(); s != BreakerHalfOpen {
		t.Fatalf("after the cool-down the circuit is %s, want half-open", s)
	}
	if _, err := c.Read(ctx, "Patient", patientID); err != nil {
		t.Fatalf("probe: %v", err)
	}
	if n := srv.hits.Load(); n != 16 {
		t.Errorf("the server saw %d requests, want 16", n)
	}
	if s := c.BreakerState(); s != BreakerClosed {
		t.Errorf("after a good probe the circuit is %s, want closed", s)
	}
	if got, want := rec.transitions(), []string{"open", "half-open", "closed"}; !slices.Equal(got, want) {
		t.Errorf("transitions %q, want %q", got, want)
	}
}

func TestBreakerFailedProbeReopens(t *testing.T) {
	srv, _ := switchable(t)
	rec := &recorder{}
	c := breakerClient(t, srv.URL, rec, func(cfg *Config) { cfg.BreakerFailures = 2 })
	ctx := context.Background()
	for range 2 {
		_, err := c.Read(ctx, "Patient", patientID)
		checkError(t, err, KindUnavailable, "read Patient", "HTTP 503")
	}
	time.Sleep(testCooldown + 50*time.Millisecond)
	_, err := c.Read(ctx, "Patient", patientID) // the probe, retried like any call
	checkError(t, err, KindUnavailable, "read Patient", "HTTP 503", "3 attempts")
	if n := srv.hits.Load(); n != 9 {
		t.Errorf("the server saw %d requests, want 3 calls × 3 attempts", n)
	}
	if s := c.BreakerState(); s != BreakerOpen {
		t.Errorf("after a failed probe the circuit is %s, want open", s)
	}
	_, err = c.Read(ctx, "Patient", patientID)
	checkError(t, err, KindUnavailable, "read Patient", "circuit breaker is open")
	if n := srv.hits.Load(); n != 9 {
		t.Errorf("the re-opened circuit let a request through")
	}
	if got, want := rec.transitions(), []string{"open", "half-open", "open"}; !slices.Equal(got, want) {
		t.Errorf("transitions %q, want %q", got, want)
	}
}

// Half-open lets one probe through; calls while it is out fail at once.
func TestBreakerHalfOpenLetsOneProbeThrough(t *testing.T) {
	var down atomic.Bool
	down.Store(true)
	arrived := make(chan struct{}, 1)
	release := make(chan struct{})
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			writeJSON(w, 503, "")
			return
		}
		arrived <- struct{}{}
		<-release
		writeJSON(w, 200, patient(patientID))
	})
	c := breakerClient(t, srv.URL, nil, func(cfg *Config) { cfg.BreakerFailures = 1; cfg.Attempts = 1 })
	ctx := context.Background()
	_, err := c.Read(ctx, "Patient", patientID)
	checkError(t, err, KindUnavailable, "read Patient", "HTTP 503")
	down.Store(false)
	time.Sleep(testCooldown + 50*time.Millisecond)

	var wg sync.WaitGroup
	var probeErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, probeErr = c.Read(ctx, "Patient", patientID)
	}()
	<-arrived
	_, err = c.Read(ctx, "Patient", patientID)
	checkError(t, err, KindUnavailable, "read Patient", "half-open", "probe")
	close(release)
	wg.Wait()
	if probeErr != nil {
		t.Fatalf("probe: %v", probeErr)
	}
	if s := c.BreakerState(); s != BreakerClosed {
		t.Errorf("after the probe the circuit is %s", s)
	}
	if n := srv.hits.Load(); n != 2 {
		t.Errorf("the server saw %d requests, want 2", n)
	}
}

// A server that answers 4xx is up: such answers never open the circuit, and they end a
// run of failures.
func TestBreakerIgnoresClientErrors(t *testing.T) {
	srv, code := switchable(t)
	c := breakerClient(t, srv.URL, nil, nil)
	ctx := context.Background()
	for _, status := range []int32{404, 401, 403, 410, 400} {
		code.Store(status)
		for range 6 {
			if _, err := c.Read(ctx, "Patient", patientID); err == nil {
				t.Fatal("no error")
			}
		}
	}
	if s := c.BreakerState(); s != BreakerClosed {
		t.Fatalf("after 4xx answers the circuit is %s", s)
	}
	if n := srv.hits.Load(); n != 30 {
		t.Errorf("the server saw %d requests, want 30 (4xx is not retried)", n)
	}
	for range 2 {
		code.Store(503)
		for range 4 {
			_, err := c.Read(ctx, "Patient", patientID)
			checkError(t, err, KindUnavailable, "read Patient", "HTTP 503")
		}
		code.Store(404)
		_, err := c.Read(ctx, "Patient", patientID)
		checkError(t, err, KindNotFound, "read Patient")
	}
	if s := c.BreakerState(); s != BreakerClosed {
		t.Errorf("4 failures, a 404, 4 failures: the circuit is %s, want closed", s)
	}
}

// 429 counts as a failure: a throttling server wants fewer requests.
func TestBreakerCountsThrottling(t *testing.T) {
	srv, code := switchable(t)
	code.Store(429)
	c := breakerClient(t, srv.URL, nil, func(cfg *Config) { cfg.BreakerFailures = 2; cfg.Attempts = 1 })
	for range 2 {
		_, err := c.Read(context.Background(), "Patient", patientID)
		checkError(t, err, KindThrottled, "read Patient", "HTTP 429")
	}
	if s := c.BreakerState(); s != BreakerOpen {
		t.Errorf("after 2 throttled calls the circuit is %s, want open", s)
	}
}

// The caller giving up says nothing about the server.
func TestBreakerIgnoresCallerCancellation(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	c := breakerClient(t, srv.URL, nil, func(cfg *Config) { cfg.BreakerFailures = 1 })
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	for range 3 {
		_, err := c.Read(canceled, "Patient", patientID)
		checkError(t, err, KindUnavailable, "read Patient", "canceled")
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
		_, err = c.Read(ctx, "Patient", patientID)
		cancel()
		checkError(t, err, KindUnavailable, "read Patient", "deadline passed")
	}
	if s := c.BreakerState(); s != BreakerClosed {
		t.Errorf("after canceled calls the circuit is %s, want closed", s)
	}
}

func TestBreakerDisabled(t *testing.T) {
	srv, _ := switchable(t)
	rec := &recorder{}
	c := breakerClient(t, srv.URL, rec, func(cfg *Config) { cfg.BreakerFailures = -1; cfg.Attempts = 1 })
	for range 10 {
		_, err := c.Read(context.Background(), "Patient", patientID)
		checkError(t, err, KindUnavailable, "read Patient", "HTTP 503")
	}
	if n := srv.hits.Load(); n != 10 {
		t.Errorf("the server saw %d requests, want 10", n)
	}
	if s := c.BreakerState(); s != BreakerClosed {
		t.Errorf("a disabled breaker reads %s", s)
	}
	if tr := rec.transitions(); len(tr) != 0 {
		t.Errorf("a disabled breaker moved: %q", tr)
	}
}
