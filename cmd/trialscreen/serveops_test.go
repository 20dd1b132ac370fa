package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trialscreen/trialscreen/demo"
	"github.com/trialscreen/trialscreen/internal/fhirstub"
)

// TRIALSCREEN_METRICS_LISTEN is host:port with a port number, default :9090, and never
// the API's port (a NetworkPolicy could not then tell metrics from the API).
func TestServeConfigMetricsListen(t *testing.T) {
	tests := []struct {
		name, listen, metrics, want, wantErr string
	}{
		{"default", "", "", ":9090", ""},
		{"loopback", "", "127.0.0.1:9100", "127.0.0.1:9100", ""},
		{"both any free port", "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0", ""},
		{"no colon", "", "9090", "", `TRIALSCREEN_METRICS_LISTEN: "9090" is not host:port with a port number (e.g. :9090)`},
		{"no port", "", "localhost", "", `TRIALSCREEN_METRICS_LISTEN: "localhost" is not host:port`},
		{"named port", "", ":metrics", "", `TRIALSCREEN_METRICS_LISTEN: ":metrics" is not host:port with a port number`},
		{"port out of range", "", ":65536", "", `TRIALSCREEN_METRICS_LISTEN: ":65536" is not host:port with a port number`},
		{"the API's default port", "", ":8080", "", `TRIALSCREEN_METRICS_LISTEN: ":8080" uses the port of TRIALSCREEN_LISTEN (8080): metrics need a port of their own`},
		{"the API's port on another address", "10.0.0.1:9300", "127.0.0.1:9300", "", `TRIALSCREEN_METRICS_LISTEN: "127.0.0.1:9300" uses the port of TRIALSCREEN_LISTEN (9300)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{envListen: tt.listen, envMetricsListen: tt.metrics}
			c, err := readServeConfig(func(k string) string { return env[k] })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || c.metricsListen != tt.want {
				t.Fatalf("metrics listen %q, err %v; want %q", c.metricsListen, err, tt.want)
			}
		})
	}
}

// runServe runs trialscreen serve with args to its end, for the cases that never get
// to serve: its exit status and stderr.
func runServe(t *testing.T, env map[string]string, args ...string) (int, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	env = withDataDir(t, env)
	code := run(context.Background(), append([]string{"serve"}, args...), func(k string) string { return env[k] }, testClock, &out, &errOut)
	return code, errOut.String()
}

// --metrics-listen is checked as the variable it overrides, and wins over it.
func TestServeMetricsListenFlag(t *testing.T) {
	code, stderr := runServe(t, nil, "--listen", "127.0.0.1:0", "--metrics-listen", "9090")
	if code != exitError || !strings.Contains(stderr, `TRIALSCREEN_METRICS_LISTEN: "9090" is not host:port`) {
		t.Errorf("exit %d, stderr %q; want 1 naming TRIALSCREEN_METRICS_LISTEN", code, stderr)
	}
	code, stderr = runServe(t, nil, "--listen", "127.0.0.1:18080", "--metrics-listen", "127.0.0.1:18080")
	if code != exitError || !strings.Contains(stderr, "TRIALSCREEN_METRICS_LISTEN: \"127.0.0.1:18080\" uses the port of TRIALSCREEN_LISTEN (18080)") {
		t.Errorf("exit %d, stderr %q; want 1: the API's port refused", code, stderr)
	}
	// startServe passes --metrics-listen 127.0.0.1:0: a bad variable under it is moot.
	_, logs, _, stop := startServe(t, map[string]string{envMetricsListen: "nonsense"})
	if c := stop(); c != exitOK {
		t.Errorf("serve with --metrics-listen over a bad %s exited %d:\n%s", envMetricsListen, c, logs.String())
	}
}

// A metrics port that is taken stops the service at start, naming the variable.
func TestServeMetricsPortTaken(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	code, stderr := runServe(t, nil, "--listen", "127.0.0.1:0", "--metrics-listen", taken.Addr().String())
	if code != exitError || !strings.Contains(stderr, "serve: TRIALSCREEN_METRICS_LISTEN: listen tcp "+taken.Addr().String()) {
		t.Errorf("exit %d, stderr %q; want 1 naming TRIALSCREEN_METRICS_LISTEN", code, stderr)
	}
}

// counter reads one sample's value from Prometheus text; 0 when it is not there.
func counter(t *testing.T, text, series string) float64 {
	t.Helper()
	for _, l := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(l, series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s: %v", l, err)
			}
			return f
		}
	}
	return 0
}

// TestServeMetricsOnlyOnTheOpsPort: the API port has no /metrics (404); the operators'
// port serves the Prometheus text and the probes and nothing of the API; a screening on
// the API port moves per-criterion counters seen only on the operators' port; both
// ports close on stop.
func TestServeMetricsOnlyOnTheOpsPort(t *testing.T) {
	base, logs, _, stop := startServe(t, nil)
	ops := opsBase(t, logs)
	if code, body := get(t, base+"/metrics"); code != http.StatusNotFound || strings.Contains(body, "trialscreen_") {
		t.Errorf("API port GET /metrics: %d %.300s; want 404 without metrics", code, body)
	}
	const outcome = `trialscreen_criterion_outcomes_total{criterion="cns-malignancy",outcome="pass"}`
	code, before := get(t, ops+"/metrics")
	if code != http.StatusOK || !strings.Contains(before, "trialscreen_http_request_duration_seconds") || !strings.Contains(before, "go_goroutines") {
		t.Fatalf("ops port GET /metrics: %d %.300s", code, before)
	}
	if code, body := request(t, "GET", base+"/v1/patients/demo-candidate/screening", "", "", ""); code != http.StatusOK {
		t.Fatalf("screening: %d %.300s", code, body)
	}
	_, after := get(t, ops+"/metrics")
	if got, was := counter(t, after, outcome), counter(t, before, outcome); got != was+1 {
		t.Errorf("%s went from %v to %v over one screening; want +1", outcome, was, got)
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		if code, body := get(t, ops+path); code != http.StatusOK {
			t.Errorf("ops port GET %s: %d %s", path, code, body)
		}
	}
	if code, _ := get(t, ops+"/v1/patients/demo-candidate/screening"); code != http.StatusNotFound {
		t.Errorf("ops port serves a screening: %d, want 404", code)
	}
	if c := stop(); c != exitOK {
		t.Errorf("serve exited with %d\n%s", c, logs.String())
	}
	if _, err := http.Get(ops + "/healthz"); err == nil {
		t.Error("the operators' port still accepts connections after stopping")
	}
}

// TestServeOpsPortAnswersThroughTheDrain: after the stop signal, while a screening
// still waits on the FHIR server, the operators' port answers probes and scrapes; it
// closes once the drain is over. The FHIR server holds the screening until the test
// lets it go, so nothing here depends on timing.
func TestServeOpsPortAnswersThroughTheDrain(t *testing.T) {
	const token = "portal-token-0123456789abcdef"
	stub, err := fhirstub.New(0, demoBundles(t)...)
	if err != nil {
		t.Fatal(err)
	}
	waiting, release := make(chan struct{}, 64), make(chan struct{})
	fhir := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		waiting <- struct{}{}
		<-release
		stub.ServeHTTP(w, r)
	}))
	defer fhir.Close()
	var once sync.Once
	letGo := func() { once.Do(func() { close(release) }) }
	defer letGo()

	env := map[string]string{envFHIRURL: fhir.URL + "/fhir", envAPITokensFile: writeFile(t, "tokens", "portal "+token+"\n")}
	base, logs, _, stop := startServe(t, env)
	ops := opsBase(t, logs)
	answered := make(chan int, 1)
	go func() { // no t.Fatal off the test's goroutine: a failed request answers 0
		req, _ := http.NewRequest("GET", base+"/v1/patients/demo-ineligible-labs/screening", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			answered <- 0
			return
		}
		resp.Body.Close()
		answered <- resp.StatusCode
	}()
	<-waiting // the screening is in flight
	stopped := make(chan int, 1)
	go func() { stopped <- stop() }()
	for !strings.Contains(logs.String(), "shutting down") {
		select {
		case c := <-stopped:
			t.Fatalf("serve stopped (%d) before the screening was answered:\n%s", c, logs.String())
		case <-time.After(5 * time.Millisecond):
		}
	}
	for _, path := range []string{"/healthz", "/metrics"} {
		if code, _ := get(t, ops+path); code != http.StatusOK {
			t.Errorf("ops port GET %s during the drain: %d, want 200", path, code)
		}
	}
	letGo()
	if code := <-answered; code != http.StatusOK {
		t.Errorf("the in-flight screening got %d, want 200", code)
	}
	if c := <-stopped; c != exitOK {
		t.Errorf("serve exited with %d\n%s", c, logs.String())
	}
	if _, err := http.Get(ops + "/healthz"); err == nil {
		t.Error("the operators' port still accepts connections after the drain")
	}
}

// demoBundles are the demo patients' Bundles, for a FHIR stub.
func demoBundles(t *testing.T) [][]byte {
	t.Helper()
	var out [][]byte
	for _, n := range demo.Names() {
		b, err := demo.Bundle(n)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}
