package deploytest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/common/model"
	"github.com/prometheus/common/promslog"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/promql/promqltest"
	"github.com/prometheus/prometheus/rules"
	"github.com/prometheus/prometheus/storage"
	"gopkg.in/yaml.v3"
)

// The files in deploy/prometheus/tests are promtool unit-test files ("promtool test
// rules deploy/prometheus/tests/*.yaml" runs them where promtool is installed). This
// file runs them in Go with Prometheus's own rule manager, PromQL engine and test
// storage, with promtool's semantics: series loaded at the test group's interval,
// every rule group evaluated at each evaluation_interval step in group_eval_order, the
// firing alerts at an eval_time compared (labels and expanded annotations) with the
// expected ones. Only the features the files use are read; others are refused.

type promtoolFile struct {
	RuleFiles          []string        `yaml:"rule_files"`
	EvaluationInterval model.Duration  `yaml:"evaluation_interval"`
	GroupEvalOrder     []string        `yaml:"group_eval_order"`
	Tests              []promtoolGroup `yaml:"tests"`
}

type promtoolGroup struct {
	Name           string            `yaml:"name"`
	Interval       model.Duration    `yaml:"interval"`
	InputSeries    []promtoolSeries  `yaml:"input_series"`
	AlertRuleTests []alertRuleTest   `yaml:"alert_rule_test"`
	ExprTests      []promqlExprTest  `yaml:"promql_expr_test"`
	ExternalLabels map[string]string `yaml:"external_labels"`
}

type promtoolSeries struct {
	Series string `yaml:"series"`
	Values string `yaml:"values"`
}

type alertRuleTest struct {
	EvalTime  model.Duration `yaml:"eval_time"`
	Alertname string         `yaml:"alertname"`
	ExpAlerts []struct {
		ExpLabels      map[string]string `yaml:"exp_labels"`
		ExpAnnotations map[string]string `yaml:"exp_annotations"`
	} `yaml:"exp_alerts"`
}

type promqlExprTest struct {
	Expr       string         `yaml:"expr"`
	EvalTime   model.Duration `yaml:"eval_time"`
	ExpSamples []struct {
		Labels string  `yaml:"labels"`
		Value  float64 `yaml:"value"`
	} `yaml:"exp_samples"`
}

func readPromtoolFile(t *testing.T, path string) promtoolFile {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var pf promtoolFile
	dec := yaml.NewDecoder(f)
	dec.KnownFields(true)
	if err := dec.Decode(&pf); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if pf.EvaluationInterval == 0 {
		pf.EvaluationInterval = model.Duration(time.Minute)
	}
	if len(pf.RuleFiles) == 0 || len(pf.Tests) == 0 {
		t.Fatalf("%s: needs rule_files and tests", path)
	}
	for i, rf := range pf.RuleFiles {
		pf.RuleFiles[i] = filepath.Join(filepath.Dir(path), rf) // as promtool resolves them
	}
	return pf
}

// TestPromtoolFiles runs every alert and expression test in deploy/prometheus/tests.
func TestPromtoolFiles(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(deployDir(t), "prometheus", "tests", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no test files in deploy/prometheus/tests (%v)", err)
	}
	for _, path := range files {
		pf := readPromtoolFile(t, path)
		for _, g := range pf.Tests {
			t.Run(filepath.Base(path)+"/"+g.Name, func(t *testing.T) {
				t.Parallel() // each group has a storage and rule manager of its own
				for _, err := range runPromtoolGroup(t, pf, g) {
					t.Error(err)
				}
			})
		}
	}
}

// runPromtoolGroup runs one test group and returns every mismatch.
func runPromtoolGroup(t *testing.T, pf promtoolFile, g promtoolGroup) []error {
	t.Helper()
	evalInterval := time.Duration(pf.EvaluationInterval)
	if g.Interval == 0 {
		g.Interval = pf.EvaluationInterval
	}
	var load strings.Builder
	fmt.Fprintf(&load, "load %s\n", g.Interval)
	for _, s := range g.InputSeries {
		fmt.Fprintf(&load, "  %s %s\n", s.Series, s.Values)
	}
	// Lazily, as promtool does: the rules' own samples are appended step by step, and
	// the storage refuses samples far behind the newest one.
	suite, err := promqltest.NewLazyLoader(load.String(), promqltest.LazyLoaderOpts{EnableAtModifier: true, EnableNegativeOffset: true})
	if err != nil {
		return []error{err}
	}
	defer suite.Close()
	suite.SubqueryInterval = evalInterval
	engine, st, ctx := suite.QueryEngine(), suite.Storage(), suite.Context()
	m := rules.NewManager(&rules.ManagerOptions{
		QueryFunc:    rules.EngineQueryFunc(engine, st),
		AppendableV2: st,
		Context:      ctx,
		NotifyFunc:   func(context.Context, string, ...*rules.Alert) {},
		Logger:       promslog.NewNopLogger(),
	})
	groupsByKey, errs := m.LoadGroups(evalInterval, labels.FromMap(g.ExternalLabels), "", nil, false, pf.RuleFiles...)
	if errs != nil {
		return errs
	}
	// promtool orders groups by group_eval_order and leaves the rest to chance: a test
	// whose result depended on that order would be flaky, so every group must be named.
	order := map[string]int{}
	for i, n := range pf.GroupEvalOrder {
		order[n] = i
	}
	groups := make([]*rules.Group, 0, len(groupsByKey))
	for _, gr := range groupsByKey {
		if _, ok := order[gr.Name()]; !ok {
			return []error{fmt.Errorf("group_eval_order does not name rule group %q", gr.Name())}
		}
		groups = append(groups, gr)
	}
	sort.Slice(groups, func(i, j int) bool { return order[groups[i].Name()] < order[groups[j].Name()] })

	byTime := map[time.Duration][]alertRuleTest{}
	var maxT time.Duration
	for _, at := range g.AlertRuleTests {
		if at.Alertname == "" {
			return []error{fmt.Errorf("an alert_rule_test at %s has no alertname", at.EvalTime)}
		}
		d := time.Duration(at.EvalTime)
		byTime[d] = append(byTime[d], at)
		maxT = max(maxT, d)
	}
	for _, et := range g.ExprTests {
		maxT = max(maxT, time.Duration(et.EvalTime))
	}
	times := make([]time.Duration, 0, len(byTime))
	for d := range byTime {
		times = append(times, d)
	}
	slices.Sort(times)

	var problems []error
	start := time.Unix(0, 0).UTC()
	next := 0
	for off := time.Duration(0); off <= maxT; off += evalInterval {
		ts := start.Add(off)
		var evalErrs []error
		suite.WithSamplesTill(ts, func(err error) {
			if err != nil {
				evalErrs = append(evalErrs, fmt.Errorf("loading series till %s: %w", off, err))
				return
			}
			for _, gr := range groups {
				gr.Eval(ctx, ts)
				for _, r := range gr.Rules() {
					if err := r.LastError(); err != nil {
						evalErrs = append(evalErrs, fmt.Errorf("rule %s at %s: %w", r.Name(), off, err))
					}
				}
			}
		})
		if len(evalErrs) > 0 {
			return append(problems, evalErrs...)
		}
		// An eval_time between two steps is checked against the earlier step.
		for next < len(times) && times[next] >= off && times[next] < off+evalInterval {
			for _, at := range byTime[times[next]] {
				if err := checkAlerts(groups, at); err != nil {
					problems = append(problems, err)
				}
			}
			next++
		}
	}
	for _, et := range g.ExprTests {
		if err := checkExpr(ctx, engine, st, start, et); err != nil {
			problems = append(problems, err)
		}
	}
	return problems
}

// alertString renders an alert's labels and annotations for comparison.
func alertString(ls, anns labels.Labels) string {
	return ls.String() + " " + anns.String()
}

func checkAlerts(groups []*rules.Group, at alertRuleTest) error {
	var got []string
	found := false
	for _, gr := range groups {
		for _, r := range gr.Rules() {
			ar, ok := r.(*rules.AlertingRule)
			if !ok || ar.Name() != at.Alertname {
				continue
			}
			found = true
			for _, a := range ar.ActiveAlerts() {
				if a.State == rules.StateFiring {
					got = append(got, alertString(a.Labels, a.Annotations))
				}
			}
		}
	}
	if !found {
		return fmt.Errorf("%s at %s: no such alerting rule", at.Alertname, at.EvalTime)
	}
	var want []string
	for _, e := range at.ExpAlerts {
		ls := map[string]string{labels.AlertName: at.Alertname}
		for k, v := range e.ExpLabels {
			ls[k] = v
		}
		want = append(want, alertString(labels.FromMap(ls), labels.FromMap(e.ExpAnnotations)))
	}
	slices.Sort(got)
	slices.Sort(want)
	if diff := cmp.Diff(want, got); diff != "" {
		return fmt.Errorf("%s at %s: firing alerts (-want +got):\n%s", at.Alertname, at.EvalTime, diff)
	}
	return nil
}

func checkExpr(ctx context.Context, engine *promql.Engine, st storage.Queryable, start time.Time, et promqlExprTest) error {
	q, err := engine.NewInstantQuery(ctx, st, nil, et.Expr, start.Add(time.Duration(et.EvalTime)))
	if err != nil {
		return fmt.Errorf("expr %q: %w", et.Expr, err)
	}
	defer q.Close()
	res := q.Exec(ctx)
	if res.Err != nil {
		return fmt.Errorf("expr %q at %s: %w", et.Expr, et.EvalTime, res.Err)
	}
	var got []string
	switch v := res.Value.(type) {
	case promql.Vector:
		for _, s := range v {
			got = append(got, fmt.Sprintf("%s %.6g", s.Metric, s.F))
		}
	case promql.Scalar:
		got = append(got, fmt.Sprintf("{} %.6g", v.V))
	default:
		return fmt.Errorf("expr %q: a %s, not an instant vector", et.Expr, res.Value.Type())
	}
	var want []string
	p := parser.NewParser(parser.Options{})
	for _, s := range et.ExpSamples {
		ls, err := p.ParseMetric(s.Labels)
		if err != nil {
			return fmt.Errorf("expr %q: exp_samples labels %q: %w", et.Expr, s.Labels, err)
		}
		want = append(want, fmt.Sprintf("%s %.6g", ls, s.Value))
	}
	slices.Sort(got)
	slices.Sort(want)
	if diff := cmp.Diff(want, got); diff != "" {
		return fmt.Errorf("expr %q at %s (-want +got):\n%s", et.Expr, et.EvalTime, diff)
	}
	return nil
}
