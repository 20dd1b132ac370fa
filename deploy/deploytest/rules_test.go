package deploytest

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/common/promslog"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
)

// runbookBase is where alerts send an operator: the runbooks in deploy/README.md.
const runbookBase = "https://github.com/trialscreen/trialscreen/blob/main/deploy/README.md#"

var severities = map[string]bool{"critical": true, "warning": true}

// ruleFiles parses every rule file with Prometheus's own parser (the one Prometheus
// and promtool check rules with) and fails on any error.
func ruleFiles(t *testing.T) map[string]*rulefmt.RuleGroups {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(deployDir(t), "prometheus", "rules", "*.yaml"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no rule files in deploy/prometheus/rules (%v)", err)
	}
	out := map[string]*rulefmt.RuleGroups{}
	for _, p := range paths {
		rgs, errs := rulefmt.ParseFile(p, false, model.UTF8Validation, parser.NewParser(parser.Options{}), promslog.NewNopLogger())
		for _, err := range errs {
			t.Errorf("%s: %v", filepath.Base(p), err)
		}
		if rgs != nil {
			out[filepath.Base(p)] = rgs
		}
	}
	return out
}

// allRules lists every rule of every file.
func allRules(t *testing.T) []rulefmt.Rule {
	var rs []rulefmt.Rule
	for _, rgs := range ruleFiles(t) {
		for _, g := range rgs.Groups {
			rs = append(rs, g.Rules...)
		}
	}
	return rs
}

func TestRuleFilesParse(t *testing.T) {
	files := ruleFiles(t)
	names := map[string]string{}
	for file, rgs := range files {
		for _, g := range rgs.Groups {
			if prev, dup := names[g.Name]; dup {
				t.Errorf("rule group %q is in both %s and %s", g.Name, prev, file)
			}
			names[g.Name] = file
			if len(g.Rules) == 0 {
				t.Errorf("%s: group %q has no rules", file, g.Name)
			}
		}
	}
}

// githubAnchor is the anchor GitHub gives a Markdown heading.
func githubAnchor(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(heading)) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || ('a' <= r && r <= 'z') || ('0' <= r && r <= '9'):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// readmeAnchors lists the anchors of deploy/README.md's headings.
func readmeAnchors(t *testing.T) map[string]bool {
	t.Helper()
	anchors := map[string]bool{}
	for _, line := range strings.Split(string(readFile(t, filepath.Join(deployDir(t), "README.md"))), "\n") {
		if m := regexp.MustCompile(`^#{1,6}\s+(.+)$`).FindStringSubmatch(line); m != nil {
			anchors[githubAnchor(m[1])] = true
		}
	}
	return anchors
}

// TestAlertsHaveRunbooks: every alert says how bad it is, what is wrong and where its
// runbook is, and that runbook is a section of deploy/README.md.
func TestAlertsHaveRunbooks(t *testing.T) {
	anchors := readmeAnchors(t)
	alerts := 0
	for _, r := range allRules(t) {
		if r.Alert == "" {
			continue
		}
		alerts++
		t.Run(r.Alert, func(t *testing.T) {
			if !severities[r.Labels["severity"]] {
				t.Errorf("severity label is %q, want critical or warning", r.Labels["severity"])
			}
			for _, a := range []string{"summary", "description", "runbook_url"} {
				if strings.TrimSpace(r.Annotations[a]) == "" {
					t.Errorf("no %s annotation", a)
				}
			}
			url := r.Annotations["runbook_url"]
			anchor, ok := strings.CutPrefix(url, runbookBase)
			switch {
			case !ok:
				t.Errorf("runbook_url %q is not under %s", url, runbookBase)
			case anchor != strings.ToLower(r.Alert):
				t.Errorf("runbook_url anchor %q is not the alert's own section %q", anchor, strings.ToLower(r.Alert))
			case !anchors[anchor]:
				t.Errorf("deploy/README.md has no section with anchor #%s (a heading %q)", anchor, r.Alert)
			}
		})
	}
	if alerts == 0 {
		t.Fatal("no alerting rules found")
	}
}

// TestAlertsAreTested: each alert has a promtool test where it fires and one where it
// stays silent, so that neither direction goes unchecked.
func TestAlertsAreTested(t *testing.T) {
	fires, silent := map[string]bool{}, map[string]bool{}
	paths, _ := filepath.Glob(filepath.Join(deployDir(t), "prometheus", "tests", "*.yaml"))
	for _, p := range paths {
		for _, g := range readPromtoolFile(t, p).Tests {
			for _, at := range g.AlertRuleTests {
				if len(at.ExpAlerts) > 0 {
					fires[at.Alertname] = true
				} else {
					silent[at.Alertname] = true
				}
			}
		}
	}
	for _, r := range allRules(t) {
		if r.Alert == "" {
			continue
		}
		if !fires[r.Alert] {
			t.Errorf("%s: no test in deploy/prometheus/tests shows it firing", r.Alert)
		}
		if !silent[r.Alert] {
			t.Errorf("%s: no test in deploy/prometheus/tests shows it silent", r.Alert)
		}
	}
}

// TestRecordedNamesExist: every level:metric:operation name an expression reads is
// recorded by some rule (a typo would make an alert silently empty).
func TestRecordedNamesExist(t *testing.T) {
	rules := allRules(t)
	recorded := map[string]bool{}
	for _, r := range rules {
		if r.Record != "" {
			if recorded[r.Record] {
				t.Errorf("%s is recorded twice", r.Record)
			}
			recorded[r.Record] = true
		}
	}
	for _, r := range rules {
		for _, name := range metricNames(t, r.Expr) {
			if strings.Contains(name, ":") && !recorded[name] {
				t.Errorf("rule %s%s reads %s, which no rule records", r.Record, r.Alert, name)
			}
		}
	}
}

// metricNames lists the metric names an expression selects.
func metricNames(t *testing.T, expr string) []string {
	t.Helper()
	sels, err := selectorsOf(expr)
	if err != nil {
		t.Error(err)
	}
	names := make([]string, 0, len(sels))
	for _, vs := range sels {
		names = append(names, vs.Name)
	}
	return names
}

// selectorsOf lists an expression's vector selectors (range selectors' included).
func selectorsOf(expr string) ([]*parser.VectorSelector, error) {
	e, err := parser.NewParser(parser.Options{}).ParseExpr(expr)
	if err != nil {
		return nil, fmt.Errorf("PromQL %q: %w", expr, err)
	}
	var out []*parser.VectorSelector
	var unnamed error
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			if vs.Name == "" {
				unnamed = fmt.Errorf("PromQL %q: a selector without a metric name", expr)
			}
			out = append(out, vs)
		}
		return nil
	})
	return out, unnamed
}
