// Command loadtest measures the shipped service under a constant arrival rate, on this
// machine: it starts the real `trialscreen serve` process as a child, with its shipped
// defaults, against an in-process FHIR stub with a fixed latency per request, and sends
// requests over loopback on a fixed schedule whether or not earlier ones have finished
// (an open loop, so a slow service cannot slow the load down and hide its own latency).
//
//	go run ./cmd/loadtest -mode rest -rate 100 -duration 30s -latency 20ms
//	go run ./cmd/loadtest -mode cds -rate 200 -duration 10s
//	go run ./cmd/loadtest -mode rest -find -duration 10s
//	go run ./cmd/loadtest -env TRIALSCREEN_FHIR_MAX_CONCURRENT=32 -rate 300
//
// The child gets only the settings it needs to run against the stub (printed at the
// start); everything else stays at the binary's defaults, so when a default changes, the
// figures follow. -env overrides or adds one variable for an experiment.
//
// Per run it reports the achieved rate, p50/p90/p99/max end to end, errors by status
// (503s and the Retry-After they carried apart), upstream FHIR requests per request, and
// the service process's CPU per request (from /proc: Linux only).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
}

type options struct {
	mode     string
	rate     int
	duration time.Duration
	latency  time.Duration
	bundle   string // cds: the prefetched patient's Bundle file; default the demo candidate
	binary   string // a built trialscreen; empty: build one
	env      envOverrides
	find     bool
	steps    rateList
}

func parseOptions(args []string) (options, error) {
	o := options{steps: defaultSteps()}
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.StringVar(&o.mode, "mode", "rest", "rest (GET a screening; the record comes from the FHIR stub) or cds (patient-view with full prefetch)")
	fs.IntVar(&o.rate, "rate", 100, "requests per second (one run)")
	fs.DurationVar(&o.duration, "duration", 30*time.Second, "how long to send (each step, with -find)")
	fs.DurationVar(&o.latency, "latency", 20*time.Millisecond, "the FHIR stub's latency per request")
	fs.StringVar(&o.bundle, "bundle", "", "cds: a patient Bundle file to prefetch (default: the demo candidate)")
	fs.StringVar(&o.binary, "binary", "", "the trialscreen binary to run (default: go build ./cmd/trialscreen into a temporary directory)")
	fs.Var(&o.env, "env", "KEY=VALUE for the service's environment, over the tool's own settings (repeatable)")
	fs.BoolVar(&o.find, "find", false, "step the rate up (see -steps) and report the highest with p99 < 100ms and no errors")
	fs.Var(&o.steps, "steps", "-find: the rates to try, comma-separated, ascending")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if o.rate < 1 || o.duration <= 0 || o.latency < 0 {
		return o, fmt.Errorf("-rate and -duration must be positive, -latency not negative")
	}
	if o.mode != "rest" && o.mode != "cds" {
		return o, fmt.Errorf("-mode must be rest or cds, not %q", o.mode)
	}
	if o.mode == "cds" && o.duration+cdsTokenMargin > time.Hour {
		return o, fmt.Errorf("-duration %s is too long for -mode cds: the service refuses JWTs valid for more than an hour", o.duration)
	}
	if o.bundle != "" && o.mode != "cds" {
		return o, fmt.Errorf("-bundle is for -mode cds (REST screens the stub's demo patients)")
	}
	return o, nil
}

// run starts the stub and the service, warms up, measures, and stops the service. The
// working directory (binary, settings files, the service's log) is removed unless
// something went wrong, when its path is printed.
func run(ctx context.Context, args []string, out io.Writer) (err error) {
	o, err := parseOptions(args)
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "loadtest-")
	if err != nil {
		return err
	}
	failed := false
	defer func() {
		if err != nil || failed {
			fmt.Fprintf(out, "kept for inspection: %s (the service's log: %s)\n", work, logPath(work))
			return
		}
		os.RemoveAll(work)
	}()

	up, err := startUpstream(o.latency)
	if err != nil {
		return err
	}
	defer up.close()
	binary := o.binary
	if binary == "" {
		if binary, err = buildService(ctx, work, out); err != nil {
			return err
		}
	}
	creds, err := newCredentials()
	if err != nil {
		return err
	}
	own, err := serviceEnv(work, up.url, creds)
	if err != nil {
		return err
	}
	env := own.with(o.env)
	svc, err := startService(ctx, binary, env.list(), logPath(work))
	if err != nil {
		return err
	}
	defer func() {
		if serr := svc.stop(); serr != nil && err == nil {
			err = serr
		}
	}()
	fmt.Fprintf(out, "service: %s serve (pid %d) with this environment and nothing else (every other setting at its default):\n", binary, svc.pid())
	env.print(out)
	if err := svc.waitReady(ctx, env.base); err != nil {
		return err
	}
	gen, err := newLoad(o, env.base, creds, up.ids)
	if err != nil {
		return err
	}
	defer gen.close()

	m := meter{svc: svc, up: up.stub, clk: clockTicks(), gen: gen}
	// Warm up connections and caches (the FHIR CapabilityStatement among them), as a
	// running service would be.
	if err := gen.prepare(warmup, time.Minute); err != nil {
		return err
	}
	for i := 0; i < warmup; i++ {
		gen.send(ctx, i)
	}
	if o.find {
		failed, err = find(ctx, out, o, m)
	} else {
		var r result
		if r, err = m.measure(ctx, o.rate, o.duration); err == nil {
			r.print(out, o, gen.describe())
			failed = r.errors() > 0
		}
	}
	if err == nil && !svc.running() {
		return fmt.Errorf("the service exited during the run; its log: %s", logPath(work))
	}
	return err
}

// warmup is how many requests go, one at a time, before the clock starts.
const warmup = 20
