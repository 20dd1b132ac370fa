package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestServeConfigNamesEveryProblem(t *testing.T) {
	env := map[string]string{
		envListen:         "8080", // no colon
		envRequestTimeout: "soon",
		envLogLevel:       "chatty",
		envTimeZone:       "Mars/Olympus",
		envMaxBodyBytes:   "12",
		envAPIJWTIssuer:   "https://idp.example.org", // without audience and JWKS
		envPublicURL:      "trialscreen.example.org", // not absolute
	}
	_, err := readServeConfig(func(k string) string { return env[k] })
	if err == nil {
		t.Fatal("a bad configuration was accepted")
	}
	for _, want := range []string{
		`TRIALSCREEN_LISTEN: "8080" is not host:port`,
		`TRIALSCREEN_REQUEST_TIMEOUT: "soon" is not a positive duration`,
		`TRIALSCREEN_LOG_LEVEL: "chatty" is not one of debug, info, warn, error`,
		`TRIALSCREEN_TIMEZONE: "Mars/Olympus" is not an IANA time zone`,
		`TRIALSCREEN_MAX_BODY_BYTES: "12" is not a byte count of at least 1024`,
		`TRIALSCREEN_API_JWT_ISSUER: JWT bearer auth needs all of`,
		`TRIALSCREEN_PUBLIC_URL: is not an absolute http(s) URL`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not say %q:\n%v", want, err)
		}
	}
}

func TestServeRefusesAnOpenServiceOverRealPatientData(t *testing.T) {
	env := map[string]string{envFHIRURL: "https://fhir.example.org/r4"}
	_, err := readServeConfig(func(k string) string { return env[k] })
	if err == nil || !strings.Contains(err.Error(), "REST callers must be authenticated") {
		t.Fatalf("a FHIR-backed service without caller auth: err = %v; want it refused", err)
	}
}

// lockedBuffer is a bytes.Buffer that the service's goroutines may write while the test
// reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startServe runs trialscreen serve in-process on a free loopback port and returns its
// base URL, its log (stderr) and audit (stdout) buffers, and a stop function that
// returns the command's exit status.
func startServe(t *testing.T, env map[string]string) (base string, logs, audit *lockedBuffer, stop func() int) {
	t.Helper()
	logs, audit = &lockedBuffer{}, &lockedBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	code := make(chan int, 1)
	getenv := func(k string) string { return env[k] }
	go func() { code <- run(ctx, []string{"serve", "--listen", "127.0.0.1:0"}, getenv, audit, logs) }()
	addr := regexp.MustCompile(`"msg":"listening","addr":"([^"]+)"`)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if m := addr.FindStringSubmatch(logs.String()); m != nil {
			stopped := false
			stop = func() int {
				if stopped {
					return 0
				}
				stopped = true
				cancel()
				return <-code
			}
			t.Cleanup(func() { stop() })
			return "http://" + m[1], logs, audit, stop
		}
		select {
		case c := <-code:
			cancel()
			t.Fatalf("serve exited with %d before listening:\n%s", c, logs.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	cancel()
	t.Fatalf("serve did not log its address:\n%s", logs.String())
	return
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestServeDemoModeHealthMetricsAndCleanStop(t *testing.T) {
	base, logs, _, stop := startServe(t, nil)
	if code, body := get(t, base+"/healthz"); code != 200 {
		t.Errorf("/healthz: %d %s", code, body)
	}
	code, body := get(t, base+"/readyz")
	var ready map[string]string
	if err := json.Unmarshal([]byte(body), &ready); err != nil || code != 200 || ready["source"] != "demo" {
		t.Errorf("/readyz: %d %s; want 200 with source demo", code, body)
	}
	code, body = get(t, base+"/metrics")
	for _, name := range []string{"trialscreen_http_request_duration_seconds", "trialscreen_service_own_duration_seconds", "go_goroutines", "process_cpu_seconds_total"} {
		if code != 200 || !strings.Contains(body, name) {
			t.Errorf("/metrics (%d) lacks %s", code, name)
		}
	}
	if !strings.Contains(logs.String(), "DEMO MODE") || !strings.Contains(logs.String(), "OPEN without authentication") {
		t.Errorf("the log does not say loudly that the service is open in demo mode:\n%s", logs.String())
	}
	if c := stop(); c != exitOK {
		t.Errorf("serve exited with %d on a clean stop; want 0\n%s", c, logs.String())
	}
	if !strings.Contains(logs.String(), `"msg":"stopped"`) {
		t.Errorf("no stop line in the log:\n%s", logs.String())
	}
}
