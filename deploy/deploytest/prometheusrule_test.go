package deploytest

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"
)

const prometheusRuleHeader = `# GENERATED from deploy/prometheus/rules/*.yaml for the Prometheus Operator: do not
# edit. After changing the rules, regenerate with
#   DEPLOYTEST_UPDATE=1 go test ./deploy/deploytest -run TestPrometheusRuleMirrorsRuleFiles
# (the test fails while the two differ). The operator's Prometheus must select it (by
# label, often release: <name>).
`

// wantPrometheusRule is the PrometheusRule holding every group of the rule files.
func wantPrometheusRule(t *testing.T) map[string]any {
	t.Helper()
	paths, _ := filepath.Glob(filepath.Join(deployDir(t), "prometheus", "rules", "*.yaml"))
	var groups []any
	for _, p := range paths {
		var f map[string]any
		if err := yaml.Unmarshal(readFile(t, p), &f); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		groups = append(groups, list(f, "groups")...)
	}
	return map[string]any{
		"apiVersion": "monitoring.coreos.com/v1",
		"kind":       "PrometheusRule",
		"metadata": map[string]any{
			"name":   "trialscreen",
			"labels": map[string]any{"app.kubernetes.io/name": "trialscreen"},
		},
		"spec": map[string]any{"groups": groups},
	}
}

// TestPrometheusRuleMirrorsRuleFiles: the Kubernetes form of the rules holds exactly
// the rules Prometheus-without-operator loads (and the tests check).
func TestPrometheusRuleMirrorsRuleFiles(t *testing.T) {
	path := filepath.Join(k8sDir(t), "prometheusrule.yaml")
	want := wantPrometheusRule(t)
	if update {
		var buf bytes.Buffer
		buf.WriteString(prometheusRuleHeader)
		enc := yaml.NewEncoder(&buf)
		enc.SetIndent(2)
		if err := enc.Encode(want); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	var got map[string]any
	if err := yaml.Unmarshal(readFile(t, path), &got); err != nil {
		t.Fatalf("prometheusrule.yaml: %v", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("prometheusrule.yaml differs from deploy/prometheus/rules (-rules +prometheusrule.yaml); regenerate it (see its header):\n%s", diff)
	}
}
