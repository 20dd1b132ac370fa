package api

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
)

// timing accumulates how long a request waited on record sources, so that the service's
// own time (total minus upstream wait) can be told apart from a slow FHIR server.
type timing struct{ upstream atomic.Int64 } // nanoseconds

type timingKey struct{}

// addUpstream records d of waiting on a record source for the request of ctx.
func addUpstream(ctx context.Context, d time.Duration) {
	if t, ok := ctx.Value(timingKey{}).(*timing); ok {
		t.upstream.Add(int64(d))
	}
}

// observe is the outermost middleware after Recover: it times every request and
// records its latency by route template (never the raw path) and the service's own
// time. An unmatched path is the route "unmatched".
func (s *Server) observe(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		t := &timing{}
		c.SetRequest(c.Request().WithContext(context.WithValue(c.Request().Context(), timingKey{}, t)))
		// Server-Timing tells callers (and the load test) how the time split between
		// this service and the FHIR server, without a metrics scrape.
		c.Response().Before(func() {
			up := time.Duration(t.upstream.Load())
			own := max(time.Since(start)-up, 0)
			c.Response().Header().Set("Server-Timing", fmt.Sprintf("app;dur=%.3f, fhir;dur=%.3f", ms(own), ms(up)))
		})
		err := next(c)
		if err != nil {
			// Write the error now, so the status is the one the caller gets.
			c.Error(err)
		}
		total := time.Since(start)
		route := c.Path()
		if route == "" || c.Response().Status == http.StatusNotFound && route == "/*" {
			route = "unmatched"
		}
		status := c.Response().Status
		s.cfg.Metrics.requestDuration.WithLabelValues(route, methodLabel(c.Request().Method), strconv.Itoa(status/100)+"xx").Observe(total.Seconds())
		own := max(total-time.Duration(t.upstream.Load()), 0)
		s.cfg.Metrics.ownDuration.WithLabelValues(route).Observe(own.Seconds())
		return nil
	}
}

// methodLabel keeps the method label a closed set: a client can send any method name.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodPost, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete, http.MethodPatch:
		return m
	}
	return "other"
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
