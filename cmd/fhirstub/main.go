// Command fhirstub serves patients' FHIR Bundles over HTTP as a tiny read/search FHIR
// server (internal/fhirstub), for container tests and demos that need a FHIR server
// without a registry or Node:
//
//	fhirstub -demo -listen :8080 -latency 2s
//	fhirstub -bundles /data/patients
//
// The FHIR base is any path ending before the resource type, e.g. http://host:8080/fhir.
// GET /healthz answers at once, whatever the latency. SIGTERM or SIGINT stops it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/trialscreen/trialscreen/internal/fhirstub"
)

func main() {
	// A container's PID 1 ignores SIGTERM unless it handles it: handle it, or every
	// docker stop waits for its SIGKILL.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr, nil); err != nil {
		fmt.Fprintln(os.Stderr, "fhirstub:", err)
		os.Exit(1)
	}
}

// run serves until ctx ends. listening, if set, is told the bound address.
func run(ctx context.Context, args []string, stderr io.Writer, listening func(net.Addr)) error {
	fs := flag.NewFlagSet("fhirstub", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", ":8080", "host:port to listen on")
	latency := fs.Duration("latency", 0, "wait this long before answering each FHIR request")
	useDemo := fs.Bool("demo", false, "serve the built-in demo patients")
	dir := fs.String("bundles", "", "serve every *.json patient Bundle in this directory")
	logRequests := fs.Bool("log-requests", false, "log each FHIR request as it starts (method and resource type only)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if *latency < 0 {
		return fmt.Errorf("-latency %s is negative", *latency)
	}
	if !*useDemo && *dir == "" {
		return errors.New("nothing to serve: give -demo, -bundles DIR, or both")
	}
	var bundles [][]byte
	if *useDemo {
		b, err := fhirstub.DemoBundles()
		if err != nil {
			return err
		}
		bundles = append(bundles, b...)
	}
	if *dir != "" {
		b, err := fhirstub.DirBundles(*dir)
		if err != nil {
			return err
		}
		bundles = append(bundles, b...)
	}
	stub, err := fhirstub.New(*latency, bundles...)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(stderr, nil))
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("-listen: %w", err)
	}
	var fhir http.Handler = stub
	if *logRequests {
		fhir = logged(stub, log)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	mux.Handle("/", fhir)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log.Info("listening", "addr", ln.Addr().String(), "patients", len(stub.PatientIDs()), "latency", latency.String())
	if listening != nil {
		listening(ln.Addr())
	}
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("stopped")
	return nil
}

// logged logs each request as it starts, so a test can tell that one is in flight. It
// logs the resource type only: paths and queries carry patient ids.
func logged(h http.Handler, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		log.Info("request", "method", r.Method, "type", resourceType(r.URL.Path))
		h.ServeHTTP(w, r)
	})
}

// resourceType is the type a FHIR path reads or searches: [base]/Type/id or [base]/Type.
func resourceType(path string) string {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	if len(parts) >= 2 && parts[len(parts)-2] == "Patient" {
		return "Patient"
	}
	t := parts[len(parts)-1]
	if t == "" || t[0] < 'A' || t[0] > 'Z' {
		return "other"
	}
	return t
}
