package api

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/trialscreen/trialscreen/demo"
	"github.com/trialscreen/trialscreen/fhirclient"
	"github.com/trialscreen/trialscreen/internal/fhirstub"
)

var serverTiming = regexp.MustCompile(`^app;dur=([0-9.]+), fhir;dur=([0-9.]+)$`)

func timings(t *testing.T, rec *httptest.ResponseRecorder) (app, fhir time.Duration) {
	t.Helper()
	m := serverTiming.FindStringSubmatch(rec.Header().Get("Server-Timing"))
	if m == nil {
		t.Fatalf("Server-Timing %q", rec.Header().Get("Server-Timing"))
	}
	ms := func(s string) time.Duration {
		f, _ := strconv.ParseFloat(s, 64)
		return time.Duration(f * float64(time.Millisecond))
	}
	return ms(m[1]), ms(m[2])
}

// The wait on the FHIR server is told apart from the service's own time: the fetch is
// upstream, and the demo source (no server) is all own time. Only relations are
// checked, none that a busy machine could break: however slow the service's own work,
// the wait holds the server's latency, and the two parts add up to no more than the
// request took (a wait counted as own time too would exceed it by the wait).
func TestServerTimingSplitsUpstreamWait(t *testing.T) {
	var bundles [][]byte
	for _, n := range demo.Names() {
		b, _ := demo.Bundle(n)
		bundles = append(bundles, b)
	}
	stub, err := fhirstub.New(60*time.Millisecond, bundles...)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(stub)
	defer srv.Close()
	fc, err := fhirclient.New(fhirclient.Config{BaseURL: srv.URL + "/fhir"})
	if err != nil {
		t.Fatal(err)
	}
	defer fc.CloseIdleConnections()

	fhirEnv := newRESTEnv(t, func(c *Config) {
		src, err := fhirclient.NewRecordSource(fc, c.Protocol)
		if err != nil {
			t.Fatal(err)
		}
		c.Source = src
	})
	start := time.Now()
	rec := fhirEnv.do(t, http.MethodGet, "/v1/patients/demo-candidate/screening", nil)
	took := time.Since(start)
	if rec.Code != 200 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	app, up := timings(t, rec)
	const rounding = 2 * time.Microsecond // each part is written in whole microseconds
	if up < 60*time.Millisecond || app <= 0 || app+up > took+rounding {
		t.Errorf("through a FHIR server with 60 ms latency: app %s + fhir %s, the request took %s; want fhir >= 60ms, app > 0, and app + fhir <= the request's time", app, up, took)
	}

	demoEnv := newRESTEnv(t, nil)
	rec = demoEnv.do(t, http.MethodGet, "/v1/patients/demo-candidate/screening", nil)
	if _, up := timings(t, rec); up != 0 {
		t.Errorf("the demo source waited %s on a FHIR server; want 0", up)
	}
	families, err := demoEnv.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	counted := false
	for _, f := range families {
		for _, m := range f.GetMetric() {
			if f.GetName() == "trialscreen_service_own_duration_seconds" && labelsMatch(m.GetLabel(), map[string]string{"route": "/v1/patients/:id/screening"}) {
				counted = m.GetHistogram().GetSampleCount() == 1
			}
		}
	}
	if !counted {
		t.Error("the own-time histogram did not count the screening under its route template")
	}
}
