package api

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// OpsHandler serves the operators' port: GET /metrics (Config.MetricsHandler) and the
// probes /healthz and /readyz, nothing else. It is meant for its own listener, which
// the network lets only the monitoring system (and the kubelet) reach: the
// per-criterion counters move with each screening, so two scrapes around one call show
// that patient's outcomes to anyone who can scrape. The probes are here so that they
// need not share the API port's body limit, timeouts and load.
func (s *Server) OpsHandler() http.Handler { return s.ops }

// opsRoutes wires the operators' port. Its requests are timed and counted like the
// API's, under their own routes, which dashboards and recording rules leave out.
func (s *Server) opsRoutes() {
	e := s.ops
	s.base(e)
	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	if s.cfg.MetricsHandler != nil {
		e.GET("/metrics", echo.WrapHandler(s.cfg.MetricsHandler))
	}
}
