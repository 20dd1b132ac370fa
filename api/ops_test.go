package api

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// opsGet sends GET path to the operators' port.
func (e *restEnv) opsGet(path string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	e.s.OpsHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec
}

// TestMetricsOnlyOnTheOpsPort: the API port answers /metrics with a 404 problem, the
// operators' port serves the Prometheus text, and a screening on the API port moves
// per-criterion counters that only the operators' port shows.
func TestMetricsOnlyOnTheOpsPort(t *testing.T) {
	env := newFullEnv(t, nil)
	rec := env.do(t, http.MethodGet, "/metrics", nil)
	if rec.Code != http.StatusNotFound || rec.Header().Get("Content-Type") != "application/problem+json" {
		t.Fatalf("API port GET /metrics: %d %q %.300s; want a 404 problem", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
	}
	if strings.Contains(rec.Body.String(), "trialscreen_") {
		t.Fatalf("the API port's 404 shows metrics:\n%.500s", rec.Body)
	}

	const outcome = `trialscreen_criterion_outcomes_total{criterion="cns-malignancy",outcome="pass"} `
	before := env.opsGet("/metrics")
	if before.Code != http.StatusOK || !strings.HasPrefix(before.Header().Get("Content-Type"), "text/plain") {
		t.Fatalf("ops port GET /metrics: %d %q", before.Code, before.Header().Get("Content-Type"))
	}
	if strings.Contains(before.Body.String(), outcome) {
		t.Fatalf("an outcome is counted before any screening:\n%s", grep(before.Body.String(), "criterion_outcomes"))
	}
	screeningOf(t, env.do(t, http.MethodGet, "/v1/patients/demo-candidate/screening", nil))
	after := env.opsGet("/metrics").Body.String()
	for _, want := range []string{
		outcome + "1",
		`trialscreen_screenings_total{surface="rest",verdict="potentially-eligible"} 1`,
		// The scrape itself is counted under its route, which dashboards leave out.
		`trialscreen_http_request_duration_seconds_count{method="GET",route="/metrics",status_class="2xx"} 1`,
		`trialscreen_http_request_duration_seconds_count{method="GET",route="/v1/patients/:id/screening",status_class="2xx"} 1`,
	} {
		if !strings.Contains(after, want) {
			t.Errorf("the ops port's /metrics lacks %s:\n%s", want, grep(after, "trialscreen_"))
		}
	}
}

// TestOpsPortServesOnlyMetricsAndProbes: both ports answer the probes; the operators'
// port answers nothing of the API, and without a MetricsHandler no /metrics either.
func TestOpsPortServesOnlyMetricsAndProbes(t *testing.T) {
	env := newFullEnv(t, nil)
	for _, path := range []string{"/healthz", "/readyz"} {
		if rec := env.do(t, http.MethodGet, path, nil); rec.Code != http.StatusOK {
			t.Errorf("API port GET %s: %d", path, rec.Code)
		}
		if rec := env.opsGet(path); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"status":`) {
			t.Errorf("ops port GET %s: %d %s", path, rec.Code, rec.Body)
		}
	}
	for _, path := range []string{"/v1/patients/demo-candidate/screening", "/cds-services", "/openapi.json", "/v1/batches/x"} {
		if rec := env.opsGet(path); rec.Code != http.StatusNotFound || rec.Header().Get("Content-Type") != "application/problem+json" {
			t.Errorf("ops port GET %s: %d %q; want a 404 problem", path, rec.Code, rec.Header().Get("Content-Type"))
		}
	}
	bare := newRESTEnv(t, nil) // no MetricsHandler
	if rec := bare.opsGet("/metrics"); rec.Code != http.StatusNotFound {
		t.Errorf("ops port without a MetricsHandler: GET /metrics %d, want 404", rec.Code)
	}
}

// grep keeps the lines of text holding substr, for failure messages.
func grep(text, substr string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
