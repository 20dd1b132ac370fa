package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The service's latency objective: find reports the highest rate that meets it.
const p99Objective = 100 * time.Millisecond

// passes reports whether a window met the objective: p99 under it, every answer a 200.
func (r result) passes() bool {
	return len(r.samples) > 0 && r.errors() == 0 && q(r.totals(), 0.99) < p99Objective
}

// find steps the rate up, one window of o.duration each, printing one line per step,
// and stops at the first step that misses the objective: past it the service is
// overloaded, and a backlog would spill into the next step. It reports the highest rate
// that met the objective; failed says whether a request failed (the service's log may
// say why: a step that was only slow is the expected end of the search).
func find(ctx context.Context, w io.Writer, o options, m meter) (failed bool, err error) {
	fmt.Fprintf(w, "find: mode %s (%s), FHIR stub latency %s, each step %s, until p99 >= %s or an error; CPU per request from /proc at %d ticks/s%s\n",
		o.mode, m.gen.describe(), o.latency, o.duration, p99Objective, m.clk.perSecond, assumedNote(m.clk))
	fmt.Fprintf(w, "%6s %7s %10s %10s %10s %10s %6s %5s %8s %8s %6s %s\n",
		"rate", "ok/s", "p50", "p90", "p99", "max", "errors", "503", "fhir/req", "cpu/req", "load", "failures")
	best := 0
	for _, rate := range o.steps {
		r, err := m.measure(ctx, rate, o.duration)
		if err != nil {
			return false, err
		}
		fmt.Fprintln(w, r.stepLine())
		failed = r.errors() > 0
		if !r.passes() {
			break
		}
		best = rate
	}
	if best == 0 {
		fmt.Fprintf(w, "no step met p99 < %s with no errors\n", p99Objective)
	} else {
		fmt.Fprintf(w, "highest rate with p99 < %s and no errors: %d/s\n", p99Objective, best)
	}
	fmt.Fprintf(w, "find mode=%s best_rate=%d\n", o.mode, best)
	return failed, nil
}

// stepLine is one step's figures in find's table.
func (r result) stepLine() string {
	t := r.totals()
	return fmt.Sprintf("%6d %7.1f %10s %10s %10s %10s %6d %5d %8.2f %6.2fms %6s %s",
		r.rate, r.achieved(), ms(q(t, 0.5)), ms(q(t, 0.9)), ms(q(t, 0.99)), ms(q(t, 1)),
		r.errors(), r.status(503), r.perRequest(float64(r.upstream)), 1000*r.perRequest(r.serviceCPU), r.load,
		strings.Join(r.failureLines(), "; "))
}

// rateList is -steps: ascending positive rates.
type rateList []int

func defaultSteps() rateList {
	return rateList{25, 50, 100, 150, 200, 300, 400, 600, 800, 1000, 1200, 1600, 2000}
}

func (l *rateList) String() string {
	var parts []string
	for _, r := range *l {
		parts = append(parts, strconv.Itoa(r))
	}
	return strings.Join(parts, ",")
}

func (l *rateList) Set(s string) error {
	var out rateList
	for _, p := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || n < 1 {
			return fmt.Errorf("%q is not a positive rate", p)
		}
		out = append(out, n)
	}
	if !slices.IsSorted(out) {
		return fmt.Errorf("%q: the rates must be in ascending order", s)
	}
	*l = out
	return nil
}
