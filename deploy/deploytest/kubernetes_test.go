package deploytest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// manifest is one Kubernetes object, read as plain data.
type manifest struct {
	file string
	obj  map[string]any
}

func (m manifest) kind() string { return str(m.obj, "kind") }
func (m manifest) name() string { return str(m.obj, "metadata", "name") }

// get walks maps by key and lists by index ("0").
func get(v any, path ...string) any {
	for _, p := range path {
		switch x := v.(type) {
		case map[string]any:
			v = x[p]
		case []any:
			i, err := strconv.Atoi(p)
			if err != nil || i < 0 || i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

func str(v any, path ...string) string {
	s, _ := get(v, path...).(string)
	return s
}

func list(v any, path ...string) []any {
	l, _ := get(v, path...).([]any)
	return l
}

func num(v any, path ...string) (int, bool) {
	n, ok := get(v, path...).(int)
	return n, ok
}

// decodeAll reads every YAML document of data.
func decodeAll(data []byte) ([]map[string]any, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []map[string]any
	for {
		var d map[string]any
		err := dec.Decode(&d)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, err
		}
		if d != nil {
			docs = append(docs, d)
		}
	}
}

func k8sDir(t *testing.T) string { return filepath.Join(deployDir(t), "kubernetes") }

// manifests reads every object of deploy/kubernetes but the kustomization.
func manifests(t *testing.T) []manifest {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(k8sDir(t), "*.yaml"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no manifests in deploy/kubernetes (%v)", err)
	}
	var out []manifest
	for _, p := range paths {
		if filepath.Base(p) == "kustomization.yaml" {
			continue
		}
		docs, err := decodeAll(readFile(t, p))
		if err != nil {
			t.Fatalf("%s: %v", filepath.Base(p), err)
		}
		if len(docs) == 0 {
			t.Errorf("%s holds no object", filepath.Base(p))
		}
		for _, d := range docs {
			m := manifest{file: filepath.Base(p), obj: d}
			if str(d, "apiVersion") == "" || m.kind() == "" || m.name() == "" {
				t.Errorf("%s: an object without apiVersion, kind or metadata.name", m.file)
			}
			out = append(out, m)
		}
	}
	return out
}

// one finds the single object of kind and name.
func one(t *testing.T, ms []manifest, kind, name string) manifest {
	t.Helper()
	var found []manifest
	for _, m := range ms {
		if m.kind() == kind && m.name() == name {
			found = append(found, m)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want one %s %q in deploy/kubernetes, found %d", kind, name, len(found))
	}
	return found[0]
}

func TestKustomizationListsEveryFile(t *testing.T) {
	docs, err := decodeAll(readFile(t, filepath.Join(k8sDir(t), "kustomization.yaml")))
	if err != nil || len(docs) != 1 {
		t.Fatalf("kustomization.yaml: %v (%d documents)", err, len(docs))
	}
	var listed []string
	for _, r := range list(docs[0], "resources") {
		listed = append(listed, r.(string))
	}
	paths, _ := filepath.Glob(filepath.Join(k8sDir(t), "*.yaml"))
	var files []string
	for _, p := range paths {
		if b := filepath.Base(p); b != "kustomization.yaml" {
			files = append(files, b)
		}
	}
	for _, f := range files {
		if !slices.Contains(listed, f) {
			t.Errorf("%s is not listed in kustomization.yaml's resources", f)
		}
	}
	for _, l := range listed {
		if !slices.Contains(files, l) {
			t.Errorf("kustomization.yaml lists %s, which does not exist", l)
		}
	}
	if n := len(listed); n != len(slices.Compact(slices.Sorted(slices.Values(listed)))) {
		t.Errorf("kustomization.yaml lists a file twice: %v", listed)
	}
	if str(docs[0], "namespace") == "" {
		t.Error("kustomization.yaml sets no namespace")
	}
}

// checkPodSecurity checks what every trialscreen pod must have: non-root, no
// privilege escalation, no capabilities, read-only root filesystem, the runtime's
// seccomp profile, and resources requested.
func checkPodSecurity(t *testing.T, what string, pod any) {
	t.Helper()
	if get(pod, "securityContext", "runAsNonRoot") != true {
		t.Errorf("%s: pod securityContext.runAsNonRoot is not true", what)
	}
	if uid, _ := num(pod, "securityContext", "runAsUser"); uid == 0 {
		t.Errorf("%s: pod securityContext.runAsUser is 0 or unset (the image's user is 65532)", what)
	}
	if str(pod, "securityContext", "seccompProfile", "type") != "RuntimeDefault" {
		t.Errorf("%s: pod seccompProfile is not RuntimeDefault", what)
	}
	if get(pod, "automountServiceAccountToken") != false {
		t.Errorf("%s: the service account token is mounted; trialscreen calls no Kubernetes API", what)
	}
	containers := list(pod, "containers")
	if len(containers) == 0 {
		t.Fatalf("%s: no containers", what)
	}
	for _, c := range containers {
		name := what + "/" + str(c, "name")
		sc := get(c, "securityContext")
		for field, want := range map[string]any{"readOnlyRootFilesystem": true, "allowPrivilegeEscalation": false, "runAsNonRoot": true} {
			if got := get(sc, field); got != want {
				t.Errorf("%s: securityContext.%s is %v, want %v", name, field, got, want)
			}
		}
		if get(sc, "privileged") == true {
			t.Errorf("%s: privileged", name)
		}
		if drop := list(sc, "capabilities", "drop"); !slices.Contains(drop, any("ALL")) {
			t.Errorf("%s: capabilities.drop is %v, want ALL", name, drop)
		}
		if add := list(sc, "capabilities", "add"); len(add) > 0 {
			t.Errorf("%s: adds capabilities %v", name, add)
		}
		if str(sc, "seccompProfile", "type") != "RuntimeDefault" {
			t.Errorf("%s: seccompProfile is not RuntimeDefault", name)
		}
		for _, r := range [][]string{{"requests", "cpu"}, {"requests", "memory"}, {"limits", "memory"}} {
			if str(c, append([]string{"resources"}, r...)...) == "" {
				t.Errorf("%s: resources.%s is not set", name, strings.Join(r, "."))
			}
		}
		if !strings.HasPrefix(str(c, "image"), "trialscreen") {
			t.Errorf("%s: image %q is not the trialscreen image kustomization.yaml sets", name, str(c, "image"))
		}
	}
}

// mounts maps a container's mount paths to their volumes' definitions.
func mounts(t *testing.T, pod, container any) map[string]any {
	t.Helper()
	vols := map[string]any{}
	for _, v := range list(pod, "volumes") {
		vols[str(v, "name")] = v
	}
	out := map[string]any{}
	for _, vm := range list(container, "volumeMounts") {
		v, ok := vols[str(vm, "name")]
		if !ok {
			t.Errorf("volumeMount %s names no volume", str(vm, "name"))
			continue
		}
		out[str(vm, "mountPath")] = map[string]any{"volume": v, "readOnly": get(vm, "readOnly") == true}
	}
	return out
}

// mountFor finds the mount a path lies under.
func mountFor(ms map[string]any, path string) (string, any) {
	for mp, m := range ms {
		if path == mp || strings.HasPrefix(path, strings.TrimSuffix(mp, "/")+"/") {
			return mp, m
		}
	}
	return "", nil
}

// serveEnvVars lists the TRIALSCREEN_* variables cmd/trialscreen reads: the names in
// its source, so that a renamed variable breaks this test, not a deployment; and
// GOMEMLIMIT.
func serveEnvVars(t *testing.T) map[string]bool {
	t.Helper()
	paths, _ := filepath.Glob(filepath.Join(deployDir(t), "..", "cmd", "trialscreen", "*.go"))
	vars := map[string]bool{}
	re := regexp.MustCompile(`"(TRIALSCREEN_[A-Z0-9_]+)"`)
	for _, p := range paths {
		if strings.HasSuffix(p, "_test.go") {
			continue
		}
		for _, m := range re.FindAllStringSubmatch(string(readFile(t, p)), -1) {
			vars[m[1]] = true
		}
	}
	if !vars["TRIALSCREEN_FHIR_URL"] || !vars["TRIALSCREEN_SHUTDOWN_TIMEOUT"] {
		t.Fatalf("could not read the variables of cmd/trialscreen (found %d)", len(vars))
	}
	vars["GOMEMLIMIT"] = true // the Go runtime's; serve sizes its limits from it
	return vars
}

func TestDeployment(t *testing.T) {
	ms := manifests(t)
	d := one(t, ms, "Deployment", "trialscreen")
	pod := get(d.obj, "spec", "template", "spec")
	checkPodSecurity(t, "Deployment", pod)
	c := get(pod, "containers", "0")
	if args := list(c, "args"); len(args) == 0 || args[0] != "serve" {
		t.Errorf("container args %v, want serve", args)
	}
	ports := map[string]int{}
	for _, p := range list(c, "ports") {
		n, _ := num(p, "containerPort")
		ports[str(p, "name")] = n
	}
	if ports["http"] != 8080 {
		t.Errorf("container port http is %d, want 8080 (the service's default listen address)", ports["http"])
	}
	if ports["metrics"] != 9090 {
		t.Errorf("container port metrics is %d, want 9090 (the default of TRIALSCREEN_METRICS_LISTEN)", ports["metrics"])
	}
	// The probes use the metrics port, which the API's load does not touch.
	for probe, want := range map[string]string{"livenessProbe": "/healthz", "readinessProbe": "/readyz", "startupProbe": "/healthz"} {
		if got := str(c, probe, "httpGet", "path"); got != want {
			t.Errorf("%s path is %q, want %q", probe, got, want)
		}
		if port := get(c, probe, "httpGet", "port"); port != "metrics" && port != 9090 {
			t.Errorf("%s port is %v, want metrics (9090)", probe, port)
		}
	}

	// Config: the ConfigMap's keys and the container's variables are ones serve reads;
	// files named by variables are mounted, secrets read-only.
	known := serveEnvVars(t)
	cm := one(t, ms, "ConfigMap", str(c, "envFrom", "0", "configMapRef", "name"))
	config := map[string]string{}
	for k, v := range get(cm.obj, "data").(map[string]any) {
		if !known[k] {
			t.Errorf("ConfigMap %s: %s is not a variable trialscreen serve reads", cm.name(), k)
		}
		config[k] = fmt.Sprint(v)
	}
	mnt := mounts(t, pod, c)
	for _, e := range list(c, "env") {
		name, value := str(e, "name"), str(e, "value")
		if !known[name] {
			t.Errorf("env %s is not a variable trialscreen serve reads", name)
		}
		config[name] = value
		if strings.HasSuffix(name, "_FILE") || name == "TRIALSCREEN_CDS_CONFIG" {
			mp, m := mountFor(mnt, value)
			if m == nil {
				t.Errorf("env %s=%s: no volume is mounted there", name, value)
				continue
			}
			if get(m, "readOnly") != true {
				t.Errorf("env %s: %s is mounted writable", name, mp)
			}
			vol := get(m, "volume")
			key := strings.TrimPrefix(value, strings.TrimSuffix(mp, "/")+"/")
			checkVolumeKey(t, ms, name, vol, key)
		}
	}
	for _, v := range []string{"TRIALSCREEN_FHIR_URL", "TRIALSCREEN_API_TOKENS_FILE", "TRIALSCREEN_SMART_KEY_FILE", "TRIALSCREEN_REPORT_LINK_KEY_FILE", "TRIALSCREEN_PUBLIC_URL"} {
		if config[v] == "" {
			t.Errorf("%s is not configured", v)
		}
	}
	// The addresses the service listens on are the container's named ports.
	for v, port := range map[string]string{"TRIALSCREEN_LISTEN": "http", "TRIALSCREEN_METRICS_LISTEN": "metrics"} {
		addr := config[v]
		if addr == "" {
			addr = map[string]string{"http": ":8080", "metrics": ":9090"}[port]
		}
		if _, p, err := net.SplitHostPort(addr); err != nil || p != strconv.Itoa(ports[port]) {
			t.Errorf("%s is %q, but the container port %s is %d", v, addr, port, ports[port])
		}
	}

	// Drain: the grace period covers the preStop sleep and the service's own drain.
	shutdown := 25 * time.Second
	if v := config["TRIALSCREEN_SHUTDOWN_TIMEOUT"]; v != "" {
		var err error
		if shutdown, err = time.ParseDuration(v); err != nil {
			t.Fatalf("TRIALSCREEN_SHUTDOWN_TIMEOUT %q: %v", v, err)
		}
	}
	// The service refuses to start with a drain shorter than a request (serveconfig.go).
	request := 20 * time.Second
	if v := config["TRIALSCREEN_REQUEST_TIMEOUT"]; v != "" {
		var err error
		if request, err = time.ParseDuration(v); err != nil {
			t.Fatalf("TRIALSCREEN_REQUEST_TIMEOUT %q: %v", v, err)
		}
	}
	if shutdown < request {
		t.Errorf("TRIALSCREEN_SHUTDOWN_TIMEOUT %s is shorter than TRIALSCREEN_REQUEST_TIMEOUT %s: the service refuses to start", shutdown, request)
	}
	sleep, ok := num(c, "lifecycle", "preStop", "sleep", "seconds")
	if !ok || sleep <= 0 {
		t.Error("no preStop sleep: endpoints would still route to a pod that stopped accepting")
	}
	grace, _ := num(pod, "terminationGracePeriodSeconds")
	if time.Duration(grace)*time.Second <= shutdown+time.Duration(sleep)*time.Second {
		t.Errorf("terminationGracePeriodSeconds %d is not longer than the preStop sleep (%ds) plus TRIALSCREEN_SHUTDOWN_TIMEOUT (%s)", grace, sleep, shutdown)
	}
	if _, m := mountFor(mnt, "/tmp/x"); m == nil || get(m, "readOnly") == true {
		t.Error("/tmp is not a writable volume (the root filesystem is read-only)")
	}
}

// checkVolumeKey checks that the Secret or ConfigMap behind a volume exists in the
// manifests and holds key.
func checkVolumeKey(t *testing.T, ms []manifest, envName string, vol any, key string) {
	t.Helper()
	kind, name := "Secret", str(vol, "secret", "secretName")
	if name == "" {
		kind, name = "ConfigMap", str(vol, "configMap", "name")
	}
	if name == "" {
		t.Errorf("env %s: its volume is neither a Secret nor a ConfigMap", envName)
		return
	}
	obj := one(t, ms, kind, name)
	data, _ := get(obj.obj, "stringData").(map[string]any)
	if kind == "ConfigMap" {
		data, _ = get(obj.obj, "data").(map[string]any)
	}
	if _, ok := data[key]; !ok {
		t.Errorf("env %s: %s %s has no key %q", envName, kind, name, key)
	}
}

// TestExampleSecretsAreUnusable: the example Secrets hold nothing the service would
// accept, so applying them unchanged fails closed instead of running on known secrets.
func TestExampleSecretsAreUnusable(t *testing.T) {
	ms := manifests(t)
	tokens := str(one(t, ms, "Secret", "trialscreen-api-tokens").obj, "stringData", "tokens")
	for _, line := range strings.Split(tokens, "\n") {
		if l := strings.TrimSpace(line); l != "" && !strings.HasPrefix(l, "#") {
			t.Errorf("the example tokens file holds a token line %q", l)
		}
	}
	if key := str(one(t, ms, "Secret", "trialscreen-report-link-key").obj, "stringData", "key"); len(strings.TrimSpace(key)) >= 32 {
		t.Error("the example report-link key is long enough to be accepted")
	}
	if pem := str(one(t, ms, "Secret", "trialscreen-smart-key").obj, "stringData", "private-key.pem"); strings.Contains(pem, "-----BEGIN") {
		t.Error("the example SMART key is a PEM block")
	}
	for _, m := range ms {
		if m.kind() == "Secret" && get(m.obj, "data") != nil {
			t.Errorf("Secret %s has base64 data: examples use readable stringData placeholders", m.name())
		}
	}
}

func TestServiceHPAAndPDBTargetTheDeployment(t *testing.T) {
	ms := manifests(t)
	d := one(t, ms, "Deployment", "trialscreen")
	podLabels := get(d.obj, "spec", "template", "metadata", "labels").(map[string]any)
	selects := func(what string, sel any) {
		t.Helper()
		m, _ := sel.(map[string]any)
		if len(m) == 0 {
			t.Errorf("%s: empty selector", what)
		}
		for k, v := range m {
			if podLabels[k] != v {
				t.Errorf("%s: selector %s=%v does not match the Deployment's pods", what, k, v)
			}
		}
	}
	svc := one(t, ms, "Service", "trialscreen")
	selects("Service", get(svc.obj, "spec", "selector"))
	svcPorts := map[any]string{} // target port -> the Service port's name
	for _, p := range list(svc.obj, "spec", "ports") {
		svcPorts[get(p, "targetPort")] = str(p, "name")
	}
	if svcPorts["http"] == "" {
		t.Errorf("the Service has no port to the container's http port (%v)", svcPorts)
	}
	if svcPorts["metrics"] == "" {
		t.Errorf("the Service has no port to the container's metrics port (%v): the ServiceMonitor scrapes it", svcPorts)
	}
	pdb := one(t, ms, "PodDisruptionBudget", "trialscreen")
	selects("PodDisruptionBudget", get(pdb.obj, "spec", "selector", "matchLabels"))
	hpa := one(t, ms, "HorizontalPodAutoscaler", "trialscreen")
	if str(hpa.obj, "apiVersion") != "autoscaling/v2" {
		t.Errorf("HPA apiVersion %s, want autoscaling/v2", str(hpa.obj, "apiVersion"))
	}
	if str(hpa.obj, "spec", "scaleTargetRef", "kind") != "Deployment" || str(hpa.obj, "spec", "scaleTargetRef", "name") != d.name() {
		t.Error("HPA does not scale the trialscreen Deployment")
	}
	if str(hpa.obj, "spec", "metrics", "0", "resource", "name") != "cpu" {
		t.Error("HPA does not scale on CPU")
	}
	if minR, _ := num(hpa.obj, "spec", "minReplicas"); minR < 2 {
		t.Errorf("HPA minReplicas %d: one replica leaves EHRs without answers during a rollout or drain", minR)
	}
	sm := one(t, ms, "ServiceMonitor", "trialscreen")
	if str(sm.obj, "apiVersion") != "monitoring.coreos.com/v1" {
		t.Errorf("ServiceMonitor apiVersion %s", str(sm.obj, "apiVersion"))
	}
	endpoints := list(sm.obj, "spec", "endpoints")
	if len(endpoints) != 1 || str(endpoints[0], "port") != svcPorts["metrics"] || str(endpoints[0], "path") != "/metrics" {
		t.Errorf("ServiceMonitor endpoints %v: want one, scraping the Service's port %q (to the metrics port) at /metrics; the API port has no /metrics", endpoints, svcPorts["metrics"])
	}
	svcLabels := get(svc.obj, "metadata", "labels").(map[string]any)
	for k, v := range get(sm.obj, "spec", "selector", "matchLabels").(map[string]any) {
		if svcLabels[k] != v {
			t.Errorf("ServiceMonitor selector %s=%v does not match the Service", k, v)
		}
	}
	// The alerts select job="trialscreen": the job the ServiceMonitor gives is the
	// Service's name.
	if svc.name() != "trialscreen" {
		t.Errorf("Service name %q: the alerts expect the job trialscreen", svc.name())
	}
}

// monitoringNamespace is the namespace networkpolicy.yaml lets scrape the metrics port.
const monitoringNamespace = "monitoring"

// TestNetworkPolicies: the server takes connections on 8080, and on 9090 (metrics and
// probes) from the monitoring namespace only, and connects only to DNS, the database's
// pods on 5432 and the FHIR server (replicas share state through the database, never
// by calling each other); the batch job has no network.
func TestNetworkPolicies(t *testing.T) {
	ms := manifests(t)
	server := one(t, ms, "NetworkPolicy", "trialscreen")
	if c := get(server.obj, "spec", "podSelector", "matchLabels", "app.kubernetes.io/component"); c != "server" {
		t.Errorf("server policy selects component %v", c)
	}
	types := list(server.obj, "spec", "policyTypes")
	if !slices.Contains(types, any("Ingress")) || !slices.Contains(types, any("Egress")) {
		t.Errorf("policyTypes %v, want Ingress and Egress", types)
	}
	metricsOpen := false
	for i, r := range list(server.obj, "spec", "ingress") {
		for _, p := range list(r, "ports") {
			switch n, _ := num(p, "port"); n {
			case 8080:
			case 9090:
				metricsOpen = true
				if !fromMonitoringOnly(r) {
					t.Errorf("ingress rule %d opens the metrics port 9090 to %v, want the %s namespace only: its counters show each screening's outcomes", i, get(r, "from"), monitoringNamespace)
				}
			default:
				t.Errorf("ingress to port %v, want only 8080 and 9090", get(p, "port"))
			}
		}
		if len(list(r, "ports")) == 0 {
			t.Error("an ingress rule without ports opens every port")
		}
	}
	if !metricsOpen {
		t.Errorf("no ingress rule opens the metrics port 9090 to the %s namespace: Prometheus could not scrape", monitoringNamespace)
	}
	egress := list(server.obj, "spec", "egress")
	var dns, db, fhir int
	for i, r := range egress {
		ports := list(r, "ports")
		to := list(r, "to")
		if len(ports) == 0 || len(to) == 0 {
			t.Errorf("egress rule %d has no ports or no destination: it opens everything", i)
			continue
		}
		isDNS := true
		for _, p := range ports {
			n, _ := num(p, "port")
			isDNS = isDNS && n == 53 && (str(p, "protocol") == "UDP" || str(p, "protocol") == "TCP")
		}
		isPeers := get(to[0], "namespaceSelector") == nil && get(to[0], "ipBlock") == nil &&
			str(to[0], "podSelector", "matchLabels", "app.kubernetes.io/name") == "trialscreen"
		isDB := str(to[0], "podSelector", "matchLabels", "cnpg.io/cluster") != ""
		switch {
		case isDB:
			db++
			checkDatabaseEgress(t, i, r)
		case isPeers:
			t.Errorf("egress rule %d: to the server's own pods; replicas share state through the database, not by calling each other", i)
		case isDNS:
			dns++
			for _, d := range to {
				if str(d, "podSelector", "matchLabels", "k8s-app") != "kube-dns" || str(d, "namespaceSelector", "matchLabels", "kubernetes.io/metadata.name") != "kube-system" {
					t.Errorf("egress rule %d: DNS to something other than kube-dns in kube-system", i)
				}
			}
		default:
			fhir++
			for _, p := range ports {
				if n, _ := num(p, "port"); n != 443 {
					t.Errorf("egress rule %d: port %v; the FHIR server is reached over HTTPS (443)", i, get(p, "port"))
				}
			}
			for _, d := range to {
				if cidr := str(d, "ipBlock", "cidr"); cidr == "0.0.0.0/0" || cidr == "::/0" {
					t.Errorf("egress rule %d: to %s is everywhere, not the FHIR server", i, cidr)
				}
				if get(d, "ipBlock") == nil && get(d, "namespaceSelector") == nil {
					t.Errorf("egress rule %d: a destination that is neither an ipBlock nor a namespace", i)
				}
			}
		}
	}
	if dns != 1 || db != 1 || fhir != 1 {
		t.Errorf("egress: %d DNS, %d database and %d FHIR rules, want one of each and nothing else", dns, db, fhir)
	}

	batch := one(t, ms, "NetworkPolicy", "trialscreen-batch")
	if c := get(batch.obj, "spec", "podSelector", "matchLabels", "app.kubernetes.io/component"); c != "batch" {
		t.Errorf("batch policy selects component %v", c)
	}
	if !slices.Contains(list(batch.obj, "spec", "policyTypes"), any("Egress")) || len(list(batch.obj, "spec", "egress")) > 0 || len(list(batch.obj, "spec", "ingress")) > 0 {
		t.Error("the batch policy must deny all ingress and egress")
	}
}

// fromMonitoringOnly says whether an ingress rule admits only pods of the monitoring
// namespace: every source selects that namespace by its name label, and none is an
// ipBlock or a pod selector of this namespace. A rule with no sources admits everyone.
func fromMonitoringOnly(rule any) bool {
	from := list(rule, "from")
	for _, f := range from {
		if get(f, "ipBlock") != nil || str(f, "namespaceSelector", "matchLabels", "kubernetes.io/metadata.name") != monitoringNamespace ||
			len(list(f, "namespaceSelector", "matchExpressions")) > 0 {
			return false
		}
	}
	return len(from) > 0
}

// TestFromMonitoringOnly: the check of the metrics rule refuses sources wider than the
// monitoring namespace (else passing it would prove nothing).
func TestFromMonitoringOnly(t *testing.T) {
	monitoring := map[string]any{"namespaceSelector": map[string]any{"matchLabels": map[string]any{"kubernetes.io/metadata.name": "monitoring"}}}
	prometheus := map[string]any{"namespaceSelector": monitoring["namespaceSelector"], "podSelector": map[string]any{"matchLabels": map[string]any{"app.kubernetes.io/name": "prometheus"}}}
	for _, tc := range []struct {
		name string
		from []any
		want bool
	}{
		{"the monitoring namespace", []any{monitoring}, true},
		{"Prometheus's pods in it", []any{prometheus}, true},
		{"no sources: everyone", nil, false},
		{"every namespace", []any{map[string]any{"namespaceSelector": map[string]any{}}}, false},
		{"another namespace", []any{map[string]any{"namespaceSelector": map[string]any{"matchLabels": map[string]any{"kubernetes.io/metadata.name": "default"}}}}, false},
		{"pods of this namespace", []any{map[string]any{"podSelector": map[string]any{}}}, false},
		{"and an address range", []any{monitoring, map[string]any{"ipBlock": map[string]any{"cidr": "10.0.0.0/8"}}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rule := map[string]any{"ports": []any{map[string]any{"port": 9090}}}
			if tc.from != nil {
				rule["from"] = tc.from
			}
			if got := fromMonitoringOnly(rule); got != tc.want {
				t.Errorf("fromMonitoringOnly = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestBatchJob(t *testing.T) {
	ms := manifests(t)
	j := one(t, ms, "Job", "trialscreen-batch")
	if str(j.obj, "apiVersion") != "batch/v1" {
		t.Errorf("apiVersion %s, want batch/v1", str(j.obj, "apiVersion"))
	}
	if str(j.obj, "spec", "completionMode") != "Indexed" {
		t.Errorf("completionMode %q, want Indexed", str(j.obj, "spec", "completionMode"))
	}
	completions, ok1 := num(j.obj, "spec", "completions")
	parallelism, ok2 := num(j.obj, "spec", "parallelism")
	if !ok1 || !ok2 || completions < 1 || parallelism < 1 {
		t.Fatalf("completions %d, parallelism %d: both must be set", completions, parallelism)
	}
	pod := get(j.obj, "spec", "template", "spec")
	checkPodSecurity(t, "Job", pod)
	if str(pod, "restartPolicy") != "Never" && str(pod, "restartPolicy") != "OnFailure" {
		t.Errorf("restartPolicy %q", str(pod, "restartPolicy"))
	}
	c := get(pod, "containers", "0")
	flags := map[string]string{}
	var positional []string
	args := list(c, "args")
	if len(args) == 0 || args[0] != "batch" {
		t.Fatalf("args %v, want batch ...", args)
	}
	for _, a := range args[1:] {
		s := a.(string)
		if k, v, ok := strings.Cut(s, "="); ok && strings.HasPrefix(k, "--") {
			flags[k] = v
		} else {
			positional = append(positional, s)
		}
	}
	if want := "auto/" + strconv.Itoa(completions); flags["--shard"] != want {
		t.Errorf("--shard %q, want %s: one shard per completion index", flags["--shard"], want)
	}
	if flags["--as-of"] == "" {
		t.Error("no --as-of: shards started at different times screen at different instants and cannot be merged")
	}
	if !strings.Contains(flags["--out"], "$(SHARD_INDEX)") && !strings.Contains(flags["--out"], "$(JOB_COMPLETION_INDEX)") {
		t.Errorf("--out %q: each shard needs its own output directory", flags["--out"])
	}
	mnt := mounts(t, pod, c)
	for _, dir := range []string{flags["--out"], flags["--tmp"]} {
		if dir == "" {
			t.Error("--out and --tmp must be set (the root filesystem is read-only)")
			continue
		}
		if _, m := mountFor(mnt, dir); m == nil || get(m, "readOnly") == true {
			t.Errorf("%s is not on a writable volume", dir)
		}
	}
	if _, m := mountFor(mnt, flags["--tmp"]); m != nil && get(m, "volume", "emptyDir") == nil {
		t.Errorf("--tmp %s is not scratch (emptyDir)", flags["--tmp"])
	}
	if len(positional) == 0 {
		t.Error("no input directory")
	}
	for _, in := range positional {
		if _, m := mountFor(mnt, in); m == nil {
			t.Errorf("input %s is not mounted", in)
		}
	}
	for _, e := range list(c, "env") {
		if str(e, "name") == "SHARD_INDEX" && !strings.Contains(str(e, "valueFrom", "fieldRef", "fieldPath"), "job-completion-index") {
			t.Error("SHARD_INDEX does not come from the completion index")
		}
	}
	for _, v := range list(pod, "volumes") {
		if claim := str(v, "persistentVolumeClaim", "claimName"); claim != "" {
			one(t, ms, "PersistentVolumeClaim", claim)
		}
	}
}

// update rewrites generated files (prometheusrule.yaml) instead of comparing them.
var update = os.Getenv("DEPLOYTEST_UPDATE") == "1"
