package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trialscreen/trialscreen/screening"
	"github.com/trialscreen/trialscreen/terminology"
)

const rrfDir = "../../terminology/testdata/rxnorm"

// runEnv runs the program in-process with the given environment.
func runEnv(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, func(k string) string { return env[k] }, testClock, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestImportRxNormCommand(t *testing.T) {
	out := filepath.Join(t.TempDir(), "data", "rxnorm-ingredients.tsv")
	// Flags after the files, as the usage line shows them.
	code, stdout, stderr := runCLI(t, "terminology", "import-rxnorm", rrfDir+"/RXNCONSO.RRF", rrfDir+"/RXNREL.RRF",
		"-o", out, "--version", "RxNorm test 2025-01-06", "--rxnsat", rrfDir+"/RXNSAT.RRF")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{
		"RXNCONSO: 25 rows, 18 RXNORM rows used, 2 suppressed (O/Y/E) skipped, 2 of other sources ignored",
		"RXNSAT: 4 rows, 1 RxNorm NDCs indexed",
		"wrote 19 rows (version \"RxNorm test 2025-01-06\") to " + out,
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d, err := terminology.ReadDrugs(f, out)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []terminology.Coding{{System: terminology.RxNorm, Code: "99000003"}, {System: terminology.NDC, Code: "63020-049-01"}} {
		if ings, ok := d.Ingredients(c); !ok || len(ings) != 1 || ings[0].Code != "358258" {
			t.Errorf("%s: %v %v", c, ings, ok)
		}
	}
	// The file leaves no temporary file beside it.
	if entries, _ := os.ReadDir(filepath.Dir(out)); len(entries) != 1 {
		t.Errorf("the output directory holds %d files, want the index alone", len(entries))
	}
}

func TestImportRxNormCommandProblems(t *testing.T) {
	conso, err := os.ReadFile(rrfDir + "/RXNCONSO.RRF")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bad := filepath.Join(dir, "RXNCONSO.RRF")
	lines := strings.SplitAfter(string(conso), "\n")
	if err := os.WriteFile(bad, []byte(lines[0]+lines[1]+"402243|ENG|x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"no version", []string{rrfDir + "/RXNCONSO.RRF", rrfDir + "/RXNREL.RRF", "-o", filepath.Join(dir, "x.tsv")}, exitUsage, "name the release with --version"},
		{"one file", []string{rrfDir + "/RXNCONSO.RRF", "--version", "v"}, exitUsage, "give RXNCONSO.RRF and RXNREL.RRF"},
		{"files swapped", []string{rrfDir + "/RXNREL.RRF", rrfDir + "/RXNCONSO.RRF", "--version", "v"}, exitUsage, "the first file must be RXNCONSO.RRF"},
		{"malformed line", []string{bad, rrfDir + "/RXNREL.RRF", "--version", "v", "-o", filepath.Join(dir, "x.tsv")}, exitError, bad + ":3: 2 fields, want 18"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, append([]string{"terminology", "import-rxnorm"}, tc.args...)...)
			if code != tc.code || !strings.Contains(stderr, tc.msg) || stdout != "" {
				t.Errorf("exit %d, stderr %q, stdout %q; want %d and %q", code, stderr, stdout, tc.code, tc.msg)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "x.tsv")); err == nil {
		t.Error("a failed import wrote its output")
	}
}

// siteFiles writes a site's terminology: an alias for its ICD-10 URI, a ConceptMap for
// its local neutrophil count code, and a drug index that knows amoxicillin/clavulanate.
func siteFiles(t *testing.T) map[string]string {
	t.Helper()
	dir := t.TempDir()
	aliases := filepath.Join(dir, "aliases.txt")
	write := func(path, content string) {
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(aliases, "# the hospital's ICD-10 edition\nhttp://hospital.example.org/fhir/CodeSystem/icd-10-site  http://hl7.org/fhir/sid/icd-10\n")
	maps := filepath.Join(dir, "maps")
	if err := os.Mkdir(maps, 0o755); err != nil {
		t.Fatal(err)
	}
	write(filepath.Join(maps, "lab.json"), `{
  "resourceType": "ConceptMap", "url": "http://hospital.example.org/fhir/ConceptMap/lab", "version": "3", "status": "active",
  "group": [{
    "source": "http://lab.hospital.example.org/fhir/CodeSystem/lab-tests", "target": "http://loinc.org",
    "element": [{"code": "K-ANC", "target": [{"code": "751-8", "equivalence": "equivalent"}]}]
  }]
}`)
	index := filepath.Join(dir, "index.tsv")
	write(index, "# version: site-index-1\n"+
		"system\tcode\ttty\tname\tingredients\tsources\n"+
		"rxnorm\t723\tIN\tamoxicillin\t723\ttest\n"+
		"rxnorm\t48203\tIN\tclavulanate\t48203\ttest\n"+
		"rxnorm\t562251\tSCD\tamoxicillin 250 MG / clavulanate 125 MG Oral Tablet\t723,48203\ttest\n")
	return map[string]string{envSystemAliases: aliases, envSiteConceptMaps: maps, envDrugIndex: index}
}

func TestScreenWithSiteTerminology(t *testing.T) {
	env := siteFiles(t)
	bundle := "testdata/terminology-report/local-lab.json"
	code, stdout, stderr := runEnv(t, env, "screen", "--bundle", bundle, "--format", "json", "--as-of", "2026-11-20T12:00:00Z")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	rows := shippedDrugRows(t) + 3 // the site index adds three codes
	if !strings.Contains(stderr, fmt.Sprintf("drug_table=2026-12-06.1 + site-index-1 drug_rows=%d value_sets=47 site_maps=1 site_mapped_codes=1 system_aliases=1", rows)) {
		t.Errorf("stderr does not describe the vocabulary: %q", stderr)
	}
	var doc screening.Screening
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
		t.Fatal(err)
	}
	want := screening.TerminologyReport{
		DrugTable:     screening.DrugTableReport{Version: "2026-12-06.1 + site-index-1", Rows: rows},
		ValueSets:     47,
		SiteMaps:      []string{"http://hospital.example.org/fhir/ConceptMap/lab|3"},
		SystemAliases: 1,
		Expansion:     "shipped",
	}
	if got := doc.Settings.Terminology; got == nil || got.DrugTable != want.DrugTable || !slices.Equal(got.SiteMaps, want.SiteMaps) ||
		got.ValueSets != want.ValueSets || got.SystemAliases != 1 || got.Expansion != "shipped" {
		t.Errorf("settings.terminology %+v, want %+v", got, want)
	}
	// The local code and the site's ICD-10 URI are placed: evidence names what the
	// record gave.
	recorded := map[string]bool{}
	for _, r := range doc.Criteria {
		if r.Reason == screening.ReasonUnplaced && strings.Contains(r.Summary, "K-ANC") {
			t.Errorf("%s: the mapped lab code is still unplaced: %s", r.ID, r.Summary)
		}
		for _, ev := range r.Evidence {
			if ev.RecordedAs != "" {
				recorded[ev.RecordedAs] = true
			}
		}
	}
	for _, k := range []string{"http://lab.hospital.example.org/fhir/CodeSystem/lab-tests|K-ANC", "http://hospital.example.org/fhir/CodeSystem/icd-10-site|C90.0"} {
		if !recorded[k] {
			t.Errorf("no evidence recorded as %s; recorded_as seen: %v", k, recorded)
		}
	}

	// Without the site's terminology, the settings name the shipped vocabulary.
	code, stdout, stderr = runCLI(t, "screen", "--bundle", bundle, "--format", "json", "--as-of", "2026-11-20T12:00:00Z")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	doc = screening.Screening{}
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
		t.Fatal(err)
	}
	if got := doc.Settings.Terminology; got == nil || got.DrugTable.Version != "2026-12-06.1" || len(got.SiteMaps) != 0 || got.SystemAliases != 0 {
		t.Errorf("shipped settings.terminology %+v", got)
	}
}

// TestSiteTerminologyProblems: every problem fails start-up, named by its variable,
// file and line or ConceptMap element, all at once.
func TestSiteTerminologyProblems(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	aliases := write("aliases.txt", "# site\nurn:oid:1.2.3.4 http://hl7.org/fhir/sid/icd-10\nhttp://x.example.org/icd http://example.org/not-a-system\nonly-one-field\n")
	cm := write("cm.json", `{"resourceType": "ConceptMap", "status": "active", "group": [{"source": "http://lab.example.org/codes", "target": "http://loinc.org",
  "element": [{"code": "A1", "target": [{"code": "751-8", "equivalence": "equivalent"}]}, {"code": "B2", "target": [{"code": "26499-4", "equivalence": "relatedto"}]}]}]}`)
	index := write("index.tsv", "system\tcode\ttty\tname\tingredients\tsources\nrxnorm\t562251\tSCD\tx\t723\ttest\nrxnorm\t12a\tIN\ty\t12a\ttest\n")
	env := map[string]string{envSystemAliases: aliases, envSiteConceptMaps: cm + "," + filepath.Join(dir, "missing.json"), envDrugIndex: index}
	wants := []string{
		"the site's terminology has problems:",
		envSystemAliases + ": " + aliases + `:3: code system alias "http://x.example.org/icd" -> "http://example.org/not-a-system": names no known code system`,
		envSystemAliases + ": " + aliases + `:4: want two URIs`,
		envSiteConceptMaps + ": " + cm + ": group[0].element[1].target[0]: equivalence relatedto does not say the local code means the target",
		envSiteConceptMaps + ": stat " + filepath.Join(dir, "missing.json") + ": no such file or directory",
		envDrugIndex + ": " + index + `:3: code "12a" is not a rxnorm code`,
		envDrugIndex + ": " + index + ":2: ingredient 723 has no IN row of its own",
	}
	for _, args := range [][]string{
		{"screen", "--demo", "candidate"},
		{"batch", "--out", filepath.Join(dir, "out"), "testdata/terminology-report"},
		{"protocol", "check", "../../protocols/anti-bcma-cart-rrmm.yaml"},
		{"terminology", "report", "testdata/terminology-report"},
	} {
		t.Run(args[0], func(t *testing.T) {
			code, stdout, stderr := runEnv(t, env, args...)
			if code != exitError || stdout != "" {
				t.Errorf("exit %d, stdout %q; want %d and nothing", code, stdout, exitError)
			}
			for _, w := range wants {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
		})
	}
	// serve refuses to start.
	cfg, err := readServeConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	cfg.limits = nominalLimits(t, cfg)
	_, _, err = buildService(context.Background(), cfg, func(k string) string { return env[k] }, func() time.Time { return txClock }, newLogger(&logs, "info"), io.Discard)
	if err == nil || !strings.Contains(err.Error(), wants[3]) {
		t.Errorf("serve: %v", err)
	}
}

// TestServeLogsAndUsesSiteTerminology: serve logs what it loaded (no patient data) and
// its screenings name the site's vocabulary.
func TestServeLogsAndUsesSiteTerminology(t *testing.T) {
	env := withDataDir(t, siteFiles(t))
	getenv := func(k string) string { return env[k] }
	cfg, err := readServeConfig(getenv)
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	cfg.limits = nominalLimits(t, cfg)
	svc, closeAll, err := buildService(context.Background(), cfg, getenv, func() time.Time { return txClock }, slog.New(slog.NewJSONHandler(&logs, nil)), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer closeAll()
	var line map[string]any
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, `"msg":"terminology loaded"`) {
			if err := json.Unmarshal([]byte(l), &line); err != nil {
				t.Fatal(err)
			}
		}
	}
	if line == nil || line["drug_table"] != "2026-12-06.1 + site-index-1" || line["drug_rows"] != float64(shippedDrugRows(t)+3) ||
		line["value_sets"] != float64(47) || line["site_maps"] != float64(1) || line["system_aliases"] != float64(1) {
		t.Errorf("start-up log line %v in:\n%s", line, logs.String())
	}
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/v1/patients/demo-candidate/screening", nil)
	svc.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body.String())
	}
	var doc screening.Screening
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if tr := doc.Settings.Terminology; tr == nil || tr.DrugTable.Version != "2026-12-06.1 + site-index-1" || len(tr.SiteMaps) != 1 {
		t.Errorf("settings.terminology %+v", tr)
	}
}

func TestTerminologyReport(t *testing.T) {
	const dir = "testdata/terminology-report"
	code, stdout, stderr := runCLI(t, "terminology", "report", "--format", "json", dir)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var rep struct {
		Patients     int `json:"patients_read"`
		WithUnplaced int `json:"patients_with_unplaced"`
		Codes        []struct {
			ResourceType string `json:"resource_type"`
			System, Code string
			Text, Why    string
			Patients     int
			Resources    int
		}
		Terminology *screening.TerminologyReport
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Patients != 3 || rep.Terminology == nil || rep.Terminology.DrugTable.Version != "2026-12-06.1" {
		t.Errorf("patients %d, terminology %+v", rep.Patients, rep.Terminology)
	}
	type row struct{ typ, system, code string }
	got := map[row]int{}
	var order []row
	for _, c := range rep.Codes {
		r := row{c.ResourceType, c.System, c.Code}
		got[r] = c.Patients
		order = append(order, r)
		if c.Why == "" {
			t.Errorf("%v: no why", r)
		}
	}
	amox := row{"MedicationRequest", terminology.RxNorm, "562251"}
	lab := row{"Observation", "http://lab.hospital.example.org/fhir/CodeSystem/lab-tests", "K-ANC"}
	icd := row{"Condition", "http://hospital.example.org/fhir/CodeSystem/icd-10-site", "C90.0"}
	text := row{"MedicationStatement", "", ""}
	for r, n := range map[row]int{amox: 2, lab: 1, icd: 1, text: 1} {
		if got[r] != n {
			t.Errorf("%v: %d patients, want %d (report: %v)", r, got[r], n, got)
		}
	}
	if len(order) == 0 || order[0] != amox {
		t.Errorf("the code most patients carry is not first: %v", order)
	}
	// Placed codes are not listed: LOINC observations, SNOMED conditions, drugs the table knows.
	for r := range got {
		if r.system == terminology.LOINC || r.system == terminology.SNOMED {
			t.Errorf("a placed code is listed: %v", r)
		}
	}

	// The table says the same, and the site's terminology removes what it places.
	code, stdout, stderr = runEnv(t, siteFiles(t), "terminology", "report", dir)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, gone := range []string{"K-ANC", "icd-10-site", "562251"} {
		if strings.Contains(stdout, gone) {
			t.Errorf("with the site's terminology, %s is still listed:\n%s", gone, stdout)
		}
	}
	if !strings.Contains(stdout, "home chemo tablets") || !strings.Contains(stdout, "PATIENTS") || !strings.Contains(stdout, "1 site maps, 1 system aliases") {
		t.Errorf("table:\n%s", stdout)
	}
}

func TestTerminologyHelp(t *testing.T) {
	const importLine, reportLine = "terminology import-rxnorm RXNCONSO.RRF RXNREL.RRF", "terminology report [--format table|json]"
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"help"}, []string{importLine, reportLine}},
		{[]string{"terminology", "help"}, []string{importLine, reportLine}},
		{[]string{"terminology", "import-rxnorm", "--help"}, []string{importLine, "Only SAB=RXNORM rows are read"}},
		{[]string{"terminology", "report", "-h"}, []string{reportLine, "what a site\nmaps before go-live"}},
	} {
		code, stdout, stderr := runCLI(t, tc.args...)
		if code != exitOK || stderr != "" {
			t.Errorf("%v: exit %d, stderr %q", tc.args, code, stderr)
		}
		for _, w := range tc.want {
			if !strings.Contains(stdout, w) {
				t.Errorf("%v: stdout lacks %q:\n%s", tc.args, w, stdout)
			}
		}
	}
	_, stdout, _ := runCLI(t, "help")
	for _, v := range []string{envDrugIndex, envSiteConceptMaps, envSystemAliases} {
		if !strings.Contains(stdout, v) {
			t.Errorf("help does not name %s", v)
		}
	}
	if code, _, stderr := runCLI(t, "terminology", "translate"); code != exitUsage || !strings.Contains(stderr, `unknown subcommand "translate"`) {
		t.Errorf("exit %d: %s", code, stderr)
	}
}

// shippedDrugRows is how many codes the shipped drug table places: the tests that add a
// site index to it count from there, so a new verified row does not break them.
func shippedDrugRows(t *testing.T) int {
	t.Helper()
	v, err := terminology.Shipped()
	if err != nil {
		t.Fatal(err)
	}
	return v.Drugs.Len()
}
