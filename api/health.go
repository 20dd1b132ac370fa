package api

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

// healthz says the process is up: nothing else, so a FHIR outage never restarts pods.
func (s *Server) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

// readyProbeTimeout bounds the readiness check of the record source.
const readyProbeTimeout = 2 * time.Second

// readyz says the service can screen: the protocol is loaded (New required it) and the
// record source answers, or the service runs on its demo data. It also shows whether the
// store answers, without making readiness depend on it.
func (s *Server) readyz(c echo.Context) error {
	body := map[string]string{"status": "ready", "protocol": s.cfg.Protocol.Info.ID + " " + s.cfg.Protocol.Info.Version}
	if s.cfg.Demo {
		body["source"] = "demo"
	} else {
		body["source"] = "fhir"
	}
	ctx, cancel := context.WithTimeout(c.Request().Context(), readyProbeTimeout)
	defer cancel()
	if s.cfg.StoreReady != nil {
		body["store"] = "ok"
		if s.cfg.StoreReady(ctx) != nil {
			body["store"] = "unavailable: screenings are answered but not stored"
		}
	}
	if s.cfg.Ready != nil {
		if err := s.cfg.Ready(ctx); err != nil {
			body["status"] = "not ready"
			body["problem"] = err.Error()
			return c.JSON(http.StatusServiceUnavailable, body)
		}
	}
	return c.JSON(http.StatusOK, body)
}
