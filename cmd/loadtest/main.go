// Command loadtest measures trialscreen under a constant arrival rate, on this machine:
// the service runs in-process behind a real loopback HTTP server, backed by a FHIR stub
// with a fixed latency per request, and requests arrive on a fixed schedule whether or
// not earlier ones have finished (an open loop, so a slow service cannot slow the load
// down and hide its own latency).
//
//	go run ./cmd/loadtest -mode rest -rate 100 -duration 30s -latency 20ms
//	go run ./cmd/loadtest -mode cds -rate 20 -duration 30s
//
// It prints p50/p99 of the end-to-end latency and of the service's own time (the
// end-to-end time less the FHIR wait the service reports in Server-Timing), and the
// error count.
package main

import (
	"context"
	"crypto/ecdsa"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/trialscreen/trialscreen/api"
	"github.com/trialscreen/trialscreen/demo"
	"github.com/trialscreen/trialscreen/fhirclient"
	"github.com/trialscreen/trialscreen/internal/fhirstub"
	"github.com/trialscreen/trialscreen/protocols"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
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
}

func run(ctx context.Context, args []string, out io.Writer) error {
	var o options
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.StringVar(&o.mode, "mode", "rest", "rest (GET a screening; the record comes from the FHIR stub) or cds (patient-view with full prefetch)")
	fs.IntVar(&o.rate, "rate", 100, "requests per second")
	fs.DurationVar(&o.duration, "duration", 30*time.Second, "how long to send")
	fs.DurationVar(&o.latency, "latency", 20*time.Millisecond, "the FHIR stub's latency per request")
	fs.StringVar(&o.bundle, "bundle", "", "cds: a patient Bundle file to prefetch (default: the demo candidate)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.rate < 1 || o.duration <= 0 {
		return fmt.Errorf("-rate and -duration must be positive")
	}
	env, err := newEnvironment(o)
	if err != nil {
		return err
	}
	defer env.close()
	var send func(context.Context, int) sample
	switch o.mode {
	case "rest":
		send = env.restRequest
	case "cds":
		if send, err = env.cdsRequests(o); err != nil {
			return err
		}
	default:
		return fmt.Errorf("-mode must be rest or cds, not %q", o.mode)
	}
	// Warm up connections and caches, as a running service would be.
	for i := 0; i < 20; i++ {
		send(ctx, i)
	}
	samples := openLoop(ctx, o.rate, o.duration, send)
	report(out, o, samples, env.stub.Requests())
	return nil
}

// sample is one request's result.
type sample struct {
	status int
	err    error
	total  time.Duration
	own    time.Duration // total less Server-Timing fhir;dur; -1 when absent
}

// openLoop starts request i at start + i/rate, each in its own goroutine.
func openLoop(ctx context.Context, rate int, d time.Duration, send func(context.Context, int) sample) []sample {
	n := int(d.Seconds() * float64(rate))
	samples := make([]sample, n)
	interval := time.Second / time.Duration(rate)
	start := time.Now()
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		if wait := time.Until(start.Add(time.Duration(i) * interval)); wait > 0 {
			select {
			case <-time.After(wait):
			case <-ctx.Done():
				n = i
			}
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			samples[i] = send(ctx, i)
		}()
	}
	wg.Wait()
	return samples[:n]
}

// environment is the FHIR stub and the service under test, on loopback.
type environment struct {
	stub    *fhirstub.Server
	stubSrv *http.Server
	svc     *api.Server
	svcSrv  *http.Server
	base    string // the service's URL
	token   string
	client  *http.Client
	closers []func()
	ids     []string

	ehrKey   *ecdsa.PrivateKey // cds mode: the test EHR's signing key
	svcNeeds []string          // the resource types the protocol reads (prefetch keys)
}

func newEnvironment(o options) (*environment, error) {
	var bundles [][]byte
	for _, n := range demo.Names() {
		b, err := demo.Bundle(n)
		if err != nil {
			return nil, err
		}
		bundles = append(bundles, b)
	}
	stub, err := fhirstub.New(o.latency, bundles...)
	if err != nil {
		return nil, err
	}
	env := &environment{stub: stub, token: "loadtest-token-0123456789", ids: demo.PatientIDs()}
	stubURL, stubSrv, err := listen(stub)
	if err != nil {
		return nil, err
	}
	env.stubSrv = stubSrv
	env.closers = append(env.closers, func() { stubSrv.Close() })

	proto, err := protocols.LoadDefault()
	if err != nil {
		return nil, err
	}
	env.svcNeeds = proto.NeededTypes()
	metrics, err := api.NewMetrics(prometheus.NewRegistry())
	if err != nil {
		return nil, err
	}
	fc, err := fhirclient.New(fhirclient.Config{BaseURL: stubURL + "/fhir", Observer: metrics.FHIRObserver("default"), MaxConcurrent: 64})
	if err != nil {
		return nil, err
	}
	env.closers = append(env.closers, fc.CloseIdleConnections)
	src, err := fhirclient.NewRecordSource(fc, proto)
	if err != nil {
		return nil, err
	}
	auth, err := api.NewStaticTokens(map[string]string{"loadtest": env.token})
	if err != nil {
		return nil, err
	}
	cfg := api.Config{
		// The stub serves the demo patients: screen them as of their own instant.
		Protocol: proto, Source: src, DefaultAsOf: demo.DefaultAsOf,
		Logger:  slog.New(slog.DiscardHandler),
		Audit:   api.NewAuditLog(io.Discard, "loadtest"),
		Metrics: metrics, Auth: auth,
	}
	if o.mode == "cds" {
		if err := env.configureCDS(&cfg); err != nil {
			return nil, err
		}
	}
	svc, err := api.New(cfg)
	if err != nil {
		return nil, err
	}
	base, svcSrv, err := listen(svc.Handler())
	if err != nil {
		return nil, err
	}
	env.svc, env.svcSrv, env.base = svc, svcSrv, base
	env.closers = append(env.closers, func() { svcSrv.Close() })
	env.client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 512}, Timeout: 30 * time.Second}
	env.closers = append(env.closers, env.client.CloseIdleConnections)
	return env, nil
}

func (e *environment) close() {
	for i := len(e.closers) - 1; i >= 0; i-- {
		e.closers[i]()
	}
}

func listen(h http.Handler) (string, *http.Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	return "http://" + ln.Addr().String(), srv, nil
}

// restRequest screens one of the demo patients through the FHIR stub.
func (e *environment) restRequest(ctx context.Context, i int) sample {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.base+"/v1/patients/"+e.ids[i%len(e.ids)]+"/screening", nil)
	req.Header.Set("Authorization", "Bearer "+e.token)
	return e.do(req)
}

func (e *environment) do(req *http.Request) sample {
	start := time.Now()
	resp, err := e.client.Do(req)
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
	s := sample{status: resp.StatusCode, err: err, total: total, own: own}
	if s.err == nil && s.status != http.StatusOK {
		s.err = fmt.Errorf("HTTP %d", s.status)
	}
	return s
}

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

func report(w io.Writer, o options, samples []sample, upstream int64) {
	var totals, owns []time.Duration
	errs := map[string]int{}
	for _, s := range samples {
		totals = append(totals, s.total)
		if s.own >= 0 {
			owns = append(owns, s.own)
		}
		if s.err != nil {
			errs[s.err.Error()]++
		}
	}
	nErr := 0
	for _, n := range errs {
		nErr += n
	}
	fmt.Fprintf(w, "mode %s: %d requests at %d/s for %s, FHIR stub latency %s (%d upstream requests)\n", o.mode, len(samples), o.rate, o.duration, o.latency, upstream)
	fmt.Fprintf(w, "end to end:       p50 %8s  p90 %8s  p99 %8s  max %8s\n", q(totals, 0.50), q(totals, 0.90), q(totals, 0.99), q(totals, 1))
	fmt.Fprintf(w, "service own time: p50 %8s  p90 %8s  p99 %8s  max %8s\n", q(owns, 0.50), q(owns, 0.90), q(owns, 0.99), q(owns, 1))
	fmt.Fprintf(w, "achieved: %.1f requests/s; errors: %d\n", float64(len(samples))/o.duration.Seconds(), nErr)
	for msg, n := range errs {
		fmt.Fprintf(w, "  %d x %s\n", n, msg)
	}
}

// q is the p-quantile (nearest rank) of ds.
func q(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(p*float64(len(s))+0.999999) - 1
	i = min(max(i, 0), len(s)-1)
	return s[i].Round(10 * time.Microsecond)
}
