package batch

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trialscreen/trialscreen/demo"
	"github.com/trialscreen/trialscreen/fhirbundle"
)

// TestMedicationReferencesResolve: a medication resource that names its drug by
// medicationReference gets the Medication from Medication.ndjson (which belongs to no
// patient), and screens as the Bundle holding both does; a reference to a Medication
// the export lacks is an unreadable entry named by file and line.
func TestMedicationReferencesResolve(t *testing.T) {
	p := testProtocol(t)
	raw, _ := demo.Bundle("candidate")
	var b map[string]any
	json.Unmarshal(raw, &b)
	entries := b["entry"].([]any)
	replaced := 0
	for _, e := range entries {
		r := e.(map[string]any)["resource"].(map[string]any)
		if r["id"] == "demo-candidate-med-20" { // lenalidomide, by code
			delete(r, "medicationCodeableConcept")
			r["medicationReference"] = map[string]any{"reference": "Medication/lena"}
			replaced++
		}
		if r["id"] == "demo-candidate-med-19" { // bortezomib: its Medication is missing
			delete(r, "medicationCodeableConcept")
			r["medicationReference"] = map[string]any{"reference": "https://fhir.example/r4/Medication/gone"}
			replaced++
		}
	}
	if replaced != 2 {
		t.Fatal("the demo patient's medications changed; update the test")
	}
	med := map[string]any{"resourceType": "Medication", "id": "lena", "code": map[string]any{"coding": []any{
		map[string]any{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "342369"}}}}
	b["entry"] = append(entries, map[string]any{"fullUrl": "Medication/lena", "resource": med})
	bundle, _ := json.Marshal(b)

	dir := t.TempDir()
	writeNDJSON(t, dir, map[string][]byte{"candidate": bundle})
	var probs problems
	c, st := runFiles(t, Config{Protocol: p, Settings: testSettings(), TempDir: t.TempDir(), Report: probs.report}, dir)
	if st.Screened != 1 {
		t.Fatalf("stats %+v, problems %v", st, probs.list)
	}
	r, _ := fhirbundle.NewReader(p)
	rec, err := r.ReadBundle(bundle, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Unreadable) != 1 || !strings.Contains(rec.Unreadable[0].Problem, "Medication/gone is not among the entries") {
		t.Fatalf("the bundle's unreadable entries: %+v", rec.Unreadable)
	}
	// In the export, the unreadable entry is named by its file and line, and its index
	// is its place among the patient's lines (after the one in Condition.ndjson).
	rec.Unreadable[0].Problem = filepath.Join(dir, "MedicationStatement.ndjson") + " line 1: " + rec.Unreadable[0].Problem
	rec.Unreadable[0].Index = 1
	want, _ := json.Marshal(p.Evaluate(rec, testSettings()))
	if !bytes.Equal(c.lines[0], want) {
		t.Errorf("document:\n%.3000s\nwant\n%.3000s", c.lines[0], want)
	}
	if !bytes.Contains(c.lines[0], []byte(`"Medication":1`)) {
		t.Errorf("the referenced Medication is not counted in resources_seen")
	}
	if _, err := os.Stat(filepath.Join(dir, "Medication.ndjson")); err != nil {
		t.Fatal(err)
	}
}
