package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/trialscreen/trialscreen/demo"
	"github.com/trialscreen/trialscreen/screening"
)

const demoDir = "../../demo/patients"

var asOfFlag = []string{"--as-of", "2026-11-20T12:00:00Z"}

func runCLIEnv(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, func(k string) string { return env[k] }, testClock, &out, &errOut)
	return code, out.String(), errOut.String()
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestBatchErrorsACallerGets: every usage mistake is exit 2 with a message saying what
// to fix; a failure of the run itself is exit 1.
func TestBatchErrorsACallerGets(t *testing.T) {
	out := t.TempDir()
	cases := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"no --out", []string{"batch", demoDir}, exitUsage, "batch: --out DIR (or --out - for stdout) is required"},
		{"no input", []string{"batch", "--out", out}, exitUsage, "give NDJSON or Bundle files or directories, --ids FILE or --export TARGET"},
		{"both inputs", []string{"batch", "--out", out, "--ids", "ids.txt", demoDir}, exitUsage, "give one of input files, --ids or --export"},
		{"export and files", []string{"batch", "--out", out, "--export", "Group/g1", demoDir}, exitUsage, "give one of input files, --ids or --export"},
		{"export target", []string{"batch", "--out", out, "--export", "Practitioner/x"}, exitUsage, `--export must be Group/ID, Patient or system, not "Practitioner/x"`},
		{"export Group ..", []string{"batch", "--out", out, "--export", "Group/.."}, exitUsage, "--export Group/ID: the ID is not a FHIR id"}, // would be GET [base]/$export
		{"export Group .", []string{"batch", "--out", out, "--export", "Group/."}, exitUsage, "--export Group/ID: the ID is not a FHIR id"},
		{"export Group a/b", []string{"batch", "--out", out, "--export", "Group/a/b"}, exitUsage, "--export Group/ID: the ID is not a FHIR id"},
		{"export to stdout", []string{"batch", "--out", "-", "--export", "system"}, exitUsage, "--export with --out - needs --export-dir"},
		{"export without a server", []string{"batch", "--out", out, "--export", "system"}, exitUsage, "set TRIALSCREEN_FHIR_URL"},
		{"resume to stdout", []string{"batch", "--out", "-", "--resume", demoDir}, exitUsage, "--resume needs an output directory, not stdout"},
		{"bad shard", []string{"batch", "--out", out, "--shard", "3/3", demoDir}, exitUsage, `--shard "3/3": the index "3" must be a number from 0 to 2`},
		{"auto shard outside a job", []string{"batch", "--out", out, "--shard", "auto/3", demoDir}, exitUsage, "JOB_COMPLETION_INDEX is not set"},
		{"bad as-of", []string{"batch", "--out", out, "--as-of", "today", demoDir}, exitUsage, `batch: --as-of "today" is not an RFC3339 instant`},
		{"zero as-of", []string{"batch", "--out", out, "--as-of", "0001-01-01T00:00:00Z", demoDir}, exitUsage, "batch: --as-of 0001-01-01T00:00:00Z is not a usable instant (it is the zero time"},
		{"bad memory", []string{"batch", "--out", out, "--memory", "0", demoDir}, exitUsage, "--memory must be at least 1"},
		{"ids without a server", []string{"batch", "--out", out, "--ids", "ids.txt"}, exitUsage, "--patient needs a FHIR server: set TRIALSCREEN_FHIR_URL"},
		{"merge without --out", []string{"batch", "merge", out}, exitUsage, "batch merge: --out DIR and the shards' output directories are required"},
		{"missing input", []string{"batch", "--out", t.TempDir(), "/nonexistent/export"}, exitError, "batch: input stat /nonexistent/export: no such file or directory"},
		{"resume without a run", []string{"batch", "--out", t.TempDir(), "--resume", demoDir}, exitError, "holds no run to resume"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.msg) {
				t.Errorf("exit %d, stderr:\n%s\nwant exit %d and %q", code, stderr, tc.code, tc.msg)
			}
			if stdout != "" {
				t.Errorf("stdout: %q", stdout)
			}
		})
	}
}

// demoScreenings screens each demo patient with `screen --demo NAME --format json`.
func demoScreenings(t *testing.T) map[string]screening.Screening {
	t.Helper()
	out := map[string]screening.Screening{}
	for _, n := range demo.Names() {
		code, stdout, stderr := runCLI(t, "screen", "--demo", n, "--format", "json")
		if code != 0 {
			t.Fatal(stderr)
		}
		var s screening.Screening
		if err := json.Unmarshal([]byte(stdout), &s); err != nil {
			t.Fatal(err)
		}
		out[s.Patient.ID] = s
	}
	return out
}

func checkDocs(t *testing.T, ndjson string, want map[string]screening.Screening) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(ndjson, "\n"), "\n")
	if len(lines) != len(want) {
		t.Fatalf("%d documents, want %d", len(lines), len(want))
	}
	prev := ""
	for _, l := range lines {
		var s screening.Screening
		if err := json.Unmarshal([]byte(l), &s); err != nil {
			t.Fatal(err)
		}
		if s.Patient.ID <= prev {
			t.Errorf("not in patient id order: %s after %s", s.Patient.ID, prev)
		}
		prev = s.Patient.ID
		if !reflect.DeepEqual(s, want[s.Patient.ID]) {
			t.Errorf("%s: the batch's document differs from `screen --demo`'s", s.Patient.ID)
		}
	}
}

// TestBatchToDirectory: the demo Bundles screened into a directory give the documents
// `screen` gives, a CSV summary, the funnel (table on stdout, JSON and HTML files), and
// A patient born after the run's --as-of is not screened: problems.txt says why, and
// the others are screened.
func TestBatchAsOfBeforeBirth(t *testing.T) {
	out := t.TempDir()
	// The demo patients were born 1958-01-17, 1960-07-07, 1964-05-02 and 1968-09-30.
	code, _, stderr := runCLI(t, "batch", "--out", out, "--as-of", "1965-01-01T00:00:00Z", demoDir)
	if code == exitUsage {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "batch: 3 patients screened") || !strings.Contains(stderr, "1 not screened") {
		t.Errorf("stderr:\n%s", stderr)
	}
	problems := readFile(t, filepath.Join(out, "problems.txt"))
	if !strings.Contains(problems, "as-of 1965-01-01T00:00:00Z is before the patient's birth date 1968-09-30") {
		t.Errorf("problems.txt:\n%s\nwant the labs patient's birth date named", problems)
	}
}

// a resume of the finished run changes nothing.
func TestBatchToDirectory(t *testing.T) {
	out := t.TempDir()
	code, stdout, stderr := runCLI(t, append(append([]string{"batch", "--out", out}, asOfFlag...), demoDir)...)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	checkDocs(t, readFile(t, filepath.Join(out, "results.ndjson")), demoScreenings(t))
	wantCSV := `patient_id,verdict,pass,fail,unknown,review,failing_criteria,unknown_criteria
demo-candidate,potentially-eligible,28,0,0,11,,
demo-ineligible-exclusion,ineligible,26,2,0,11,cns-malignancy;pulmonary-fibrosis,
demo-ineligible-labs,ineligible,25,3,0,11,neutrophils;platelets;creatinine-clearance,
demo-insufficient-data,insufficient-data,17,0,12,10,,bcma-expression;ecog;neutrophils;lymphocytes;alt;ast;creatinine-clearance;bilirubin;lvef;ecg;oxygen-saturation;viral-serology
`
	if csv := readFile(t, filepath.Join(out, "summary.csv")); csv != wantCSV {
		t.Errorf("summary.csv:\n%s\nwant\n%s", csv, wantCSV)
	}
	if !strings.Contains(stdout, "Patients screened       4") {
		t.Errorf("stdout has no funnel table:\n%s", stdout)
	}
	if !strings.Contains(stderr, "batch: 4 patients screened") || !strings.Contains(stderr, "0 not screened, 0 input problems; results in "+out) {
		t.Errorf("stderr:\n%s", stderr)
	}
	for _, f := range []string{"funnel.json", "funnel.html", "run.json", "problems.txt"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
	before := readFile(t, filepath.Join(out, "results.ndjson"))
	// --as-of is taken from the run being resumed.
	code, _, stderr = runCLI(t, "batch", "--out", out, "--resume", demoDir)
	if code != exitOK || readFile(t, filepath.Join(out, "results.ndjson")) != before {
		t.Errorf("resuming a finished run: exit %d, %s", code, stderr)
	}
	code, _, stderr = runCLI(t, "batch", "--out", out, "--resume", "--as-of", "2026-12-01T00:00:00Z", demoDir)
	if code != exitError || !strings.Contains(stderr, "--resume: --as-of not the same as in the run in") {
		t.Errorf("resuming with another as-of: exit %d, %s", code, stderr)
	}
}

// TestBatchToStdout: with --out -, stdout holds only the verdict documents; the funnel
// table goes to stderr.
func TestBatchToStdout(t *testing.T) {
	code, stdout, stderr := runCLI(t, append(append([]string{"batch", "--out", "-"}, asOfFlag...), demoDir)...)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	checkDocs(t, stdout, demoScreenings(t))
	if !strings.Contains(stderr, "Patients screened       4") {
		t.Errorf("stderr has no funnel table:\n%s", stderr)
	}
}

// TestBatchShardsAndMerge: two shards run as the pods of an Indexed Job would (auto/2
// with JOB_COMPLETION_INDEX), merged, equal one run.
func TestBatchShardsAndMerge(t *testing.T) {
	whole := t.TempDir()
	if code, _, stderr := runCLI(t, append(append([]string{"batch", "--out", whole}, asOfFlag...), demoDir)...); code != 0 {
		t.Fatal(stderr)
	}
	var shards []string
	for _, i := range []string{"0", "1"} {
		dir := t.TempDir()
		code, _, stderr := runCLIEnv(t, map[string]string{"JOB_COMPLETION_INDEX": i}, append(append([]string{"batch", "--out", dir, "--shard", "auto/2"}, asOfFlag...), demoDir)...)
		if code != 0 {
			t.Fatal(stderr)
		}
		shards = append(shards, dir)
	}
	merged := filepath.Join(t.TempDir(), "merged")
	code, stdout, stderr := runCLI(t, "batch", "merge", "--out", merged, shards[0], shards[1])
	if code != 0 || !strings.Contains(stdout, "Patients screened       4") {
		t.Fatalf("merge: exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, f := range []string{"results.ndjson", "summary.csv", "funnel.json", "funnel.html", "run.json"} {
		if readFile(t, filepath.Join(merged, f)) != readFile(t, filepath.Join(whole, f)) {
			t.Errorf("merged %s differs from one run's", f)
		}
	}
	code, _, stderr = runCLI(t, "batch", "merge", "--out", filepath.Join(t.TempDir(), "m"), shards[1])
	if code != exitError || !strings.Contains(stderr, "shard 0/2 missing; merge every shard of the split") {
		t.Errorf("merging one shard of two: exit %d, %s", code, stderr)
	}
}
