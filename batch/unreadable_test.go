package batch

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// screenedDir is one run over a directory: documents by patient id, problems, stats.
type screenedDir struct {
	docs     map[string][]byte
	problems []string
	stats    Stats
}

func screenDir(t *testing.T, dir string, maxLine int) (screenedDir, error) {
	t.Helper()
	var probs problems
	c := &collect{}
	st, err := Run(context.Background(), Config{Protocol: testProtocol(t), Settings: testSettings(), TempDir: t.TempDir(), Report: probs.report},
		Files{Paths: []string{dir}, MaxLine: maxLine}, c)
	out := screenedDir{docs: map[string][]byte{}, problems: probs.list, stats: st}
	for i, id := range c.ids {
		out.docs[id] = c.lines[i]
	}
	return out, err
}

// outcomesOf reads a verdict document's verdict and each criterion's outcome/reason.
func outcomesOf(t *testing.T, doc []byte) (string, map[string]string) {
	t.Helper()
	var s struct {
		Verdict  string `json:"verdict"`
		Criteria []struct{ ID, Outcome, Reason string }
	}
	if err := json.Unmarshal(doc, &s); err != nil {
		t.Fatalf("%v in %.200s", err, doc)
	}
	m := map[string]string{}
	for _, c := range s.Criteria {
		m[c.ID] = c.Outcome + "/" + c.Reason
	}
	return s.Verdict, m
}

func appendLine(t *testing.T, path, line string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(line + "\n"); err != nil {
		t.Fatal(err)
	}
}

// epilepsy is a Condition code the CNS-disease exclusion reads: a readable one fails it.
const epilepsy = `"code":{"coding":[{"system":"http://snomed.info/sct","code":"84757009"}]}`

func conditionLine(subject string) string {
	return `{"resourceType":"Condition","id":"x1",` + subject + epilepsy + `}`
}

// TestUnreadableLinesNeverPass: a Condition line that cannot be read, or whose patient
// cannot be told for sure, is never dropped: the CNS-disease exclusion it might fail
// becomes unknown (reason unreadable) for its patient when the line still names one,
// and for every patient when it does not, instead of passing as if there were no such
// Condition. Each is reported with its file and line.
func TestUnreadableLinesNeverPass(t *testing.T) {
	const who = `"subject":{"reference":"Patient/demo-candidate"},`
	cases := []struct {
		name      string
		line      string
		file      string // default Condition.ndjson
		everyone  bool   // whose it is cannot be told: every patient's record gets it
		wantProbl string
	}{
		{name: "a readable epilepsy Condition fails the exclusion (control)", line: conditionLine(who)},
		{name: "cut short", line: strings.TrimSuffix(conditionLine(who), "}"),
			wantProbl: "not valid JSON: syntax error at byte 160; it counts as unreadable in its patient's record"},
		{name: "cut short inside the subject", line: `{"resourceType":"Condition","id":"x1","subject":{"reference":"Patient/demo-cand`, everyone: true,
			wantProbl: "not valid JSON: syntax error at byte 79; whose record it is cannot be told, so it counts as unreadable in every patient's record"},
		{name: "cut short before the type, the type from the file name", line: `{"id":"x1",` + who, file: "Condition-2.ndjson",
			wantProbl: "not valid JSON: syntax error at byte 60; it counts as unreadable in its patient's record"},
		{name: "urn:uuid subject", line: conditionLine(`"subject":{"reference":"urn:uuid:1234"},`), everyone: true,
			wantProbl: "Condition whose subject/patient is not a literal reference to a Patient; whose record it is cannot be told, so it counts as unreadable in every patient's record"},
		{name: "a Group as subject", line: conditionLine(`"subject":{"reference":"Group/g"},`), everyone: true,
			wantProbl: "Condition whose subject/patient is not a literal reference to a Patient; whose record it is cannot be told, so it counts as unreadable in every patient's record"},
		{name: "no subject", line: conditionLine(""), everyone: true,
			wantProbl: "Condition without a subject/patient reference; whose record it is cannot be told, so it counts as unreadable in every patient's record"},
		{name: "subject a string", line: conditionLine(`"subject":"Patient/demo-candidate",`),
			wantProbl: "Condition without a subject/patient reference; it counts as unreadable in its patient's record"},
		{name: "subject a number", line: conditionLine(`"subject":7,`), everyone: true,
			wantProbl: "Condition without a subject/patient reference; whose record it is cannot be told, so it counts as unreadable in every patient's record"},
		{name: "two different subjects", line: `{"resourceType":"Condition","subject":"Patient/demo-candidate","subject":"Patient/demo-ineligible-labs",` + epilepsy, everyone: true,
			wantProbl: "not valid JSON: syntax error at byte 177; whose record it is cannot be told, so it counts as unreadable in every patient's record"},
		{name: "longer than MaxLine", line: conditionLine(who + `"note":[{"text":"` + strings.Repeat("0", 900) + `"}],`),
			wantProbl: "longer than 800 bytes; it counts as unreadable in its patient's record"},
		{name: "longer than MaxLine, cut before the subject", line: `{"resourceType":"Condition","note":[{"text":"` + strings.Repeat("0", 900) + `"}],` + who + epilepsy + "}", everyone: true,
			wantProbl: "longer than 800 bytes; whose record it is cannot be told, so it counts as unreadable in every patient's record"},
		{name: "not an object, in a file whose name tells no type", line: `[1,2]`, file: "extra.ndjson", everyone: true,
			wantProbl: "a JSON array, not a FHIR resource (an object); whose record it is cannot be told, so it counts as unreadable in every patient's record"},
		{name: "a Bundle line", line: `{"resourceType":"Bundle","type":"collection","entry":[]}`, everyone: true,
			wantProbl: "a Bundle, not a resource of a patient's record; a Bundle in NDJSON input is not read, so it counts as unreadable in every patient's record"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeNDJSON(t, dir, demoBundles(t))
			file := tc.file
			if file == "" {
				file = "Condition.ndjson"
			}
			path := filepath.Join(dir, file)
			appendLine(t, path, tc.line)
			line := 1
			if file == "Condition.ndjson" {
				data, _ := os.ReadFile(path)
				line = strings.Count(string(data), "\n")
			}
			got, err := screenDir(t, dir, 800)
			if err != nil {
				t.Fatal(err)
			}
			if got.stats.Screened != 4 {
				t.Fatalf("stats %+v, problems %v", got.stats, got.problems)
			}
			var want []string
			if tc.wantProbl != "" {
				want = []string{fmt.Sprintf("%s line %d: %s", path, line, tc.wantProbl)}
			}
			if !slices.Equal(got.problems, want) {
				t.Errorf("problems\n%q\nwant\n%q", got.problems, want)
			}
			verdict, crit := outcomesOf(t, got.docs["demo-candidate"])
			switch {
			case tc.wantProbl == "" && crit["cns-disease"] != "fail/found":
				t.Errorf("control: cns-disease %q, want a fail", crit["cns-disease"])
			case tc.wantProbl != "" && crit["cns-disease"] != "unknown/unreadable":
				t.Errorf("cns-disease %q, want unknown/unreadable", crit["cns-disease"])
			}
			if verdict == "potentially-eligible" {
				t.Errorf("demo-candidate is %s", verdict)
			}
			// Another patient whose CNS exclusion passes: affected only when the line
			// could be anyone's.
			_, other := outcomesOf(t, got.docs["demo-ineligible-labs"])
			wantOther := "pass/not-found"
			if tc.everyone {
				wantOther = "unknown/unreadable"
			}
			if other["cns-disease"] != wantOther {
				t.Errorf("demo-ineligible-labs cns-disease %q, want %q", other["cns-disease"], wantOther)
			}
		})
	}
}

// TestUnreadableEntryNamesFileAndLine: the verdict document says which line it was.
func TestUnreadableEntryNamesFileAndLine(t *testing.T) {
	dir := t.TempDir()
	writeNDJSON(t, dir, demoBundles(t))
	appendLine(t, filepath.Join(dir, "Condition-9.ndjson"), `{"resourceType":"Condition","subject":{"reference":"Patient/demo-candidate"},"code":{`)
	appendLine(t, filepath.Join(dir, "Condition-9.ndjson"), `{"resourceType":"Condition","subject":{"reference":"urn:uuid:1"},`+epilepsy+`}`)
	got, err := screenDir(t, dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Data struct {
			Unreadable []struct {
				Index        int      `json:"index"`
				ResourceType string   `json:"resource_type"`
				Codes        []string `json:"codes"`
				Problem      string   `json:"problem"`
			} `json:"unreadable"`
		} `json:"data"`
	}
	if err := json.Unmarshal(got.docs["demo-candidate"], &doc); err != nil {
		t.Fatal(err)
	}
	u := doc.Data.Unreadable
	file := filepath.Join(dir, "Condition-9.ndjson")
	if len(u) != 2 ||
		u[0].ResourceType != "Condition" || len(u[0].Codes) != 0 || u[0].Problem != file+" line 1: not valid JSON: syntax error at byte 85" ||
		u[1].Index != -1 || u[1].ResourceType != "Condition" || !slices.Equal(u[1].Codes, []string{"http://snomed.info/sct|84757009"}) ||
		u[1].Problem != file+" line 2: Condition whose subject/patient is not a literal reference to a Patient (whose record it is cannot be told)" {
		t.Errorf("unreadable entries: %+v", u)
	}
}

// TestUnattributableLinesCollapsePerType: past a few dozen lines whose patient cannot be
// told, every record gets one entry per type (covering all codes) instead of thousands.
func TestUnattributableLinesCollapsePerType(t *testing.T) {
	var r runUnreadable
	r.add("f line 1", unreadLine{Type: "Condition", Codes: []string{"s|1"}, Problem: "p"})
	if e := r.entries(); len(e) != 1 || e[0].Problem != "f line 1: p (whose record it is cannot be told)" || e[0].Codes[0] != "s|1" {
		t.Fatalf("entries %+v", e)
	}
	for i := 2; i <= 40; i++ {
		r.add(fmt.Sprintf("f line %d", i), unreadLine{Type: "Condition", Codes: []string{"s|1"}, Problem: "p"})
	}
	r.add("g line 7", unreadLine{Problem: "q"})
	e := r.entries()
	if len(e) != 2 ||
		e[0].ResourceType != "" || e[0].Problem != "1 unreadable lines (unknown type) whose record cannot be told, the first at g line 7" ||
		e[1].ResourceType != "Condition" || e[1].Codes != nil || e[1].Problem != "40 unreadable lines (Condition) whose record cannot be told, the first at f line 1" {
		t.Errorf("entries %+v", e)
	}
}

// TestSalvage: what a broken line still tells.
func TestSalvage(t *testing.T) {
	cases := []struct {
		name, line string
		want       salvaged
	}{
		{"cut after the subject", `{"resourceType":"Condition","id":"c","subject":{"reference":"Patient/p1"},"code":{"cod`, salvaged{"Condition", "c", "p1"}},
		{"absolute reference", `{"resourceType":"Observation","subject":{"reference":"https://x/fhir/Patient/p1/_history/2"},`, salvaged{"Observation", "", "p1"}},
		{"patient member", `{"resourceType":"AllergyIntolerance","patient":{"reference":"Patient/p1"},"x":`, salvaged{"AllergyIntolerance", "", "p1"}},
		{"cut inside the reference", `{"resourceType":"Condition","subject":{"reference":"Patient/p`, salvaged{resourceType: "Condition"}},
		{"subject and patient differ", `{"resourceType":"Condition","subject":{"reference":"Patient/a"},"patient":{"reference":"Patient/b"},`, salvaged{resourceType: "Condition"}},
		{"subject and patient agree", `{"resourceType":"Condition","subject":{"reference":"Patient/a"},"patient":"Patient/a",`, salvaged{"Condition", "", "a"}},
		{"a lookalike member", `{"resourceType":"Condition","subject":{"reference":"Patient/a"},"Subject":{"reference":"Patient/b"},`, salvaged{resourceType: "Condition"}},
		{"an escaped member name", `{"resourceType":"Condition","subject":{"reference":"Patient/a"},"subj\u0065ct":{"reference":"Patient/b"},`, salvaged{resourceType: "Condition"}},
		{"a broken subject object", `{"resourceType":"Condition","subject":{"reference":7},`, salvaged{resourceType: "Condition"}},
		{"a quote inside a string", `{"resourceType":"Condition","note":"say \"subject\":\"Patient/x\"","subject":"Patient/a",`, salvaged{"Condition", "", "a"}},
		{"a number cut short", `{"resourceType":"Condition","n":12`, salvaged{resourceType: "Condition"}},
		{"a syntax error before the subject", `{"resourceType":"Condition" "subject":"Patient/a"}`, salvaged{resourceType: "Condition"}},
		{"not an object", `["Patient/a"]`, salvaged{}},
		{"a Patient", `{"resourceType":"Patient","id":"p9","birthDate":"19`, salvaged{resourceType: "Patient", id: "p9"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := salvage([]byte(tc.line)); got != tc.want {
				t.Errorf("salvage = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestTypeFromFileName(t *testing.T) {
	cases := map[string]string{
		"/x/Condition.ndjson":           "Condition",
		"Condition-12.ndjson":           "Condition",
		"MedicationRequest-1.ndjson.gz": "MedicationRequest",
		"Observation.jsonl":             "Observation",
		"error-1.ndjson":                "",
		"zz-broken.ndjson":              "",
		"Condition-a.ndjson":            "",
		"Condition.json":                "",
	}
	for name, want := range cases {
		if got := typeFromFileName(name); got != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
}
