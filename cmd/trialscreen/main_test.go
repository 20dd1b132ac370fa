package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trialscreen/trialscreen/demo"
	"github.com/trialscreen/trialscreen/screening"
)

// testClock is the clock the tests run the program on: the demo patients' instant, so
// that no test depends on the day it runs (the demo labs go stale 14 days after it).
func testClock() time.Time { return demo.AsOf() }

// runCLI runs the program in-process and returns its exit status and output.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, func(string) string { return "" }, testClock, &out, &errOut)
	return code, out.String(), errOut.String()
}

// cliFailure is a command line that must fail: its exit status and what stderr says.
type cliFailure struct {
	name string
	args []string
	code int
	msg  string
}

// checkCLIFailures runs each command line: it exits with its status, says its message
// on stderr and prints nothing on stdout.
func checkCLIFailures(t *testing.T, cases []cliFailure) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d (stderr %q)", code, tc.code, stderr)
			}
			if !strings.Contains(stderr, tc.msg) {
				t.Errorf("stderr %q does not say %q", stderr, tc.msg)
			}
			if stdout != "" {
				t.Errorf("stdout should be empty on error, got %q", stdout)
			}
		})
	}
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestErrorsACallerGets: every failure path ends in a non-zero status and a message
// that says what to fix; nothing is printed on stdout.
func TestErrorsACallerGets(t *testing.T) {
	notJSON := writeFile(t, "notes.txt", "this is not FHIR")
	barePatient := writeFile(t, "patient.json", `{"resourceType":"Patient","id":"x"}`)
	emptyBundle := writeFile(t, "empty.json", `{"resourceType":"Bundle","type":"collection"}`)
	badProtocol := writeFile(t, "p.yaml", "protocol: {id: x}\n")
	cases := []cliFailure{
		{"no command", nil, exitUsage, "a command is required"},
		{"unknown command", []string{"scan"}, exitUsage, `unknown command "scan"`},
		{"no input", []string{"screen"}, exitUsage, "--bundle FILE or --demo NAME is required"},
		{"bad format", []string{"screen", "--demo", "candidate", "--format", "xml"}, exitUsage, `--format must be json or table, not "xml"`},
		{"bad as-of", []string{"screen", "--demo", "candidate", "--as-of", "yesterday"}, exitUsage, `--as-of "yesterday" is not an RFC3339 instant`},
		{"zero as-of", []string{"screen", "--demo", "candidate", "--as-of", "0001-01-01T00:00:00Z"}, exitUsage, "screen: --as-of 0001-01-01T00:00:00Z is not a usable instant (it is the zero time"},
		{"as-of before 1900", []string{"screen", "--demo", "candidate", "--as-of", "1850-06-01T00:00:00Z"}, exitUsage, "screen: --as-of 1850-06-01T00:00:00Z is not a usable instant (the year must be between 1900 and 9999)"},
		{"as-of before birth", []string{"screen", "--demo", "candidate", "--as-of", "1960-01-01T00:00:00Z"}, exitUsage,
			"screen: --as-of 1960-01-01T00:00:00Z is before the patient's birth date 1964-05-02: no screening can be meant for an instant before the patient was born"},
		{"bad lymphodepletion date", []string{"screen", "--demo", "candidate", "--lymphodepletion-date", "12/10/2026"}, exitUsage, `--lymphodepletion-date "12/10/2026" is not a date`},
		{"bad time zone", []string{"screen", "--demo", "candidate", "--timezone", "Mars/Olympus"}, exitUsage, `--timezone "Mars/Olympus"`},
		{"unknown flag", []string{"screen", "--bundel", "x"}, exitUsage, "flag provided but not defined: -bundel"},
		{"unknown demo", []string{"screen", "--demo", "nobody"}, exitUsage, `demo patient "nobody" does not exist`},
		{"both inputs", []string{"screen", "--demo", "candidate", "--bundle", notJSON}, exitUsage, "give --bundle or --demo, not both"},
		{"patient without server", []string{"screen", "--patient", "123"}, exitUsage, "--patient needs a FHIR server: set TRIALSCREEN_FHIR_URL"},
		{"missing file", []string{"screen", "--bundle", "/nonexistent/b.json"}, exitError, "no such file or directory"},
		{"not JSON", []string{"screen", "--bundle", notJSON}, exitError, "not FHIR JSON"},
		{"a resource, not a bundle", []string{"screen", "--bundle", barePatient}, exitError, `resourceType is "Patient"`},
		{"bundle without a patient", []string{"screen", "--bundle", emptyBundle}, exitError, "Patient"},
		{"protocol check without file", []string{"protocol", "check"}, exitUsage, "exactly one FILE"},
		{"protocol check invalid", []string{"protocol", "check", badProtocol}, exitError, "protocol.version is required"},
	}
	checkCLIFailures(t, cases)
}

func TestScreenJSONIsOnlyTheVerdictDocument(t *testing.T) {
	code, stdout, stderr := runCLI(t, "screen", "--demo", "ineligible-labs", "--format", "json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var doc screening.Screening
	dec := json.NewDecoder(strings.NewReader(stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("stdout is not one verdict document: %v", err)
	}
	if doc.Verdict != screening.Ineligible || len(doc.Criteria) != 39 || doc.Protocol.ID != "anti-bcma-cart-rrmm" {
		t.Errorf("verdict %s, %d criteria, protocol %q", doc.Verdict, len(doc.Criteria), doc.Protocol.ID)
	}
}

func TestScreenTableShowsEveryCriterion(t *testing.T) {
	code, stdout, _ := runCLI(t, "screen", "--demo", "insufficient-data", "--format", "table")
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"INSUFFICIENT-DATA", "neutrophils", "stale", "investigator-discretion", "To obtain:", "For review:"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("table lacks %q", want)
		}
	}
	if n := strings.Count(stdout, "\n"); n < 40 {
		t.Errorf("table has %d lines, want one per criterion", n)
	}
}

// The lymphodepletion date anchors the washout: therapy that ended on 2026-09-20 is too
// recent for lymphodepletion on 2026-10-01.
func TestScreenLymphodepletionDate(t *testing.T) {
	code, stdout, _ := runCLI(t, "screen", "--demo", "candidate", "--format", "json", "--as-of", "2026-09-25T00:00:00Z", "--lymphodepletion-date", "2026-10-01")
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	var doc screening.Screening
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
		t.Fatal(err)
	}
	for _, r := range doc.Criteria {
		if r.ID == "therapy-washout" && r.Outcome != screening.Fail {
			t.Errorf("therapy-washout %s: %s", r.Outcome, r.Summary)
		}
	}
	if doc.Settings.LymphodepletionDate != "2026-10-01" {
		t.Errorf("settings do not report the lymphodepletion date: %+v", doc.Settings)
	}
}

func TestProtocolCheckShippedFile(t *testing.T) {
	code, stdout, stderr := runCLI(t, "protocol", "check", "../../protocols/anti-bcma-cart-rrmm.yaml")
	if code != exitOK || !strings.Contains(stdout, "39 criteria") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

// TestProtocolCheckZeroFactor: the shipped protocol with its /uL factor typed as 0 is
// invalid, with the line of the typo (read as no factor, an ANC of 600 /uL passed).
func TestProtocolCheckZeroFactor(t *testing.T) {
	data, err := os.ReadFile("../../protocols/anti-bcma-cart-rrmm.yaml")
	if err != nil {
		t.Fatal(err)
	}
	const good, typo = "{code: /uL, divide_by: 1000}", "{code: /uL, divide_by: 0}"
	before, _, found := strings.Cut(string(data), good)
	if !found {
		t.Fatalf("the shipped protocol no longer has %s", good)
	}
	line := strings.Count(before, "\n") + 1
	path := writeFile(t, "p.yaml", strings.Replace(string(data), good, typo, 1))
	code, stdout, stderr := runCLI(t, "protocol", "check", path)
	want := fmt.Sprintf("line %d: units.cell-count.accept[3] (/uL): divide_by must be a finite number above 0, not 0", line)
	if code != exitError || !strings.Contains(stderr, want) || stdout != "" {
		t.Errorf("exit %d, stdout %q, stderr %q; want exit %d and %q", code, stdout, stderr, exitError, want)
	}
}

// TestSyntheaBundlesScreen: the 18 realistic Synthea patients all screen without error;
// none has myeloma, so myeloma-diagnosis fails and none is potentially eligible.
func TestSyntheaBundlesScreen(t *testing.T) {
	files, _ := filepath.Glob("../../../shared/data/synthea/*.json")
	if len(files) != 18 {
		t.Fatalf("found %d Synthea bundles in ../shared/data/synthea, want 18", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			code, stdout, stderr := runCLI(t, "screen", "--bundle", f, "--format", "json", "--as-of", "2026-11-20T12:00:00Z")
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			var doc screening.Screening
			if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
				t.Fatal(err)
			}
			if doc.Verdict != screening.Ineligible {
				t.Errorf("verdict %s", doc.Verdict)
			}
			for _, r := range doc.Criteria {
				if r.ID == "myeloma-diagnosis" && (r.Outcome != screening.Fail || r.Reason != screening.ReasonNotFound) {
					t.Errorf("myeloma-diagnosis %s/%s: %s", r.Outcome, r.Reason, r.Summary)
				}
			}
			if len(doc.Data.Unreadable) > 0 {
				t.Errorf("unreadable entries: %+v", doc.Data.Unreadable)
			}
		})
	}
}
