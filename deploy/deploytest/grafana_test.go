package deploytest

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// panel is what the tests read of a Grafana panel.
type panel struct {
	ID          int                      `json:"id"`
	Type        string                   `json:"type"`
	Title       string                   `json:"title"`
	Description string                   `json:"description"`
	Datasource  *dsRef                   `json:"datasource"`
	GridPos     struct{ X, Y, W, H int } `json:"gridPos"`
	Targets     []struct {
		Datasource *dsRef `json:"datasource"`
		Expr       string `json:"expr"`
		RefID      string `json:"refId"`
	} `json:"targets"`
	Panels []panel `json:"panels"` // a collapsed row's
}

type dsRef struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type dashboard struct {
	UID           string  `json:"uid"`
	Title         string  `json:"title"`
	SchemaVersion int     `json:"schemaVersion"`
	Panels        []panel `json:"panels"`
	Templating    struct {
		List []struct {
			Name       string `json:"name"`
			Type       string `json:"type"`
			Query      any    `json:"query"`
			Datasource *dsRef `json:"datasource"`
		} `json:"list"`
	} `json:"templating"`
}

func readDashboard(t *testing.T) dashboard {
	t.Helper()
	var d dashboard
	if err := json.Unmarshal(readFile(t, filepath.Join(deployDir(t), "grafana", "dashboards", "trialscreen.json")), &d); err != nil {
		t.Fatalf("trialscreen.json: %v", err)
	}
	return d
}

// allPanels flattens rows.
func (d dashboard) allPanels() []panel {
	var out []panel
	for _, p := range d.Panels {
		out = append(out, p)
		out = append(out, p.Panels...)
	}
	return out
}

const dsVar = "${DS_PROMETHEUS}"

// grafanaVars stand in for the dashboard's variables so that its queries parse as
// PromQL.
var grafanaVars = strings.NewReplacer(
	"$__rate_interval", "5m", "$__range", "1h", "$__interval", "1m",
	`"$job"`, `".+"`,
)

func TestDashboardShape(t *testing.T) {
	d := readDashboard(t)
	if d.UID == "" || d.Title == "" {
		t.Error("the dashboard needs a uid and a title")
	}
	if d.SchemaVersion < 36 {
		t.Errorf("schemaVersion %d: older than the Grafana versions this targets", d.SchemaVersion)
	}
	var vars []string
	for _, v := range d.Templating.List {
		vars = append(vars, v.Name)
		if v.Name == "DS_PROMETHEUS" && (v.Type != "datasource" || v.Query != "prometheus") {
			t.Errorf("DS_PROMETHEUS is a %s variable over %v, want a datasource variable over prometheus", v.Type, v.Query)
		}
		if v.Datasource != nil && v.Datasource.UID != dsVar {
			t.Errorf("variable %s reads data source %q, want %s", v.Name, v.Datasource.UID, dsVar)
		}
	}
	if !slices.Contains(vars, "DS_PROMETHEUS") || !slices.Contains(vars, "job") {
		t.Errorf("variables %v, want DS_PROMETHEUS and job", vars)
	}
	ids := map[int]string{}
	for _, p := range d.allPanels() {
		if prev, dup := ids[p.ID]; dup {
			t.Errorf("panels %q and %q share id %d", prev, p.Title, p.ID)
		}
		ids[p.ID] = p.Title
		if p.GridPos.X < 0 || p.GridPos.W <= 0 || p.GridPos.X+p.GridPos.W > 24 || p.GridPos.H <= 0 {
			t.Errorf("panel %q: gridPos %+v is outside the 24 columns", p.Title, p.GridPos)
		}
		if p.Type == "row" {
			continue
		}
		if p.Description == "" {
			t.Errorf("panel %q has no description: say what it shows and what to do about it", p.Title)
		}
		if p.Datasource == nil || p.Datasource.UID != dsVar {
			t.Errorf("panel %q: data source is not %s", p.Title, dsVar)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			if tg.Datasource == nil || tg.Datasource.UID != dsVar {
				t.Errorf("panel %q query %s: data source is not %s", p.Title, tg.RefID, dsVar)
			}
			if strings.TrimSpace(tg.Expr) == "" {
				t.Errorf("panel %q query %s is empty", p.Title, tg.RefID)
			}
			if !strings.Contains(tg.Expr, `job=~"$job"`) {
				t.Errorf("panel %q query %s ignores the job variable", p.Title, tg.RefID)
			}
		}
	}
}

// TestDashboardCoversTheIssue: the dashboard shows what operators asked for, each by
// a query on the metric that measures it.
func TestDashboardCoversTheIssue(t *testing.T) {
	d := readDashboard(t)
	var exprs []string
	for _, p := range d.allPanels() {
		for _, tg := range p.Targets {
			exprs = append(exprs, tg.Expr)
		}
	}
	for what, pattern := range map[string]string{
		"request rate by route":                  `sum by \(route\) \(rate\(trialscreen_http_request_duration_seconds_count`,
		"errors by route":                        `sum by \(route\) \(rate\(trialscreen_http_request_duration_seconds_count\{[^}]*status_class="5xx"`,
		"latency p99 by route":                   `histogram_quantile\(0\.99, sum by \(route, le\) \(rate\(trialscreen_http_request_duration_seconds_bucket`,
		"latency p50 by route":                   `histogram_quantile\(0\.5, sum by \(route, le\) \(rate\(trialscreen_http_request_duration_seconds_bucket`,
		"service's own time p99":                 `histogram_quantile\(0\.99, sum by \(route, le\) \(rate\(trialscreen_service_own_duration_seconds_bucket`,
		"FHIR latency by resource type":          `histogram_quantile\(0\.99, sum by \(resource_type, le\) \(rate\(trialscreen_fhir_request_duration_seconds_bucket`,
		"FHIR errors by resource type":           `sum by \(resource_type, status_class\) \(rate\(trialscreen_fhir_request_duration_seconds_count\{[^}]*status_class=~"[^"]*5xx`,
		"verdict mix":                            `sum by \(verdict\) \(rate\(trialscreen_screenings_total`,
		"unknown rate by criterion":              `outcome="unknown"[^/]*/ sum by \(criterion\) \(increase\(trialscreen_criterion_outcomes_total`,
		"circuit breaker state":                  `trialscreen_fhir_circuit_breaker_state\{[^}]*state="open"`,
		"CDS latency SLO":                        `job:trialscreen_cds_slow_answers:ratio_rate`,
		"audit write failures":                   `trialscreen_audit_write_failures_total`,
		"audit records pending for the database": `trialscreen_audit_store_pending`,
		"store up":                               `trialscreen_store_up\{`,
		"store errors by operation":              `sum by \(op\) \(rate\(trialscreen_store_errors_total`,
		"store latency p99 by operation":         `histogram_quantile\(0\.99, sum by \(op, le\) \(rate\(trialscreen_store_duration_seconds_bucket`,
	} {
		re := regexp.MustCompile(pattern)
		if !slices.ContainsFunc(exprs, re.MatchString) {
			t.Errorf("no panel shows the %s (no query matches %s)", what, pattern)
		}
	}
}

// TestDashboardMetricsAreExported: every query reads metrics, labels and values the
// service exports (or the recording rules create).
func TestDashboardMetricsAreExported(t *testing.T) {
	d := readDashboard(t)
	ex := scrapeService(t)
	rec := recordedNames(t)
	n := 0
	for _, p := range d.allPanels() {
		for _, tg := range p.Targets {
			n++
			for _, problem := range metricProblems(fmt.Sprintf("panel %q query %s", p.Title, tg.RefID), grafanaVars.Replace(tg.Expr), ex, rec) {
				t.Error(problem)
			}
		}
	}
	for _, v := range d.Templating.List {
		if q, ok := v.Query.(map[string]any); ok {
			if m := regexp.MustCompile(`label_values\((\w+),`).FindStringSubmatch(fmt.Sprint(q["query"])); m != nil {
				if _, ok := ex.family(m[1]); !ok {
					t.Errorf("variable %s reads %s, which the service does not export", v.Name, m[1])
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("no queries found")
	}
}

func TestGrafanaProvisioning(t *testing.T) {
	dir := filepath.Join(deployDir(t), "grafana", "provisioning")
	ds, err := decodeAll(readFile(t, filepath.Join(dir, "datasources", "prometheus.yaml")))
	if err != nil || len(ds) != 1 {
		t.Fatalf("datasources/prometheus.yaml: %v", err)
	}
	src := get(ds[0], "datasources", "0")
	if str(src, "type") != "prometheus" || str(src, "url") != "http://prometheus:9090" {
		t.Errorf("the provisioned data source is %s at %s, want prometheus at http://prometheus:9090 (the compose service)", str(src, "type"), str(src, "url"))
	}
	dp, err := decodeAll(readFile(t, filepath.Join(dir, "dashboards", "trialscreen.yaml")))
	if err != nil || len(dp) != 1 {
		t.Fatalf("dashboards/trialscreen.yaml: %v", err)
	}
	if str(dp[0], "providers", "0", "type") != "file" || str(dp[0], "providers", "0", "options", "path") == "" {
		t.Error("the dashboard provider does not read files")
	}
}
