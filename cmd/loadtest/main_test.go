package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// binary is trialscreen built once for the package's tests: they drive the real
// process, as the tool does.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "loadtest-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary, err = buildService(context.Background(), dir, io.Discard)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// A short, slow run of each mode against the real binary answers every request 200 and
// prints a result line that parses (no timing is asserted: the machine is shared). REST
// screenings read the stub; CDS calls with a full prefetch read nothing.
func TestShortRunAgainstTheBinary(t *testing.T) {
	for _, c := range []struct {
		mode        string
		fromTheStub bool
	}{{"rest", true}, {"cds", false}} {
		t.Run(c.mode, func(t *testing.T) {
			var out bytes.Buffer
			err := run(context.Background(), []string{"-binary", binary, "-mode", c.mode, "-rate", "10", "-duration", "1s", "-latency", "2ms"}, &out)
			cleanKept(t, out.String())
			if err != nil {
				t.Fatalf("%v\n%s", err, out.String())
			}
			r := parseResultLine(t, out.String(), "result")
			for _, k := range []string{"achieved", "p50_ms", "p90_ms", "p99_ms", "max_ms", "cpu_ms_per_request", "tool_cpu_s"} {
				if _, err := strconv.ParseFloat(r[k], 64); err != nil {
					t.Errorf("%s = %q: not a number", k, r[k])
				}
			}
			if r["mode"] != c.mode || r["requests"] != "10" || r["ok"] != "10" || r["errors"] != "0" || r["status_503"] != "0" || r["retry_after"] != "-" {
				t.Errorf("want 10 requests of mode %s, all 200:\n%s", c.mode, out.String())
			}
			if up, _ := strconv.ParseFloat(r["upstream_per_request"], 64); (up > 0) != c.fromTheStub {
				t.Errorf("upstream FHIR requests per request %v; want them only when the record comes from the stub", up)
			}
			if strings.Contains(out.String(), "kept for inspection") {
				t.Errorf("a clean run kept its working directory:\n%s", out.String())
			}
		})
	}
}

// -find prints one line per step and the best rate as a line that parses; which rate
// that is depends on the machine, so it is not asserted.
func TestFindPrintsEveryStepAndTheBest(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), []string{"-binary", binary, "-find", "-steps", "5,8", "-duration", "1s", "-latency", "2ms"}, &out)
	cleanKept(t, out.String())
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	r := parseResultLine(t, out.String(), "find")
	if best := r["best_rate"]; best != "0" && best != "5" && best != "8" {
		t.Errorf("best_rate %q is not one of the steps (or 0)", best)
	}
	if steps := stepLines(out.String()); len(steps) == 0 || len(steps) > 2 {
		t.Errorf("%d step lines, want 1 or 2:\n%s", len(steps), out.String())
	}
}

// With the stub slower than the objective, every REST screening (at least one round
// trip to it) misses the objective however fast the machine: -find stops at the first
// step, finds no rate, and, no request having failed, keeps nothing.
func TestFindStopsAtTheFirstStepThatMissesTheObjective(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), []string{"-binary", binary, "-find", "-steps", "2,4", "-duration", "1s", "-latency", "110ms"}, &out)
	cleanKept(t, out.String())
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if r := parseResultLine(t, out.String(), "find"); r["best_rate"] != "0" {
		t.Errorf("best_rate %q; want 0", r["best_rate"])
	}
	if steps := stepLines(out.String()); len(steps) != 1 || !strings.HasPrefix(strings.TrimSpace(steps[0]), "2 ") {
		t.Errorf("step lines %q; want only the first", steps)
	}
	if !strings.Contains(out.String(), "no step met p99 < 100ms with no errors") || strings.Contains(out.String(), "kept for inspection") {
		t.Errorf("want no rate found and nothing kept:\n%s", out.String())
	}
}

// stepLines are -find's table rows: they start with the rate.
func stepLines(out string) []string {
	return regexp.MustCompile(`(?m)^ +\d+ .*$`).FindAllString(out, -1)
}

// A service that cannot start (here: a setting it refuses) is an error naming its log,
// which is kept and says why.
func TestServiceThatFailsToStartNamesItsLog(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), []string{"-binary", binary, "-rate", "1", "-duration", "1s", "-env", "TRIALSCREEN_LOG_LEVEL=loud"}, &out)
	if err == nil {
		t.Fatalf("no error:\n%s", out.String())
	}
	m := regexp.MustCompile(`the service exited before it was ready \(exit status \d+\); its log: (\S+)$`).FindStringSubmatch(err.Error())
	if m == nil {
		t.Fatalf("error %q does not say the service exited and where its log is", err)
	}
	t.Cleanup(func() { os.RemoveAll(filepath.Dir(m[1])) })
	log, rerr := os.ReadFile(m[1])
	if rerr != nil || !strings.Contains(string(log), "TRIALSCREEN_LOG_LEVEL") {
		t.Errorf("the log %s (%v) does not name the bad setting:\n%s", m[1], rerr, log)
	}
	if !strings.Contains(out.String(), "kept for inspection: "+filepath.Dir(m[1])) {
		t.Errorf("the output does not say the working directory was kept:\n%s", out.String())
	}
}

func TestMissingBinary(t *testing.T) {
	var out bytes.Buffer
	missing := filepath.Join(t.TempDir(), "no-such-binary")
	err := run(context.Background(), []string{"-binary", missing, "-duration", "1s"}, &out)
	if err == nil || !strings.Contains(err.Error(), "starting "+missing+" serve") {
		t.Fatalf("error %v; want one naming the binary that could not start", err)
	}
	cleanKept(t, out.String())
}

func TestBadOptions(t *testing.T) {
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown mode", []string{"-mode", "grpc"}, `-mode must be rest or cds, not "grpc"`},
		{"zero rate", []string{"-rate", "0"}, "-rate and -duration must be positive"},
		{"bundle for rest", []string{"-bundle", "x.json"}, "-bundle is for -mode cds"},
		{"cds longer than a JWT may live", []string{"-mode", "cds", "-duration", "59m"}, "the service refuses JWTs valid for more than an hour"},
		{"steps out of order", []string{"-steps", "50,25"}, "the rates must be in ascending order"},
		{"a step that is not a rate", []string{"-steps", "25,x"}, `"x" is not a positive rate`},
		{"env without a value", []string{"-env", "TRIALSCREEN_MAX_SCREENINGS"}, `"TRIALSCREEN_MAX_SCREENINGS" is not KEY=VALUE`},
		{"env the tool must set", []string{"-env", "TRIALSCREEN_FHIR_URL=http://127.0.0.1:1/"}, "TRIALSCREEN_FHIR_URL is set by the tool"},
		{"env given twice", []string{"-env", "GOGC=50", "-env", "GOGC=100"}, "GOGC is given twice"},
		{"env with a bad name", []string{"-env", "1X=2"}, `"1X" is not an environment variable name`},
		{"an argument", []string{"extra"}, `unexpected argument "extra"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := parseOptions(c.args)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v; want one containing %q", err, c.want)
			}
		})
	}
}

// parseResultLine finds the line starting with prefix and reads its key=value pairs.
func parseResultLine(t *testing.T, out, prefix string) map[string]string {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		rest, ok := strings.CutPrefix(line, prefix+" ")
		if !ok {
			continue
		}
		kv := map[string]string{}
		for _, f := range strings.Fields(rest) {
			k, v, ok := strings.Cut(f, "=")
			if !ok {
				t.Fatalf("%q in %q is not key=value", f, line)
			}
			kv[k] = v
		}
		return kv
	}
	t.Fatalf("no %q line in:\n%s", prefix, out)
	return nil
}

// cleanKept removes a working directory the tool kept after a failure.
func cleanKept(t *testing.T, out string) {
	if m := regexp.MustCompile(`kept for inspection: (\S+)`).FindStringSubmatch(out); m != nil {
		t.Cleanup(func() { os.RemoveAll(m[1]) })
	}
}
