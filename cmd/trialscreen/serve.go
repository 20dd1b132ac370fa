package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/trialscreen/trialscreen/api"
	"github.com/trialscreen/trialscreen/demo"
	"github.com/trialscreen/trialscreen/screening"
)

// serveCmd runs the HTTP service, on the API port and the operators' port
// (serveops.go), until ctx ends (SIGTERM, SIGINT), then drains in-flight requests for
// up to the shutdown timeout.
func serveCmd(ctx context.Context, args []string, getenv func(string) string, now func() time.Time, stdout, stderr io.Writer) error {
	cmd := commandNamed("serve")
	fs := cmd.flagSet()
	listen := fs.String("listen", "", "host:port to listen on (overrides "+envListen+")")
	metricsListen := fs.String("metrics-listen", "", "host:port of /metrics and the probes (overrides "+envMetricsListen+")")
	if err := cmd.parse(fs, args, stdout); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("serve: unexpected argument %q", fs.Arg(0))
	}
	flags := map[string]string{envListen: *listen, envMetricsListen: *metricsListen}
	env := func(k string) string {
		if v := flags[k]; v != "" {
			return v
		}
		return getenv(k)
	}
	cfg, err := readServeConfig(env)
	if err != nil {
		return err
	}
	log := newLogger(stderr, cfg.logLevel)
	if cfg.limits, err = serveMemoryLimits(cfg, log); err != nil {
		return err
	}
	svc, closeAll, err := buildService(ctx, cfg, env, now, log, stdout)
	if err != nil {
		return err
	}
	defer closeAll()

	ln, err := net.Listen("tcp", cfg.listen)
	if err != nil {
		return fmt.Errorf("serve: %s: %w", envListen, err)
	}
	opsLn, err := net.Listen("tcp", cfg.metricsListen)
	if err != nil {
		_ = ln.Close()
		return fmt.Errorf("serve: %s: %w", envMetricsListen, err)
	}
	hs := &http.Server{
		Handler:           svc.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       cfg.requestTimeout + 10*time.Second,
		WriteTimeout:      cfg.requestTimeout + 10*time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	ops := newOpsServer(svc.OpsHandler(), log)
	log.Info("listening for metrics and probes", "addr", opsLn.Addr().String())
	log.Info("listening", "addr", ln.Addr().String(), "public_url", cfg.publicURL)
	served, opsServed := make(chan error, 1), make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	go func() { opsServed <- ops.Serve(opsLn) }()

	select {
	case err := <-served:
		_ = ops.Close()
		return fmt.Errorf("serve: %w", err)
	case err := <-opsServed:
		_ = hs.Close()
		return fmt.Errorf("serve: %s: %w", envMetricsListen, err)
	case <-ctx.Done():
	}
	// Stop accepting, let in-flight screenings finish: a coordinator's answer is not
	// thrown away because a pod is being replaced.
	log.Info("shutting down: draining in-flight requests", "timeout", cfg.shutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), cfg.shutdownTimeout)
	defer cancel()
	err = hs.Shutdown(sctx)
	if err != nil {
		_ = hs.Close() // the drain ran out: cut what is left rather than hang
	}
	// Batches run in the background, past any request: stop this replica's workers and
	// give their unfinished patients back to the store for the other replicas.
	if cerr := svc.CloseBatches(sctx); cerr != nil {
		log.Warn("batches did not stop within the shutdown timeout", "error", cerr.Error())
	}
	// The operators' port closes last: probes and scrapes answer while screenings drain.
	if oerr := ops.Shutdown(sctx); oerr != nil {
		_ = ops.Close()
		err = errors.Join(err, fmt.Errorf("%s: %w", envMetricsListen, oerr))
	}
	if err != nil {
		return fmt.Errorf("serve: shutdown: %w", err)
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	if err := <-opsServed; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %s: %w", envMetricsListen, err)
	}
	log.Info("stopped")
	return nil
}

// newLogger writes structured JSON logs. They never hold patient data or tokens: the
// service logs routes, statuses and classified errors, not requests.
func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level)) // checked in readServeConfig
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}))
}

// buildService wires the service: protocol, record source, metrics registry, audit
// sink, caller auth, clock (also of the terminology expansion's times). closeAll releases
// what it opened.
func buildService(ctx context.Context, cfg serveConfig, getenv func(string) string, now func() time.Time, log *slog.Logger, stdout io.Writer) (*api.Server, func(), error) {
	var closers []func()
	closeAll := func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	fail := func(err error) (*api.Server, func(), error) {
		closeAll()
		return nil, nil, err
	}
	site, err := readSiteTerms(getenv)
	if err != nil {
		return fail(fmt.Errorf("serve: %w", err))
	}
	log.Info("terminology loaded", site.summary()...)
	loc, _ := time.LoadLocation(cfg.timeZone)

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics, err := api.NewMetrics(reg)
	if err != nil {
		return fail(err)
	}
	proto, tx, err := serveProtocol(ctx, cfg, site, reg, log, now)
	if err != nil {
		return fail(err)
	}
	if tx != nil {
		closers = append(closers, startTerminologyRefresh(ctx, tx, cfg.terminologyRefresh))
	}

	auditW := stdout
	if cfg.auditLog != "-" {
		f, err := os.OpenFile(cfg.auditLog, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return fail(fmt.Errorf("serve: %s: %w", envAuditLog, err))
		}
		closers = append(closers, func() { _ = f.Close() })
		auditW = f
	}
	host, _ := os.Hostname()

	acfg := api.Config{
		Protocol:       proto,
		PublicURL:      cfg.publicURL,
		Location:       loc,
		Logger:         log,
		Audit:          api.NewAuditLog(auditW, "trialscreen@"+host),
		Metrics:        metrics,
		RequestTimeout: cfg.requestTimeout,
		MaxBodyBytes:   cfg.limits.maxBodyBytes,
		MaxScreenings:  cfg.maxScreenings,
		MetricsHandler: promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}), // on the operators' port only
		Now:            now,
	}
	acfg.MaxBundleEntries = cfg.limits.maxEntries
	if acfg.BodyMemory, err = cfg.limits.plan.Limiter(); err != nil {
		return fail(fmt.Errorf("serve: %w", err))
	}
	if cfg.demo() {
		src, err := demo.NewSource(proto)
		if err != nil {
			return fail(err)
		}
		acfg.Source, acfg.Demo = src, true
		// The demo patients were written for one instant; now, their labs would be stale.
		// Every surface screens them as of it, whoever sends their record.
		acfg.DefaultAsOf = demo.DefaultAsOf
	} else {
		src, ready, closeSrc, err := fhirRecordSource(getenv, proto, metrics, cfg.limits.fhir())
		if err != nil {
			return fail(err)
		}
		closers = append(closers, closeSrc)
		acfg.Source, acfg.Ready = src, ready
	}
	closeAuth, err := configureAuth(&acfg, cfg, metrics, log)
	closers = append(closers, closeAuth)
	if err != nil {
		return fail(err)
	}
	if cfg.demo() {
		open := "REST callers are authenticated"
		if acfg.Auth == nil {
			open = "REST is OPEN without authentication"
		}
		log.Warn("DEMO MODE: no FHIR server is configured (" + envFHIRURL + "); serving the built-in synthetic patients " +
			fmt.Sprint(demo.PatientIDs()) + "; " + open)
	}
	// The store (stored screenings, the CDS jti replay set), in demo mode too; opened
	// last, so that a configuration refused above never touches the database.
	st := openServeStore(ctx, cfg, now, log, metrics)
	closers = append(closers, st.close)
	acfg.Screenings, acfg.Worklist, acfg.JTIs, acfg.Batches = st, st, st, st
	acfg.StoreReady = st.Ping
	if err := configureSignIn(ctx, &acfg, cfg.signIn, st); err != nil {
		return fail(err)
	}
	// Audit records go to the store too, in the background and retried (closers run in
	// reverse: these stop before the store closes, flushing what they can).
	stopAudit := acfg.Audit.StoreTo(st, api.AuditStoreOptions{Metrics: metrics, Logger: log})
	closers = append(closers, func() {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), auditFlushTimeout)
		defer cancel()
		if left := stopAudit(fctx); left > 0 {
			log.Error("audit store: records left unwritten at shutdown; they are in the audit sink", "records", left)
		}
	})
	ticker := time.NewTicker(retentionEvery)
	stopRetention := startRetention(st, cfg.retention, now, ticker.C, metrics, log)
	closers = append(closers, func() { stopRetention(); ticker.Stop() })
	svc, err := api.New(acfg)
	if err != nil {
		return fail(fmt.Errorf("serve: %w", err))
	}
	log.Info("service ready to start", "protocol", proto.Info.ID+" "+proto.Info.Version, "demo", cfg.demo())
	return svc, closeAll, nil
}

var _ screening.Source = (*demo.Source)(nil)
