package main

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// load is one mode's requests.
type load interface {
	// prepare readies the next n calls before the clock starts (cds signs their JWTs
	// there, so that signing is not measured as the service's latency).
	prepare(n int, window time.Duration) error
	// send makes call i and waits for its answer.
	send(ctx context.Context, i int) sample
	describe() string
	close()
}

func newLoad(o options, base string, c *credentials, ids []string) (load, error) {
	h := &caller{base: base, client: &http.Client{
		Transport: &http.Transport{MaxIdleConnsPerHost: 1024},
		// Past the service's own request timeout (20s by default): its 504 is what
		// should be seen, not the tool giving up first.
		Timeout: time.Minute,
	}}
	if o.mode == "cds" {
		return newCDSLoad(h, c, o.bundle)
	}
	return &restLoad{caller: h, token: c.apiToken, ids: ids}, nil
}

// sample is one request's result.
type sample struct {
	status     int   // 0: no answer (err says why)
	err        error // the transport's failure
	total      time.Duration
	own        time.Duration // total less Server-Timing fhir;dur; -1 when absent
	retryAfter string        // the Retry-After header, if any
}

// caller sends requests to the service over loopback, keeping connections open as a
// client of a long-running service would.
type caller struct {
	base   string
	client *http.Client
}

func (c *caller) do(req *http.Request) sample {
	start := time.Now()
	resp, err := c.client.Do(req)
	if err != nil {
		return sample{err: err, total: time.Since(start), own: -1}
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	// Own time is the end-to-end time less the wait on the FHIR server that the service
	// reports (Server-Timing fhir;dur): an upper bound, as it includes writing the body
	// and loopback transport, which the service's app;dur does not.
	total := time.Since(start)
	own := time.Duration(-1)
	if up := serverTiming(resp.Header.Get("Server-Timing"), "fhir"); up >= 0 {
		own = max(total-up, 0)
	}
	s := sample{status: resp.StatusCode, total: total, own: own, retryAfter: resp.Header.Get("Retry-After")}
	if err != nil {
		s.status, s.err = 0, err // the body was cut off: not an answer
	}
	return s
}

func (c *caller) close() { c.client.CloseIdleConnections() }

// serverTiming reads one metric's dur (milliseconds) from a Server-Timing header.
func serverTiming(h, name string) time.Duration {
	for _, m := range strings.Split(h, ",") {
		fields := strings.Split(strings.TrimSpace(m), ";")
		if fields[0] != name {
			continue
		}
		for _, f := range fields[1:] {
			if v, ok := strings.CutPrefix(strings.TrimSpace(f), "dur="); ok {
				ms, err := strconv.ParseFloat(v, 64)
				if err == nil {
					return time.Duration(ms * float64(time.Millisecond))
				}
			}
		}
	}
	return -1
}
