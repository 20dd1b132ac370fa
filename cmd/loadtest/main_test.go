package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// A short run of each mode completes with every request answered 200: the load test
// measures a working service, not a stream of errors.
func TestShortRunsHaveNoErrors(t *testing.T) {
	for _, mode := range []string{"rest", "cds"} {
		t.Run(mode, func(t *testing.T) {
			var out bytes.Buffer
			if err := run(context.Background(), []string{"-mode", mode, "-rate", "40", "-duration", "1s", "-latency", "2ms"}, &out); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out.String(), "errors: 0") {
				t.Errorf("the run had errors:\n%s", out.String())
			}
		})
	}
}

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
