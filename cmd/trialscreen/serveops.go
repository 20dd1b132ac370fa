package main

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"
)

// The operators' port (TRIALSCREEN_METRICS_LISTEN) serves /metrics and the probes on a
// listener of its own. The per-criterion counters move with each screening, so two
// scrapes around one call show that patient's outcomes: a NetworkPolicy opens ports,
// not paths, so the metrics get a port that only the monitoring system may reach.

// checkMetricsListen says what is wrong with the operators' address given the API's
// port, or "" if nothing: it must be host:port with a port number, and not the API's
// port (0, any free port, is allowed for both).
func checkMetricsListen(addr, apiPort string) string {
	_, port, err := net.SplitHostPort(addr)
	n, perr := strconv.ParseUint(port, 10, 16)
	if err != nil || perr != nil {
		return fmt.Sprintf("%q is not host:port with a port number (e.g. :9090)", addr)
	}
	if api, err := strconv.ParseUint(apiPort, 10, 16); err == nil && n != 0 && n == api {
		return fmt.Sprintf("%q uses the port of %s (%s): metrics need a port of their own, which only the monitoring system may reach", addr, envListen, apiPort)
	}
	return ""
}

// newOpsServer serves the operators' handler. Probes and scrapes are small GETs, so
// the timeouts are short: a slow or stuck client holds a connection for seconds, not
// minutes.
func newOpsServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		// A scrape, or /readyz with its 2 s check of the FHIR server; Prometheus gives
		// up on a scrape after its own timeout (10 s in servicemonitor.yaml).
		WriteTimeout:   15 * time.Second,
		IdleTimeout:    2 * time.Minute, // Prometheus keeps its connection between scrapes
		MaxHeaderBytes: 16 << 10,
		ErrorLog:       slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}
