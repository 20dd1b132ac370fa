package deploytest

import (
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func composeDir(t *testing.T) string { return filepath.Join(deployDir(t), "compose") }

// volumeSources maps a compose service's mount targets to their host paths, resolved
// against deploy/compose. Named volumes (a source that is not a path: compose reads
// only ./, ../, / and ~ as host paths) are left out: see namedVolumes.
func volumeSources(t *testing.T, svc any) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, v := range list(svc, "volumes") {
		parts := strings.Split(v.(string), ":")
		if len(parts) < 2 {
			t.Errorf("volume %q is not host:container", v)
			continue
		}
		if isNamedVolume(parts[0]) {
			continue
		}
		out[parts[1]] = filepath.Join(composeDir(t), parts[0])
	}
	return out
}

func isNamedVolume(src string) bool { return src != "" && !strings.ContainsRune("./~", rune(src[0])) }

// namedVolumes maps a compose service's mount targets to the named volumes mounted there.
func namedVolumes(svc any) map[string]string {
	out := map[string]string{}
	for _, v := range list(svc, "volumes") {
		if parts := strings.Split(v.(string), ":"); len(parts) >= 2 && isNamedVolume(parts[0]) {
			out[parts[1]] = parts[0]
		}
	}
	return out
}

func TestComposeDemo(t *testing.T) {
	docs, err := decodeAll(readFile(t, filepath.Join(composeDir(t), "docker-compose.yml")))
	if err != nil || len(docs) != 1 {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	c := docs[0]
	services, _ := get(c, "services").(map[string]any)
	for _, s := range []string{"hapi", "postgres", "trialscreen", "prometheus", "grafana", "load-demo-patients"} {
		if services[s] == nil {
			t.Errorf("no %s service", s)
		}
	}
	if img := str(services, "hapi", "image"); !strings.Contains(img, "hapiproject/hapi") {
		t.Errorf("hapi image %q, want hapiproject/hapi", img)
	}

	// trialscreen: built from the repository's Dockerfile, reading HAPI, REST callers
	// authenticated by a tokens file that is mounted.
	ts := services["trialscreen"]
	if ctx := str(ts, "build", "context"); filepath.Clean(filepath.Join(composeDir(t), ctx)) != filepath.Clean(filepath.Join(deployDir(t), "..")) || str(ts, "build", "dockerfile") != "Dockerfile" {
		t.Errorf("trialscreen is not built from the repository's Dockerfile (context %q)", ctx)
	}
	if cmd := list(ts, "command"); len(cmd) == 0 || cmd[0] != "serve" {
		t.Errorf("trialscreen command %v, want serve", cmd)
	}
	known := serveEnvVars(t)
	for k := range get(ts, "environment").(map[string]any) {
		if !known[k] {
			t.Errorf("trialscreen environment: %s is not a variable trialscreen serve reads", k)
		}
	}
	if str(ts, "environment", "TRIALSCREEN_FHIR_URL") != "http://hapi:8080/fhir" {
		t.Errorf("TRIALSCREEN_FHIR_URL is %q, want HAPI's base http://hapi:8080/fhir", str(ts, "environment", "TRIALSCREEN_FHIR_URL"))
	}
	if str(ts, "environment", "TRIALSCREEN_API_TOKENS_FILE") != "/run/secrets/api-tokens" || str(c, "secrets", "api-tokens", "file") == "" {
		t.Error("the tokens file is not the api-tokens secret")
	}
	if str(ts, "depends_on", "load-demo-patients", "condition") != "service_completed_successfully" {
		t.Error("trialscreen does not wait for the demo patients to be loaded")
	}

	checkComposeDatabase(t, c, services["postgres"], ts)

	// The loader: loads demo/patients into HAPI.
	ld := services["load-demo-patients"]
	vols := volumeSources(t, ld)
	if vols["/demo"] != filepath.Join(deployDir(t), "..", "demo", "patients") {
		t.Errorf("the loader's /demo is %s, want demo/patients", vols["/demo"])
	}
	if cmd := strings.Join(anyStrings(list(ld, "command")), " "); !strings.Contains(cmd, "http://hapi:8080/fhir") || !strings.Contains(cmd, "load_demo_patients.py") {
		t.Errorf("the loader's command %q does not load into HAPI", cmd)
	}

	// Only the API port is published: the metrics port stays on the compose network.
	metricsPort := "9090"
	if v := str(ts, "environment", "TRIALSCREEN_METRICS_LISTEN"); v != "" {
		_, metricsPort, _ = strings.Cut(v, ":")
	}
	for _, p := range anyStrings(list(ts, "ports")) {
		if p == metricsPort || strings.HasSuffix(p, ":"+metricsPort) || strings.HasSuffix(p, ":"+metricsPort+"/tcp") {
			t.Errorf("trialscreen publishes its metrics port (%s) to the host", p)
		}
	}

	// Prometheus: scrapes trialscreen's metrics port at /metrics as job trialscreen,
	// loads the rules.
	pv := volumeSources(t, services["prometheus"])
	promConfig := pv["/etc/prometheus/prometheus.yml"]
	if promConfig == "" {
		t.Fatal("prometheus.yml is not mounted")
	}
	pc, err := decodeAll(readFile(t, promConfig))
	if err != nil || len(pc) != 1 {
		t.Fatalf("prometheus.yml: %v", err)
	}
	scrapesService := false
	for _, sc := range list(pc[0], "scrape_configs") {
		targets := anyStrings(list(sc, "static_configs", "0", "targets"))
		if slices.Contains(targets, "trialscreen:8080") {
			t.Error("prometheus.yml scrapes the API port trialscreen:8080, which has no /metrics")
		}
		if slices.Contains(targets, "trialscreen:"+metricsPort) {
			scrapesService = str(sc, "job_name") == "trialscreen" && (str(sc, "metrics_path") == "" || str(sc, "metrics_path") == "/metrics")
		}
	}
	if !scrapesService {
		t.Errorf("prometheus.yml does not scrape trialscreen:%s/metrics as job trialscreen (the alerts' job)", metricsPort)
	}
	rulesDir := pv["/etc/prometheus/rules"]
	if rulesDir != filepath.Join(deployDir(t), "prometheus", "rules") {
		t.Errorf("the rules mounted are %s, want deploy/prometheus/rules", rulesDir)
	}
	loads := false
	for _, rf := range anyStrings(list(pc[0], "rule_files")) {
		m, _ := filepath.Match(rf, "/etc/prometheus/rules/alerts.yaml")
		loads = loads || m
	}
	if !loads {
		t.Error("prometheus.yml's rule_files do not load /etc/prometheus/rules/*.yaml")
	}

	// Grafana: the provisioning and the dashboard.
	gv := volumeSources(t, services["grafana"])
	if gv["/etc/grafana/provisioning"] != filepath.Join(deployDir(t), "grafana", "provisioning") {
		t.Error("Grafana's provisioning is not deploy/grafana/provisioning")
	}
	dashPath := str(readProvider(t), "options", "path")
	if gv[dashPath] != filepath.Join(deployDir(t), "grafana", "dashboards") {
		t.Errorf("the provider's path %s is not where deploy/grafana/dashboards is mounted", dashPath)
	}

	// Every host path mounted exists.
	for name, svc := range services {
		for target, src := range volumeSources(t, svc) {
			if _, err := filepath.Glob(src); err != nil || !exists(src) {
				t.Errorf("%s mounts %s at %s: it does not exist", name, src, target)
			}
		}
	}
}

func readProvider(t *testing.T) any {
	dp, err := decodeAll(readFile(t, filepath.Join(deployDir(t), "grafana", "provisioning", "dashboards", "trialscreen.yaml")))
	if err != nil || len(dp) != 1 {
		t.Fatalf("dashboards/trialscreen.yaml: %v", err)
	}
	return get(dp[0], "providers", "0")
}

func anyStrings(l []any) []string {
	out := make([]string, 0, len(l))
	for _, v := range l {
		s, _ := v.(string)
		out = append(out, s)
	}
	return out
}

// checkComposeDatabase: the demo's trialscreen stores into the PostgreSQL service, with
// its user, password and database, once it accepts connections; its data is in a named
// volume (the container's filesystem would lose it with the container), and the host
// cannot reach it.
func checkComposeDatabase(t *testing.T, compose, pg, ts any) {
	t.Helper()
	img := str(pg, "image")
	if !strings.Contains(img, "postgres:15") && !strings.Contains(img, "postgres:16") && !strings.Contains(img, "postgres:17") {
		t.Errorf("postgres image %q, want postgres:15, 16 or 17", img)
	}
	vol := namedVolumes(pg)["/var/lib/postgresql/data"]
	if vol == "" {
		t.Error("postgres keeps its data in the container: mount a named volume at /var/lib/postgresql/data")
	} else if _, declared := get(compose, "volumes").(map[string]any)[vol]; !declared {
		t.Errorf("postgres mounts the volume %s, which the top-level volumes do not declare", vol)
	}
	if hc := strings.Join(anyStrings(list(pg, "healthcheck", "test")), " "); !strings.Contains(hc, "pg_isready") {
		t.Errorf("postgres healthcheck %q does not run pg_isready: depends_on service_healthy would wait for nothing", hc)
	}
	if len(list(pg, "ports")) > 0 {
		t.Error("postgres publishes a port to the host: the demo's password is in this file")
	}
	if str(ts, "depends_on", "postgres", "condition") != "service_healthy" {
		t.Error("trialscreen does not wait for postgres to be healthy")
	}
	raw := str(ts, "environment", "TRIALSCREEN_DATABASE_URL")
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Fatalf("TRIALSCREEN_DATABASE_URL is not a postgres:// URL (%v)", err)
	}
	pw, _ := u.User.Password()
	for what, pair := range map[string][2]string{
		"host":     {u.Host, "postgres:5432"},
		"user":     {u.User.Username(), str(pg, "environment", "POSTGRES_USER")},
		"password": {pw, str(pg, "environment", "POSTGRES_PASSWORD")},
		"database": {strings.TrimPrefix(u.Path, "/"), str(pg, "environment", "POSTGRES_DB")},
	} {
		if pair[0] == "" || pair[0] != pair[1] {
			t.Errorf("TRIALSCREEN_DATABASE_URL's %s is not the postgres service's", what)
		}
	}
}
