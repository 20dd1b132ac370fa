package main

import (
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestServerTiming(t *testing.T) {
	h := "app;dur=0.512, fhir;dur=21.250"
	if got := serverTiming(h, "fhir"); got != 21250*time.Microsecond {
		t.Errorf("fhir = %s", got)
	}
	if got := serverTiming(h, "db"); got != -1 {
		t.Errorf("a missing metric = %s; want -1", got)
	}
}

func TestQuantile(t *testing.T) {
	var ds []time.Duration
	for i := 1; i <= 100; i++ {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	for p, want := range map[float64]time.Duration{0.5: 50 * time.Millisecond, 0.99: 99 * time.Millisecond, 1: 100 * time.Millisecond} {
		if got := q(ds, p); got != want {
			t.Errorf("q(%v) = %s; want %s", p, got, want)
		}
	}
}

// Failures are counted by status, 503s apart with the Retry-After they carried, and
// requests that got no answer by cause, without the URL that differs per request.
func TestFailuresByStatusAndRetryAfter(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connect: connection refused")}
	r := result{rate: 10, duration: time.Second, samples: []sample{
		{status: 200}, {status: 200},
		{status: 503, retryAfter: "1"}, {status: 503, retryAfter: "1"}, {status: 503, retryAfter: "2"},
		{status: 504},
		{err: &urlError{"Get \"http://127.0.0.1:1/v1/patients/demo-candidate/screening\"", refused}},
	}}
	if r.ok() != 2 || r.errors() != 5 || r.status(http.StatusServiceUnavailable) != 3 {
		t.Errorf("ok %d, errors %d, 503 %d; want 2, 5, 3", r.ok(), r.errors(), r.status(503))
	}
	got := strings.Join(r.failureLines(), "\n")
	want := "3 x 503 Service Unavailable\n1 x 504 Gateway Timeout\n1 x no answer: dial tcp: connect: connection refused\nRetry-After seen: 1s x 2, 2s x 1"
	if got != want {
		t.Errorf("failure lines:\n%s\nwant:\n%s", got, want)
	}
	if line := r.line("rest"); !strings.Contains(line, " errors=5 status_503=3 retry_after=1sx2,2sx1 ") {
		t.Errorf("result line %q", line)
	}
}

// urlError stands for *url.Error: an error that names the URL and wraps the cause.
type urlError struct {
	url string
	err error
}

func (e *urlError) Error() string { return e.url + ": " + e.err.Error() }
func (e *urlError) Unwrap() error { return e.err }

func TestPasses(t *testing.T) {
	fast := sample{status: 200, total: 30 * time.Millisecond}
	for _, c := range []struct {
		name    string
		samples []sample
		want    bool
	}{
		{"fast, no errors", []sample{fast, fast, fast}, true},
		{"p99 at the objective", []sample{fast, {status: 200, total: p99Objective}}, false},
		{"one 503", []sample{fast, fast, {status: 503, total: time.Millisecond}}, false},
		{"no requests", nil, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := (result{samples: c.samples}).passes(); got != c.want {
				t.Errorf("passes = %v; want %v", got, c.want)
			}
		})
	}
}
