package api

import (
	"net/http"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
)

// MaxBodyBytes is a byte count: 1 MiB admits a body of 1,000,138 bytes (Echo's "1M"
// would not) and refuses one of 1 MiB + 1 with a 413 problem.
func TestBodyLimitIsExactBytes(t *testing.T) {
	env := newRESTEnv(t, func(c *Config) { c.MaxBodyBytes = 1 << 20 })
	body := func(n int) string {
		s := `{"patient_id": "demo-candidate"}`
		return s + strings.Repeat(" ", n-len(s))
	}
	if rec := env.postJSON(t, body(1000138)); rec.Code != http.StatusOK {
		t.Errorf("a body of 1,000,138 bytes: %d %.200s; want 200", rec.Code, rec.Body)
	}
	rec := env.postJSON(t, body(1<<20+1))
	if rec.Code != http.StatusRequestEntityTooLarge || rec.Header().Get("Content-Type") != "application/problem+json" {
		t.Errorf("a body of 1 MiB + 1: %d %s; want a 413 problem", rec.Code, rec.Header().Get("Content-Type"))
	}
}

// A handler that panics gives a 500 problem, and the request is still timed and counted.
func TestPanicIsCountedAsA500(t *testing.T) {
	env := newRESTEnv(t, nil)
	env.s.echo.GET("/test-panic", func(echo.Context) error { panic("boom") })
	rec := env.do(t, http.MethodGet, "/test-panic", nil)
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("status %d; want 500", rec.Code)
	}
	if !strings.Contains(env.log.String(), `"msg":"panic"`) {
		t.Errorf("the panic is not in the application log:\n%s", env.log)
	}
	families, err := env.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "trialscreen_http_request_duration_seconds" {
			continue
		}
		for _, m := range f.GetMetric() {
			if labelsMatch(m.GetLabel(), map[string]string{"route": "/test-panic", "method": "GET", "status_class": "5xx"}) && m.GetHistogram().GetSampleCount() == 1 {
				return
			}
		}
	}
	t.Error("the panicking request is not in trialscreen_http_request_duration_seconds as a 5xx")
}
