package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trialscreen/trialscreen/demo"
)

// syncBuffer is a log sink the server goroutine writes while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// start runs the stub on loopback and returns its base URL; it stops with the test.
func start(t *testing.T, args ...string) (string, *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logs := &syncBuffer{}
	addr := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"-listen", "127.0.0.1:0"}, args...), logs, func(a net.Addr) { addr <- a })
	}()
	var base string
	select {
	case a := <-addr:
		base = "http://" + a.String()
	case err := <-done:
		cancel()
		t.Fatalf("run: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run after cancel: %v", err)
		}
	})
	return base, logs
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

func TestServesDemoPatients(t *testing.T) {
	base, logs := start(t, "-demo", "-log-requests")
	cases := []struct {
		name, path string
		status     int
		contains   string
	}{
		{"patient read", "/fhir/Patient/demo-candidate", 200, `"id":"demo-candidate"`},
		{"unknown patient", "/fhir/Patient/nobody", 404, `"code":"not-found"`},
		{"search by patient", "/fhir/Condition?patient=Patient/demo-candidate", 200, `"resourceType":"Condition"`},
		{"health", "/healthz", 200, "ok"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, body := get(t, base+c.path)
			if status != c.status || !strings.Contains(strings.ReplaceAll(body, " ", ""), c.contains) {
				t.Errorf("GET %s = %d %.200s; want %d containing %s", c.path, status, body, c.status, c.contains)
			}
		})
	}
	// Request logs name resource types, never the patient ids in paths and queries.
	l := logs.String()
	if !strings.Contains(l, `"type":"Condition"`) || !strings.Contains(l, `"type":"Patient"`) {
		t.Errorf("request log lacks resource types:\n%s", l)
	}
	if strings.Contains(l, "demo-candidate") {
		t.Errorf("request log holds a patient id:\n%s", l)
	}
}

func TestServesBundlesFromADirectory(t *testing.T) {
	dir := t.TempDir()
	b, err := demo.Bundle("ineligible-labs")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "p.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	base, _ := start(t, "-bundles", dir)
	if status, _ := get(t, base+"/fhir/Patient/demo-ineligible-labs"); status != 200 {
		t.Errorf("patient from the directory: status %d, want 200", status)
	}
	if status, _ := get(t, base+"/fhir/Patient/demo-candidate"); status != 404 {
		t.Errorf("demo patient without -demo: status %d, want 404", status)
	}
}

func TestLatencyDelaysFHIRButNotHealth(t *testing.T) {
	base, _ := start(t, "-demo", "-latency", "1h")
	if status, _ := get(t, base+"/healthz"); status != 200 {
		t.Fatalf("healthz: %d", status)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/fhir/Patient/demo-candidate", nil)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("a FHIR read answered %d before the latency passed", resp.StatusCode)
	}
}

func TestBadUsage(t *testing.T) {
	cases := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"nothing to serve", nil, "nothing to serve: give -demo, -bundles DIR, or both"},
		{"negative latency", []string{"-demo", "-latency", "-1s"}, "-latency -1s is negative"},
		{"stray argument", []string{"-demo", "extra"}, `unexpected argument "extra"`},
		{"missing directory", []string{"-bundles", "/nonexistent-fhirstub-dir"}, "fhirstub: stat /nonexistent-fhirstub-dir: no such file or directory"},
		{"bad listen address", []string{"-demo", "-listen", "nope"}, "-listen: listen tcp: address nope: missing port in address"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := run(context.Background(), c.args, io.Discard, nil)
			if err == nil || err.Error() != c.wantErr {
				t.Errorf("error %v, want %q", err, c.wantErr)
			}
		})
	}
}

// The search answer is a FHIR searchset the service's client accepts.
func TestSearchIsASearchset(t *testing.T) {
	base, _ := start(t, "-demo")
	_, body := get(t, base+"/fhir/Observation?patient=Patient/demo-candidate")
	var b struct {
		ResourceType, Type string
		Total              int
	}
	if err := json.Unmarshal([]byte(body), &b); err != nil || b.ResourceType != "Bundle" || b.Type != "searchset" || b.Total == 0 {
		t.Errorf("search answer %+v (%v), want a non-empty searchset Bundle", b, err)
	}
}
