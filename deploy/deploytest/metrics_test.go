package deploytest

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/trialscreen/trialscreen/api"
	"github.com/trialscreen/trialscreen/demo"
	"github.com/trialscreen/trialscreen/fhirclient"
	"github.com/trialscreen/trialscreen/internal/fhirstub"
	"github.com/trialscreen/trialscreen/protocols"
	"github.com/trialscreen/trialscreen/screening"
	"github.com/trialscreen/trialscreen/store"
)

// exported is what the service's /metrics shows: each family with its type and label
// names, and the values each label takes.
type exported struct {
	families map[string]*dto.MetricFamily
	values   map[string]map[string]bool // label name -> values seen
}

const testToken = "deploytest-token-0123456789"

// scrapeService runs the service in-process as trialscreen serve wires it (registry
// with the Go and process collectors, the service's metrics, a FHIR server as record
// source, the default SQLite store in a temporary directory, so that the store's
// histogram has series), makes it serve a REST screening through a FHIR server whose first answer
// is a 503 (so that retries are counted too), CDS Hooks discovery and a refused CDS
// call, the probes on both ports, and returns what /metrics on the operators' port
// then shows.
func scrapeService(t *testing.T) exported {
	t.Helper()
	var bundles [][]byte
	for _, n := range demo.Names() {
		b, err := demo.Bundle(n)
		if err != nil {
			t.Fatal(err)
		}
		bundles = append(bundles, b)
	}
	stub, err := fhirstub.New(0, bundles...)
	if err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int64
	fhir := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		stub.ServeHTTP(w, r)
	}))
	t.Cleanup(fhir.Close)

	proto, err := protocols.LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics, err := api.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	fc, err := fhirclient.New(fhirclient.Config{BaseURL: fhir.URL + "/fhir", Observer: metrics.FHIRObserver("default"), BaseBackoff: time.Millisecond, MaxBackoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fc.CloseIdleConnections)
	src, err := fhirclient.NewRecordSource(fc, proto)
	if err != nil {
		t.Fatal(err)
	}
	auth, err := api.NewStaticTokens(map[string]string{"deploytest": testToken})
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(t.Context(), store.Config{DataDir: t.TempDir(), Now: demo.AsOf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	svc, err := api.New(api.Config{
		// The stub serves the demo patients: the service runs at their instant, so that
		// the test does not depend on the day it runs.
		Protocol: proto, Source: src, Now: demo.AsOf, Auth: auth,
		PublicURL:      "http://127.0.0.1",
		Logger:         slog.New(slog.DiscardHandler),
		Audit:          api.NewAuditLog(io.Discard, "deploytest"),
		Metrics:        metrics,
		MetricsHandler: promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}),
		Screenings:     st,
		JTIs:           st,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(svc.Handler())
	t.Cleanup(srv.Close)
	ops := httptest.NewServer(svc.OpsHandler())
	t.Cleanup(ops.Close)

	do := func(method, url string, wantStatus int) {
		t.Helper()
		req, _ := http.NewRequest(method, url, strings.NewReader("{}"))
		req.Header.Set("Authorization", "Bearer "+testToken)
		req.Header.Set("Accept", "application/json")
		req.Header.Set("Content-Type", "application/json")
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != wantStatus {
			t.Fatalf("%s %s: status %d, want %d: %s", method, url, resp.StatusCode, wantStatus, body)
		}
	}
	do("GET", srv.URL+"/v1/patients/demo-candidate/screening", 200)
	do("GET", srv.URL+"/cds-services", 200)
	do("POST", srv.URL+"/cds-services/trialscreen-patient-view", 401) // no EHR is configured
	do("GET", srv.URL+"/healthz", 200)
	do("GET", srv.URL+"/readyz", 200)
	do("GET", srv.URL+"/metrics", 404) // metrics are on the operators' port only
	do("GET", ops.URL+"/healthz", 200)
	do("GET", ops.URL+"/readyz", 200)
	do("GET", ops.URL+"/metrics", 200) // so that the scrape route is in the next scrape

	resp, err := ops.Client().Get(ops.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("/metrics: %v", err)
	}
	ex := exported{families: fams, values: map[string]map[string]bool{}}
	for _, f := range fams {
		for _, m := range f.GetMetric() {
			for _, lp := range m.GetLabel() {
				if ex.values[lp.GetName()] == nil {
					ex.values[lp.GetName()] = map[string]bool{}
				}
				ex.values[lp.GetName()][lp.GetValue()] = true
			}
		}
	}
	return ex
}

// family finds the exported family a selected name belongs to: the name itself, or a
// histogram's _bucket, _sum or _count series.
func (ex exported) family(name string) (*dto.MetricFamily, bool) {
	if f, ok := ex.families[name]; ok {
		return f, true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok {
			if f, ok := ex.families[base]; ok && (f.GetType() == dto.MetricType_HISTOGRAM || (suffix != "_bucket" && f.GetType() == dto.MetricType_SUMMARY)) {
				return f, true
			}
		}
	}
	return nil, false
}

// labelNames of a family, plus those Prometheus adds at scrape time.
func (ex exported) labelNames(f *dto.MetricFamily, selected string) map[string]bool {
	names := map[string]bool{"job": true, "instance": true}
	if strings.HasSuffix(selected, "_bucket") {
		names["le"] = true
	}
	for _, m := range f.GetMetric() {
		for _, lp := range m.GetLabel() {
			names[lp.GetName()] = true
		}
	}
	return names
}

// closedSets are the label values the code can produce, where the scrape shows only
// some (one screening has one verdict).
var closedSets = map[string][]string{
	"outcome":      {string(screening.Pass), string(screening.Fail), string(screening.Unknown), string(screening.Review)},
	"verdict":      {string(screening.Ineligible), string(screening.InsufficientData), string(screening.PotentiallyEligible)},
	"status_class": {"1xx", "2xx", "3xx", "4xx", "5xx", "error", "open"},
	"state":        {"closed", fhirclient.BreakerOpen, "half-open"},
	"surface":      {"rest", "cds-hooks"},
	"op":           {"save", "get", "list", "jti", "batch"}, // api/storemetrics.go
}

var literalAlternatives = regexp.MustCompile(`^[A-Za-z0-9_/:.\-]+(\|[A-Za-z0-9_/:.\-]+)*$`)

// metricProblems checks that every selector of expr reads a metric the service
// exports (or a recorded one, or Prometheus's up), with labels it has and, where the
// matcher names values, values it can take. It returns what is wrong.
func metricProblems(where, expr string, ex exported, recorded map[string]bool) []string {
	sels, err := selectorsOf(expr)
	if err != nil {
		return []string{where + ": " + err.Error()}
	}
	var problems []string
	for _, vs := range sels {
		if recorded[vs.Name] || vs.Name == "up" {
			continue
		}
		f, ok := ex.family(vs.Name)
		if !ok {
			problems = append(problems, fmt.Sprintf("%s: %s is not a metric the service exports", where, vs.Name))
			continue
		}
		have := ex.labelNames(f, vs.Name)
		for _, m := range vs.LabelMatchers {
			if m.Name == labels.MetricName {
				continue
			}
			if !have[m.Name] {
				problems = append(problems, fmt.Sprintf("%s: %s has no label %q", where, vs.Name, m.Name))
				continue
			}
			problems = append(problems, matcherValueProblems(where, vs.Name, m, ex)...)
		}
	}
	return problems
}

func matcherValueProblems(where, metric string, m *labels.Matcher, ex exported) []string {
	if m.Name == "job" || m.Name == "instance" || m.Name == "le" {
		return nil
	}
	var values []string
	switch m.Type {
	case labels.MatchEqual, labels.MatchNotEqual:
		values = []string{m.Value}
	default:
		if !literalAlternatives.MatchString(m.Value) {
			return nil // a real pattern (or a dashboard variable): not a list of values
		}
		values = strings.Split(m.Value, "|")
	}
	var problems []string
	for _, v := range values {
		known := ex.values[m.Name][v]
		for _, c := range closedSets[m.Name] {
			known = known || c == v
		}
		if !known {
			problems = append(problems, fmt.Sprintf("%s: %s{%s} matches the value %q, which the service never gives that label", where, metric, m.Name, v))
		}
	}
	return problems
}

// recordedNames lists the names the recording rules create.
func recordedNames(t *testing.T) map[string]bool {
	rec := map[string]bool{}
	for _, r := range allRules(t) {
		if r.Record != "" {
			rec[r.Record] = true
		}
	}
	return rec
}

// TestRuleMetricsAreExported: the rules read only metrics and labels the service
// really exports.
func TestRuleMetricsAreExported(t *testing.T) {
	ex := scrapeService(t)
	rec := recordedNames(t)
	for _, r := range allRules(t) {
		for _, p := range metricProblems("rule "+r.Record+r.Alert, r.Expr, ex, rec) {
			t.Error(p)
		}
	}
}

// TestMetricCheckCatchesStrangers: the check fails on a name, a label and a value the
// service does not have (else passing it would prove nothing).
func TestMetricCheckCatchesStrangers(t *testing.T) {
	ex := scrapeService(t)
	for _, tc := range []struct{ name, expr, want string }{
		{"unknown metric", `rate(trialscreen_http_requests_total[5m])`, "trialscreen_http_requests_total is not a metric the service exports"},
		{"unknown label", `rate(trialscreen_screenings_total{outcome="unknown"}[5m])`, `trialscreen_screenings_total has no label "outcome"`},
		{"unknown route", `rate(trialscreen_http_request_duration_seconds_count{route="/v1/patients/{id}/screening"}[5m])`, `matches the value "/v1/patients/{id}/screening"`},
		{"unknown outcome", `rate(trialscreen_criterion_outcomes_total{outcome="missing"}[5m])`, `matches the value "missing"`},
		{"bucket of a counter", `rate(trialscreen_screenings_total_bucket[5m])`, "trialscreen_screenings_total_bucket is not a metric"},
		{"unrecorded rule name", `job:trialscreen_nothing:rate5m`, "job:trialscreen_nothing:rate5m is not a metric"},
		{"unknown alternative", `rate(trialscreen_http_request_duration_seconds_count{route!~"/healthz|/livez"}[5m])`, `matches the value "/livez"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := strings.Join(metricProblems("test", tc.expr, ex, recordedNames(t)), "\n")
			if !strings.Contains(got, tc.want) {
				t.Errorf("problems of %s:\n%s\nwant one saying %q", tc.expr, got, tc.want)
			}
		})
	}
	if p := metricProblems("test", `sum by (route) (rate(trialscreen_http_request_duration_seconds_bucket{route="/v1/patients/:id/screening",le="0.5"}[5m]))`, ex, nil); len(p) > 0 {
		t.Errorf("a valid selector was refused: %v", p)
	}
}
