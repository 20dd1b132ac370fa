package batch

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/trialscreen/trialscreen/demo"
)

// TestSymlinkedInputFilesAreRead: a directory of links to an export's files is read as
// the files themselves; a link that leads nowhere stops the run, naming it, since the
// resources it should have given could make criteria pass.
func TestSymlinkedInputFilesAreRead(t *testing.T) {
	dir, other := t.TempDir(), t.TempDir()
	writeNDJSON(t, dir, demoBundles(t))
	appendLine(t, filepath.Join(dir, "Condition.ndjson"), conditionLine(`"subject":{"reference":"Patient/demo-candidate"},`))
	if err := os.Rename(filepath.Join(dir, "Condition.ndjson"), filepath.Join(other, "Condition.ndjson")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(other, "Condition.ndjson"), filepath.Join(dir, "Condition.ndjson")); err != nil {
		t.Fatal(err)
	}
	got, err := screenDir(t, dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, crit := outcomesOf(t, got.docs["demo-candidate"]); crit["cns-disease"] != "fail/found" {
		t.Errorf("cns-disease %q: the linked Condition file was not read", crit["cns-disease"])
	}

	// A link and its target in the same directory are one file, read once.
	if err := os.Symlink(filepath.Join(dir, "Patient.ndjson"), filepath.Join(dir, "Patient-linked.ndjson")); err != nil {
		t.Fatal(err)
	}
	files, err := listFiles([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	patientFiles := 0
	for _, f := range files {
		if strings.Contains(f.path, "Patient") {
			patientFiles++
		}
	}
	if patientFiles != 1 {
		t.Errorf("files %v: the link and its target are both read", files)
	}

	broken := filepath.Join(dir, "Observation-2.ndjson")
	if err := os.Symlink(filepath.Join(other, "gone.ndjson"), broken); err != nil {
		t.Fatal(err)
	}
	_, err = screenDir(t, dir, 0)
	if err == nil || !strings.HasPrefix(err.Error(), "batch: input "+broken+" cannot be read: stat ") {
		t.Errorf("err %v", err)
	}
	os.Remove(broken)

	if err := os.Mkdir(filepath.Join(dir, "Procedure.ndjson"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err = screenDir(t, dir, 0)
	if want := "batch: input " + filepath.Join(dir, "Procedure.ndjson") + " is not a regular file (its name says it is input): move it out of the directory or name the files to read"; err == nil || err.Error() != want {
		t.Errorf("err %v\nwant %s", err, want)
	}
}

// TestOperationOutcomeStopsTheRun: a Bulk Data export's error file among the input means
// resources may be missing, so the run stops, naming the file and line, unless every
// issue is information. Diagnostics (which may hold anything) are not quoted.
func TestOperationOutcomeStopsTheRun(t *testing.T) {
	outcome := func(sev string) string {
		return `{"resourceType":"OperationOutcome","issue":[{"severity":"` + sev + `","code":"exception","diagnostics":"Condition export failed for Patient/demo-candidate"}]}`
	}
	const refuse = ": the export reports a problem, so it may be incomplete; not screening from it (fix or re-run the export, or remove the file once the issue is known not to affect the data)"
	cases := []struct {
		name, line, want string
	}{
		{"error", outcome("error"), `an OperationOutcome with severity "error" (code "exception")` + refuse},
		{"fatal", outcome("fatal"), `an OperationOutcome with severity "fatal" (code "exception")` + refuse},
		{"warning", outcome("warning"), `an OperationOutcome with severity "warning" (code "exception")` + refuse},
		{"no severity", `{"resourceType":"OperationOutcome","issue":[{"code":"exception"}]}`, `an OperationOutcome with severity "" (code "exception")` + refuse},
		{"information then error", `{"resourceType":"OperationOutcome","issue":[{"severity":"information","code":"informational"},{"severity":"error","code":"not-found"}]}`,
			`an OperationOutcome with severity "error" (code "not-found")` + refuse},
		{"no issues", `{"resourceType":"OperationOutcome"}`,
			"an OperationOutcome without issues: the export reports a problem it does not describe, so it may be incomplete; not screening from it (fix or re-run the export)"},
		{"issues of the wrong shape", `{"resourceType":"OperationOutcome","issue":{"severity":"information"}}`,
			"an OperationOutcome whose issues cannot be read: the export reports a problem of unknown severity, so it may be incomplete; not screening from it (fix or re-run the export)"},
		{"cut short", `{"resourceType":"OperationOutcome","issue":[{"severity":"inform`,
			"an OperationOutcome that cannot be read (not valid JSON: syntax error at byte 63): the export reports a problem of unknown severity, so it may be incomplete; not screening from it (fix or re-run the export)"},
		{"information only", `{"resourceType":"OperationOutcome","issue":[{"severity":"information","code":"informational"}]}`, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeNDJSON(t, dir, demoBundles(t))
			path := filepath.Join(dir, "error-1.ndjson")
			appendLine(t, path, `{"resourceType":"OperationOutcome","issue":[{"severity":"information","code":"informational"}]}`)
			appendLine(t, path, tc.line)
			got, err := screenDir(t, dir, 0)
			if tc.want == "" {
				if err != nil || got.stats.Screened != 4 || len(got.problems) != 0 {
					t.Errorf("err %v, stats %+v, problems %v", err, got.stats, got.problems)
				}
				return
			}
			if want := "batch: input " + path + " line 2: " + tc.want; err == nil || err.Error() != want {
				t.Errorf("err %v\nwant %s", err, want)
			}
			if err != nil && strings.Contains(err.Error(), "demo-candidate") {
				t.Errorf("the error quotes the diagnostics")
			}
		})
	}
}

// TestDifferentPatientsWithOneIdAreNotScreened: two Patient resources with one id that
// differ (a birth date that would fail the age criterion, say) are not merged: the
// patient is reported and not screened, wherever the second one is. Byte-identical
// copies are one resource.
func TestDifferentPatientsWithOneIdAreNotScreened(t *testing.T) {
	other := `{"resourceType":"Patient","id":"demo-candidate","gender":"female","birthDate":"1940-01-01"}`
	for _, name := range []string{"00-other.ndjson", "zz-other.ndjson"} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			writeNDJSON(t, dir, demoBundles(t))
			appendLine(t, filepath.Join(dir, name), other)
			got, err := screenDir(t, dir, 0)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := got.docs["demo-candidate"]; ok || got.stats.Screened != 3 || got.stats.Unscreened != 1 {
				t.Fatalf("stats %+v, screened %v", got.stats, mapKeys(got.docs))
			}
			first := filepath.Join(dir, "Condition.ndjson") + " line 1" // the patient's first line, in file order
			if name == "00-other.ndjson" {
				first = filepath.Join(dir, name) + " line 1"
			}
			want := []string{first + ": not screened: the input holds 2 different Patient resources with this id; give each patient's Patient resource once"}
			if !slices.Equal(got.problems, want) {
				t.Errorf("problems\n%q\nwant\n%q", got.problems, want)
			}
		})
	}
	t.Run("identical copies", func(t *testing.T) {
		dir := t.TempDir()
		writeNDJSON(t, dir, demoBundles(t))
		data, _ := os.ReadFile(filepath.Join(dir, "Patient.ndjson"))
		if err := os.WriteFile(filepath.Join(dir, "Patient-2.ndjson"), data, 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := screenDir(t, dir, 0)
		if err != nil || got.stats.Screened != 4 || len(got.problems) != 0 {
			t.Errorf("err %v, stats %+v, problems %v", err, got.stats, got.problems)
		}
	})
}

// TestConflictingMedicationIds: a Medication id given twice with different content is
// ambiguous, so a medicationReference to it is unreadable (the criterion reading the
// drug is unknown, not passed or failed on whichever came first); the same Medication
// twice, byte for byte, is one. A Medication line that cannot be read makes references
// to its id unreadable too.
func TestConflictingMedicationIds(t *testing.T) {
	raw, _ := demo.Bundle("candidate")
	var b map[string]any
	json.Unmarshal(raw, &b)
	n := 0
	for _, e := range b["entry"].([]any) {
		r := e.(map[string]any)["resource"].(map[string]any)
		if r["id"] == "demo-candidate-med-20" { // lenalidomide, by code
			delete(r, "medicationCodeableConcept")
			r["medicationReference"] = map[string]any{"reference": "Medication/lena"}
			n++
		}
	}
	if n != 1 {
		t.Fatal("the demo patient's medications changed; update the test")
	}
	bundle, _ := json.Marshal(b)
	lena := `{"resourceType":"Medication","id":"lena","code":{"coding":[{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"342369"}]}}`
	aspirin := `{"resourceType":"Medication","id":"lena","code":{"coding":[{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"1191"}]}}`
	cases := []struct {
		name      string
		meds      []string
		ambiguous bool
		problem   string // for line 2
	}{
		{name: "once", meds: []string{lena}},
		{name: "twice, identical", meds: []string{lena, lena}},
		{name: "twice, different", meds: []string{lena, aspirin}, ambiguous: true,
			problem: "a Medication with the id of an earlier Medication line but other content: which drug a medicationReference to that id means cannot be told, so every such reference counts as unreadable"},
		{name: "twice, different, the other first", meds: []string{aspirin, lena}, ambiguous: true,
			problem: "a Medication with the id of an earlier Medication line but other content: which drug a medicationReference to that id means cannot be told, so every such reference counts as unreadable"},
		{name: "a second copy cut short", meds: []string{lena, lena[:len(lena)-3]}, ambiguous: true,
			problem: "not valid JSON: syntax error at byte 131; every medicationReference to its id counts as unreadable"},
	}
	var baseline []byte
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeNDJSON(t, dir, map[string][]byte{"candidate": bundle})
			medFile := filepath.Join(dir, "Medication.ndjson")
			os.Remove(medFile)
			for _, m := range tc.meds {
				appendLine(t, medFile, m)
			}
			got, err := screenDir(t, dir, 0)
			if err != nil || got.stats.Screened != 1 {
				t.Fatalf("err %v, stats %+v", err, got.stats)
			}
			doc := got.docs["demo-candidate"]
			var want []string
			if tc.problem != "" {
				want = []string{medFile + " line 2: " + tc.problem}
			}
			if !slices.Equal(got.problems, want) {
				t.Errorf("problems\n%q\nwant\n%q", got.problems, want)
			}
			if !tc.ambiguous {
				if baseline == nil {
					baseline = doc
				} else if !bytes.Equal(doc, baseline) {
					t.Errorf("document differs from the one with the Medication once")
				}
				if bytes.Contains(doc, []byte(`"unreadable"`)) && !bytes.Contains(doc, []byte(`"unreadable":[]`)) {
					t.Errorf("unreadable entries: %.2000s", doc)
				}
				return
			}
			wantProblem := filepath.Join(dir, "MedicationStatement.ndjson") + " line 2: its medicationReference names a Medication id the input gives with different content (or on a line that cannot be read): which drug it means cannot be told"
			if !bytes.Contains(doc, []byte(`"problem":"`+wantProblem+`"`)) {
				t.Errorf("no unreadable entry %q in %.3000s", wantProblem, doc)
			}
			// Lenalidomide is an anti-myeloma drug: which drug the reference means decides
			// the washout, which must not pass.
			if _, crit := outcomesOf(t, doc); crit["therapy-washout"] != "unknown/unreadable" {
				t.Errorf("therapy-washout %q, want unknown/unreadable", crit["therapy-washout"])
			}
		})
	}
}
