package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// result is one measured window.
type result struct {
	rate       int
	duration   time.Duration
	samples    []sample
	lag        time.Duration // how late the sender fell behind its schedule, at worst
	wall       time.Duration // from the first send to the last answer
	upstream   int64         // requests the FHIR stub answered in the window
	serviceCPU float64       // seconds of CPU (user + system) of the service process
	toolCPU    float64       // and of this tool (load generator and FHIR stub)
	clk        clock
	load       string // the 1-minute load average at the end
}

func (r result) ok() int {
	n := 0
	for _, s := range r.samples {
		if s.status == http.StatusOK {
			n++
		}
	}
	return n
}

func (r result) errors() int { return len(r.samples) - r.ok() }

// achieved is the rate of 200 answers over the window, or over the time to the last
// answer if that is longer (a service that queues answers later, and less than the
// offered rate).
func (r result) achieved() float64 {
	return float64(r.ok()) / max(r.duration, r.wall).Seconds()
}

// failures counts the requests not answered 200, by status, or by transport failure.
func (r result) failures() map[string]int {
	out := map[string]int{}
	for _, s := range r.samples {
		switch {
		case s.status == http.StatusOK:
		case s.status != 0:
			out[strconv.Itoa(s.status)+" "+http.StatusText(s.status)]++
		default:
			out["no answer: "+transportFailure(s.err)]++
		}
	}
	return out
}

func (r result) status(code int) int {
	n := 0
	for _, s := range r.samples {
		if s.status == code {
			n++
		}
	}
	return n
}

// retryAfters counts the Retry-After values seen, on any status.
func (r result) retryAfters() map[string]int {
	out := map[string]int{}
	for _, s := range r.samples {
		if s.retryAfter != "" {
			out[s.retryAfter]++
		}
	}
	return out
}

// transportFailure names why a request got no answer, without its URL (which differs
// per patient and would split one cause into many lines).
func transportFailure(err error) string {
	var ne net.Error
	switch {
	case err == nil:
		return "unknown"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "client timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	}
	var ue interface{ Unwrap() error }
	if errors.As(err, &ue) && ue.Unwrap() != nil {
		return ue.Unwrap().Error()
	}
	return err.Error()
}

func (r result) totals() []time.Duration {
	var ds []time.Duration
	for _, s := range r.samples {
		ds = append(ds, s.total)
	}
	return ds
}

func (r result) owns() []time.Duration {
	var ds []time.Duration
	for _, s := range r.samples {
		if s.own >= 0 {
			ds = append(ds, s.own)
		}
	}
	return ds
}

func (r result) perRequest(total float64) float64 {
	if len(r.samples) == 0 {
		return 0
	}
	return total / float64(len(r.samples))
}

// print is the report of a single run, ending with its result line.
func (r result) print(w io.Writer, o options, what string) {
	t, own := r.totals(), r.owns()
	fmt.Fprintf(w, "mode %s: %d requests at %d/s for %s; %s; FHIR stub latency %s\n", o.mode, len(r.samples), r.rate, r.duration, what, o.latency)
	fmt.Fprintf(w, "achieved: %.1f answers 200 per second (the sender at worst %s behind its schedule)\n", r.achieved(), r.lag.Round(time.Millisecond))
	fmt.Fprintf(w, "end to end:       p50 %10s  p90 %10s  p99 %10s  max %10s\n", ms(q(t, 0.50)), ms(q(t, 0.90)), ms(q(t, 0.99)), ms(q(t, 1)))
	fmt.Fprintf(w, "service own time: p50 %10s  p90 %10s  p99 %10s  max %10s  (end to end less its FHIR wait)\n", ms(q(own, 0.50)), ms(q(own, 0.90)), ms(q(own, 0.99)), ms(q(own, 1)))
	fmt.Fprintf(w, "errors: %d\n", r.errors())
	for _, line := range r.failureLines() {
		fmt.Fprintf(w, "  %s\n", line)
	}
	fmt.Fprintf(w, "upstream FHIR requests: %d, %.2f per request\n", r.upstream, r.perRequest(float64(r.upstream)))
	fmt.Fprintf(w, "service CPU: %.2f s, %.3f ms per request (%d ticks/s%s); this tool (load and FHIR stub): %.2f s\n",
		r.serviceCPU, 1000*r.perRequest(r.serviceCPU), r.clk.perSecond, assumedNote(r.clk), r.toolCPU)
	fmt.Fprintf(w, "load average (1 min) at the end: %s on %s\n", r.load, cpus())
	fmt.Fprintln(w, r.line(o.mode))
}

// failureLines are the failures by status, most frequent first, and the Retry-After
// values seen.
func (r result) failureLines() []string {
	var lines []string
	f := r.failures()
	keys := make([]string, 0, len(f))
	for k := range f {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return f[keys[i]] > f[keys[j]] || f[keys[i]] == f[keys[j]] && keys[i] < keys[j] })
	for _, k := range keys {
		lines = append(lines, fmt.Sprintf("%d x %s", f[k], k))
	}
	if ra := r.retryAfterSummary(); ra != "-" {
		lines = append(lines, "Retry-After seen: "+ra)
	}
	return lines
}

// retryAfterSummary is e.g. `1s x 120, 2s x 3`, or "-" when none was seen.
func (r result) retryAfterSummary() string {
	ra := r.retryAfters()
	if len(ra) == 0 {
		return "-"
	}
	vals := make([]string, 0, len(ra))
	for v := range ra {
		vals = append(vals, v)
	}
	slices.Sort(vals)
	var parts []string
	for _, v := range vals {
		parts = append(parts, fmt.Sprintf("%ss x %d", v, ra[v]))
	}
	return strings.Join(parts, ", ")
}

// line is the run's figures on one line of key=value pairs, for scripts.
func (r result) line(mode string) string {
	t := r.totals()
	num := func(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e6, 'f', 2, 64) }
	ra := strings.ReplaceAll(r.retryAfterSummary(), " ", "")
	return fmt.Sprintf("result mode=%s rate=%d duration=%s requests=%d ok=%d achieved=%.1f p50_ms=%s p90_ms=%s p99_ms=%s max_ms=%s errors=%d status_503=%d retry_after=%s upstream_per_request=%.2f cpu_ms_per_request=%.3f tool_cpu_s=%.2f loadavg=%s",
		mode, r.rate, r.duration, len(r.samples), r.ok(), r.achieved(),
		num(q(t, 0.50)), num(q(t, 0.90)), num(q(t, 0.99)), num(q(t, 1)),
		r.errors(), r.status(http.StatusServiceUnavailable), ra,
		r.perRequest(float64(r.upstream)), 1000*r.perRequest(r.serviceCPU), r.toolCPU, r.load)
}

func assumedNote(c clock) string {
	if c.assumed {
		return ", assumed: getconf CLK_TCK failed"
	}
	return ""
}

// ms shows d in milliseconds: one unit for every figure, so columns compare at a glance.
func ms(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e6, 'f', 2, 64) + "ms" }

// q is the p-quantile (nearest rank) of ds.
func q(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	slices.Sort(s)
	i := int(p*float64(len(s))+0.999999) - 1
	i = min(max(i, 0), len(s)-1)
	return s[i].Round(10 * time.Microsecond)
}
