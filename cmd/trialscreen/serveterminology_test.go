package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/trialscreen/trialscreen/screening"
)

const txToken = "tx-s3cr3t"

// txClock is the tests' fixed "now".
var txClock = time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)

// startTxStub is a terminology server on 127.0.0.1 with base <url>/r4. It answers
// ValueSet/$expand in the shape of the FHIR R4 specification's example expansion
// (valueset-example-expansion.json: total, offset, contains) with each concept asked for
// and, under Multiple myeloma (SNOMED CT 109989006), Kappa light chain myeloma
// (414553000). When down, it answers 503. A request to any other path fails the test.
func startTxStub(t *testing.T, down *atomic.Bool) (base string, requests *atomic.Int32) {
	t.Helper()
	requests = &atomic.Int32{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		if r.Method != http.MethodPost || r.URL.Path != "/r4/ValueSet/$expand" {
			t.Errorf("terminology request %s %s; only POST /r4/ValueSet/$expand is expected", r.Method, r.URL.Path)
			http.NotFound(w, r)
			return
		}
		if r.Header.Get("Authorization") != "Bearer "+txToken {
			t.Errorf("Authorization %q", r.Header.Get("Authorization"))
		}
		if down != nil && down.Load() {
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
			return
		}
		var p struct {
			Parameter []struct {
				Name     string `json:"name"`
				Resource struct {
					Compose struct {
						Include []struct {
							Filter []struct{ Value string } `json:"filter"`
						} `json:"include"`
					} `json:"compose"`
				} `json:"resource"`
			} `json:"parameter"`
		}
		body, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(body, &p)
		var contains []map[string]any
		for _, prm := range p.Parameter {
			for _, inc := range prm.Resource.Compose.Include {
				for _, f := range inc.Filter {
					contains = append(contains, map[string]any{"system": "http://snomed.info/sct", "code": f.Value})
					if f.Value == "109989006" {
						contains = append(contains, map[string]any{"system": "http://snomed.info/sct", "code": "414553000", "display": "Kappa light chain myeloma"})
					}
				}
			}
		}
		out, _ := json.Marshal(map[string]any{"resourceType": "ValueSet", "status": "active", "expansion": map[string]any{
			"timestamp": "2026-12-06T08:00:00Z", "total": len(contains), "offset": 0, "contains": contains,
		}})
		w.Header().Set("Content-Type", "application/fhir+json")
		_, _ = w.Write(out)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/r4", requests
}

func txConfig(t *testing.T, base string) serveConfig {
	t.Helper()
	tok := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tok, []byte(txToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{envTerminologyURL: base, envTerminologyTokenFile: tok, envDataDir: filepath.Join(t.TempDir(), "data")}
	cfg, err := readServeConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func gauge(t *testing.T, reg *prometheus.Registry, name, label, value string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			if mf.GetName() != name {
				continue
			}
			for _, lp := range m.GetLabel() {
				if lp.GetName() == label && lp.GetValue() == value {
					if m.Gauge != nil {
						return m.Gauge.GetValue()
					}
					return m.Counter.GetValue()
				}
			}
		}
	}
	t.Fatalf("no series %s{%s=%q}", name, label, value)
	return 0
}

func TestServeConfigTerminology(t *testing.T) {
	env := map[string]string{}
	cfg, err := readServeConfig(func(k string) string { return env[k] })
	if err != nil || cfg.terminologyURL != "" || cfg.terminologyRefresh != 24*time.Hour || cfg.dataDir != "./trialscreen-data" {
		t.Errorf("defaults: %+v %v", cfg, err)
	}
	env = map[string]string{
		envTerminologyURL:     "https://user:pw@tx.example.org/r4",
		envTerminologyRefresh: "daily",
	}
	_, err = readServeConfig(func(k string) string { return env[k] })
	for _, want := range []string{
		"TRIALSCREEN_TERMINOLOGY_URL: the base URL must not hold credentials",
		`TRIALSCREEN_TERMINOLOGY_REFRESH: "daily" is not a positive duration`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not say %q: %v", want, err)
		}
	}
	if err != nil && strings.Contains(err.Error(), "pw") {
		t.Errorf("the error echoes the credentials: %v", err)
	}
	env = map[string]string{envTerminologyTokenFile: "/etc/tx/token"}
	if _, err = readServeConfig(func(k string) string { return env[k] }); err == nil || !strings.Contains(err.Error(), "TRIALSCREEN_TERMINOLOGY_TOKEN_FILE: is set without TRIALSCREEN_TERMINOLOGY_URL") {
		t.Errorf("a token file without a server: %v", err)
	}
}

// The shipped protocol compiled with the terminology server: every request goes to
// [base]/ValueSet/$expand with the token, the codesets are cached under
// TRIALSCREEN_DATA_DIR, the metrics on the registry say server, and a result's settings
// name the server and the time.
func TestServeProtocolWithTerminologyServer(t *testing.T) {
	base, requests := startTxStub(t, nil)
	cfg := txConfig(t, base)
	reg := prometheus.NewRegistry()
	logs := &lockedBuffer{}
	p, mgr, err := serveProtocol(context.Background(), cfg, nil, reg, slog.New(slog.NewJSONHandler(logs, nil)), func() time.Time { return txClock })
	if err != nil {
		t.Fatal(err)
	}
	defer mgr.Client.CloseIdleConnections()
	if requests.Load() == 0 {
		t.Fatal("the terminology server was not asked")
	}
	if v := gauge(t, reg, "trialscreen_terminology_expansion_source", "source", "server"); v != 1 {
		t.Errorf("source server = %v", v)
	}
	for _, r := range []string{"network", "timeout", "http-status", "operation-outcome", "malformed", "oversized", "redirect"} {
		if v := gauge(t, reg, "trialscreen_terminology_expand_failures_total", "reason", r); v != 0 {
			t.Errorf("failures{reason=%s} = %v", r, v)
		}
	}
	files, _ := filepath.Glob(filepath.Join(cfg.dataDir, "terminology", "*.json"))
	if len(files) < 10 {
		t.Errorf("%d cache files, want one per codeset with SNOMED CT codes", len(files))
	}
	data, err := os.ReadFile(filepath.Join(cfg.dataDir, "terminology", "myeloma.json"))
	if err != nil || !strings.Contains(string(data), `"414553000"`) || !strings.Contains(string(data), `"fetched_at": "2026-12-06T08:00:00Z"`) {
		t.Errorf("myeloma's cache file (%v):\n%.400s", err, data)
	}
	s := p.Evaluate(minimalRecord(), screening.Settings{AsOf: txClock})
	if want := "terminology server " + base + " at 2026-12-06T08:00:00Z"; s.Settings.Terminology.Expansion != want {
		t.Errorf("settings.terminology.expansion %q, want %q", s.Settings.Terminology.Expansion, want)
	}
	if strings.Contains(logs.String(), txToken) || strings.Contains(string(data), txToken) {
		t.Error("the token is in the log or the cache")
	}
}

// The server down: the cache of an earlier start is used and says so; the failure is
// counted on the registry and logged without the token. Without a cache, the shipped
// expansions only.
func TestServeProtocolTerminologyFallbacks(t *testing.T) {
	var down atomic.Bool
	base, _ := startTxStub(t, &down)
	cfg := txConfig(t, base)
	now := func() time.Time { return txClock }
	discard := slog.New(slog.NewTextHandler(io.Discard, nil))

	down.Store(true)
	reg := prometheus.NewRegistry()
	p, _, err := serveProtocol(context.Background(), cfg, nil, reg, discard, now)
	if err != nil {
		t.Fatal(err)
	}
	if got := settingsOf(t, p); got != "shipped (server failed: http-status: HTTP 503)" {
		t.Errorf("no cache: settings %q", got)
	}
	if v := gauge(t, reg, "trialscreen_terminology_expansion_source", "source", "shipped"); v != 1 {
		t.Errorf("source shipped = %v", v)
	}
	if v := gauge(t, reg, "trialscreen_terminology_expand_failures_total", "reason", "http-status"); v != 1 {
		t.Errorf("failures{http-status} = %v", v)
	}

	down.Store(false)
	if _, _, err := serveProtocol(context.Background(), cfg, nil, prometheus.NewRegistry(), discard, now); err != nil {
		t.Fatal(err)
	}

	down.Store(true)
	reg = prometheus.NewRegistry()
	logs := &lockedBuffer{}
	later := func() time.Time { return txClock.Add(48 * time.Hour) }
	p, _, err = serveProtocol(context.Background(), cfg, nil, reg, slog.New(slog.NewJSONHandler(logs, nil)), later)
	if err != nil {
		t.Fatal(err)
	}
	if want := "disk cache of " + base + " from 2026-12-06T08:00:00Z (server failed: http-status: HTTP 503)"; settingsOf(t, p) != want {
		t.Errorf("settings %q, want %q", settingsOf(t, p), want)
	}
	if v := gauge(t, reg, "trialscreen_terminology_expansion_source", "source", "cache"); v != 1 {
		t.Errorf("source cache = %v", v)
	}
	if !regexp.MustCompile(`"level":"WARN".*"reason":"http-status"`).MatchString(logs.String()) || strings.Contains(logs.String(), txToken) {
		t.Errorf("the log:\n%s", logs.String())
	}
}

// Without a terminology server: the shipped protocol, no manager, and the source metric
// says shipped.
func TestServeProtocolWithoutTerminologyServer(t *testing.T) {
	reg := prometheus.NewRegistry()
	p, mgr, err := serveProtocol(context.Background(), serveConfig{}, nil, reg, slog.New(slog.NewTextHandler(io.Discard, nil)), func() time.Time { return txClock })
	if err != nil || mgr != nil {
		t.Fatalf("%v %v", mgr, err)
	}
	if got := settingsOf(t, p); got != "shipped" {
		t.Errorf("settings %q", got)
	}
	if v := gauge(t, reg, "trialscreen_terminology_expansion_source", "source", "shipped"); v != 1 {
		t.Errorf("source shipped = %v", v)
	}
}

func TestServeProtocolEmptyTokenFile(t *testing.T) {
	cfg := serveConfig{terminologyURL: "https://tx.example.org/r4", terminologyTokenFile: filepath.Join(t.TempDir(), "token")}
	_ = os.WriteFile(cfg.terminologyTokenFile, []byte("\n"), 0o600)
	_, _, err := serveProtocol(context.Background(), cfg, nil, prometheus.NewRegistry(), slog.New(slog.NewTextHandler(io.Discard, nil)), func() time.Time { return txClock })
	if err == nil || !strings.Contains(err.Error(), "TRIALSCREEN_TERMINOLOGY_TOKEN_FILE names an empty file") {
		t.Errorf("err = %v", err)
	}
}

// The service built with a terminology server exports its metrics at /metrics on the
// operators' port (the registry main creates) and its refresh loop stops with the
// service.
func TestBuildServiceExportsTerminologyMetrics(t *testing.T) {
	base, _ := startTxStub(t, nil)
	cfg := txConfig(t, base)
	cfg.limits = nominalLimits(t, cfg)
	svc, closeAll, err := buildService(context.Background(), cfg, func(string) string { return "" }, func() time.Time { return txClock }, slog.New(slog.NewTextHandler(io.Discard, nil)), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer closeAll()
	rr := httptest.NewRecorder()
	svc.OpsHandler().ServeHTTP(rr, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	body := rr.Body.String()
	for _, want := range []string{
		`trialscreen_terminology_expansion_source{source="server"} 1`,
		`trialscreen_terminology_last_success_timestamp_seconds 1.796544e+09`,
		`trialscreen_terminology_expand_failures_total{reason="timeout"} 0`,
		`trialscreen_terminology_restart_pending 0`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

func settingsOf(t *testing.T, p *screening.Protocol) string {
	t.Helper()
	return p.Evaluate(minimalRecord(), screening.Settings{AsOf: txClock}).Settings.Terminology.Expansion
}

// minimalRecord is a patient with nothing recorded but a birth date: the settings are
// what these tests read of a result.
func minimalRecord() *screening.Record {
	birth := screening.When{Time: txClock.AddDate(-60, 0, 0), Precision: screening.PrecisionDay}
	return &screening.Record{Patient: &screening.Patient{Ref: "Patient/tx-1", ID: "tx-1", BirthDate: birth, Gender: "male"}}
}
