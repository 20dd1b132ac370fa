package batch

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/trialscreen/trialscreen/fhirbundle"
	"github.com/trialscreen/trialscreen/screening"
)

// The grouping pass replaces a resource no criterion reads by a stub (canStub, stub).
// These tests hold the stubs to the resources: a batch screens every patient exactly as
// a single-patient screening of the same resources does, stubbed or not.

const candidateRef = `"subject":{"reference":"Patient/demo-candidate"}`

// withEntries is a Bundle with extra resources (JSON objects) after its entries.
func withEntries(t *testing.T, bundle []byte, resources ...string) []byte {
	t.Helper()
	var b map[string]any
	if err := json.Unmarshal(bundle, &b); err != nil {
		t.Fatal(err)
	}
	entries, _ := b["entry"].([]any)
	for _, r := range resources {
		var res any
		if err := json.Unmarshal([]byte(r), &res); err != nil {
			t.Fatalf("%v: %s", err, r)
		}
		entries = append(entries, map[string]any{"resource": res})
	}
	b["entry"] = entries
	out, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// stubbed reports whether the grouping pass stubs this NDJSON line.
func stubbed(t *testing.T, line string) bool {
	t.Helper()
	info, err := scanResource([]byte(line))
	if err != nil {
		t.Fatalf("%v: %s", err, line)
	}
	s := &scanner{env: &Env{Protocol: testProtocol(t)}}
	return s.canStub(&info)
}

// screenLikeSingle screens the demo candidate with extra resources as an export and
// as a Bundle, and returns the batch's document after checking it is the other's.
func screenLikeSingle(t *testing.T, resources ...string) []byte {
	t.Helper()
	demo := demoBundles(t)
	bundles := map[string][]byte{"candidate": withEntries(t, demo["candidate"], resources...)}
	want := expectedDocs(t, testProtocol(t), bundles)["demo-candidate"]
	dir := t.TempDir()
	writeNDJSON(t, dir, bundles)
	got, err := screenDir(t, dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.problems) > 0 {
		t.Errorf("problems: %v", got.problems)
	}
	doc := got.docs["demo-candidate"]
	if !bytes.Equal(doc, want) {
		_, gc := outcomesOf(t, doc)
		_, wc := outcomesOf(t, want)
		for id, w := range wc {
			if gc[id] != w {
				t.Errorf("%s: batch %s, single-patient screening %s", id, gc[id], w)
			}
		}
		t.Errorf("the batch's document differs from single-patient screening:\n%s\nwant\n%s", doc, want)
	}
	return doc
}

// TestStubbedResourcesScreenLikeSinglePatient: a Procedure and a Condition whose codes
// are placed (SNOMED CT) but read by no criterion, a blood pressure panel whose own and
// component codes no criterion reads, and an Encounter are stubbed; the stubs read as
// the resources do (placed, irrelevant), never as records without a code that would
// make the exclusions review/unplaced-code.
func TestStubbedResourcesScreenLikeSinglePatient(t *testing.T) {
	irrelevant := []string{
		`{"resourceType":"Procedure","id":"x-proc","status":"completed","code":{"coding":[{"system":"http://snomed.info/sct","code":"430193006","display":"Medication reconciliation"}]},"performedDateTime":"2026-10-01T10:00:00Z",` + candidateRef + `}`,
		`{"resourceType":"Condition","id":"x-cond","clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-clinical","code":"active"}]},"code":{"coding":[{"system":"http://snomed.info/sct","code":"44465007","display":"Sprain of ankle"}],"text":"Sprain of ankle"},"onsetDateTime":"2026-09-01",` + candidateRef + `}`,
		`{"resourceType":"Condition","id":"x-cond-oid","code":{"coding":[{"system":"urn:oid:2.16.840.1.113883.6.96","code":"44465007"}]},"onsetDateTime":"2026-09-02",` + candidateRef + `}`,
		`{"resourceType":"Observation","id":"x-bp","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"85354-9"}]},"effectiveDateTime":"2026-11-17T08:00:00Z","component":[{"code":{"coding":[{"system":"http://loinc.org","code":"8480-6"}]},"valueQuantity":{"value":120,"unit":"mm[Hg]"}},{"code":{"coding":[{"system":"http://loinc.org","code":"8462-4"}]},"valueQuantity":{"value":80,"unit":"mm[Hg]"}}],` + candidateRef + `}`,
		`{"resourceType":"Encounter","id":"x-enc","status":"finished","class":{"code":"AMB"},` + candidateRef + `}`,
	}
	for _, r := range irrelevant {
		if !stubbed(t, r) {
			t.Errorf("not stubbed, so this test does not hold a stub to it: %s", r)
		}
	}
	doc := screenLikeSingle(t, irrelevant...)
	if _, crit := outcomesOf(t, doc); crit["cns-disease"] != "pass/not-found" {
		t.Errorf("cns-disease %s, want pass/not-found", crit["cns-disease"])
	}
}

// TestPanelResultsReachCriteriaInBatch: a CBC panel (LOINC 58410-2, read by no
// criterion) whose components hold the newest platelet count (777-3, 38 10*3/uL) makes
// the platelets inclusion fail in a batch as in a single-patient screening: the panel
// is not stubbed on its own code. So is a panel holding the count as a contained
// hasMember Observation.
func TestPanelResultsReachCriteriaInBatch(t *testing.T) {
	const platelets = `{"code":{"coding":[{"system":"http://loinc.org","code":"777-3"}]},"valueQuantity":{"value":38,"unit":"10*3/uL","system":"http://unitsofmeasure.org","code":"10*3/uL"}}`
	cases := map[string]string{
		"component": `{"resourceType":"Observation","id":"x-cbc","status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory"}]}],` +
			`"code":{"coding":[{"system":"http://loinc.org","code":"58410-2"}],"text":"CBC"},"effectiveDateTime":"2026-11-18T07:30:00Z","component":[` + platelets + `],` + candidateRef + `}`,
		"contained member": `{"resourceType":"Observation","id":"x-cbc","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"58410-2"}]},"effectiveDateTime":"2026-11-18T07:30:00Z",` +
			`"contained":[{"resourceType":"Observation","id":"plt","status":"final",` + platelets[1:] + `],"hasMember":[{"reference":"#plt"}],` + candidateRef + `}`,
	}
	for name, panel := range cases {
		t.Run(name, func(t *testing.T) {
			if stubbed(t, panel) {
				t.Errorf("the panel is stubbed")
			}
			doc := screenLikeSingle(t, panel)
			if _, crit := outcomesOf(t, doc); crit["platelets"] != "fail/not-met" {
				t.Errorf("platelets %s, want fail/not-met (the panel's 38 is the newest count)", crit["platelets"])
			}
		})
	}
}

// TestLineCodesAreThePeeks: the codes the grouping pass decides on are the codes
// fhirbundle's peek decides on: components' and ingredients' too, the
// medicationCodeableConcept's alone when given; a member fhirbundle's peek cannot read
// (which makes the resource unreadable there) makes the line unclean, never stubbed.
func TestLineCodesAreThePeeks(t *testing.T) {
	cases := []struct {
		name, line string
		codes      string
		contained  bool
		clean      bool
		repeated   bool
	}{
		{"code", `{"resourceType":"Condition","code":{"coding":[{"system":"s","code":"a"}],"text":"A"}}`, "[{s a}]", false, true, false},
		{"components after the code", `{"resourceType":"Observation","code":{"coding":[{"system":"l","code":"p"}]},"component":[{"code":{"coding":[{"system":"l","code":"c1"}]}},{"code":null},{},{"code":{"coding":[{"system":"l","code":"c2"},{"code":"c3"}]}}]}`, "[{l p} {l c1} {l c2} { c3}]", false, true, false},
		{"component code in another case", `{"resourceType":"Observation","component":[{"Code":{"coding":[{"code":"c"}]}}]}`, "[{ c}]", false, true, false},
		{"component code given twice", `{"resourceType":"Observation","component":[{"code":{"coding":[{"code":"a"}]},"code":{"text":"x"}}]}`, "[{ a}]", false, true, false},
		{"components not an array", `{"resourceType":"Observation","component":{"code":{}}}`, "[]", false, false, false},
		{"component text a number", `{"resourceType":"Observation","component":[{"code":{"text":1}}]}`, "[]", false, false, false},
		{"ingredients", `{"resourceType":"Medication","code":{"coding":[{"code":"m"}]},"ingredient":[{"itemCodeableConcept":{"coding":[{"system":"r","code":"i"}]}},{"itemReference":{"reference":"Substance/1"}}]}`, "[{ m} {r i}]", false, true, false},
		{"medicationCodeableConcept alone", `{"resourceType":"MedicationRequest","medicationCodeableConcept":{"coding":[{"code":"d"}]},"code":{"coding":[{"code":"x"}]},"component":[{"code":{"coding":[{"code":"y"}]}}]}`, "[{ d}]", false, true, false},
		{"contained member", `{"resourceType":"Observation","hasMember":[{"reference":"Observation/1"},{"reference":"#m"}]}`, "[]", true, true, false},
		{"members elsewhere", `{"resourceType":"Observation","hasMember":[{"reference":"Observation/1"},{"display":"x"},null]}`, "[]", false, true, false},
		{"member a string", `{"resourceType":"Observation","hasMember":["#m"]}`, "[]", false, false, false},
		{"code text a number", `{"resourceType":"Condition","code":{"coding":[{"code":"a"}],"text":5}}`, "[{ a}]", false, false, false},
		{"code text in another case", `{"resourceType":"Condition","code":{"coding":[{"code":"a"}],"TEXT":"x"}}`, "[{ a}]", false, true, false},
		{"issue on a Condition", `{"resourceType":"Condition","issue":"x"}`, "[]", false, false, false},
		{"a member given twice", `{"resourceType":"Condition","onsetDateTime":"2020","onsetDateTime":"2021"}`, "[]", false, true, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			info, err := scanResource([]byte(tc.line))
			if err != nil {
				t.Fatal(err)
			}
			if got := fmt.Sprint(info.codes); got != tc.codes && !(tc.codes == "[]" && len(info.codes) == 0) {
				t.Errorf("codes %s, want %s", got, tc.codes)
			}
			if info.containedMembers != tc.contained || info.clean != tc.clean || info.repeated != tc.repeated {
				t.Errorf("contained members %v, clean %v, repeated %v; want %v, %v, %v",
					info.containedMembers, info.clean, info.repeated, tc.contained, tc.clean, tc.repeated)
			}
		})
	}
}

// TestStubIsTheLinesReading: a stub is JSON that reads back as the type, id,
// reference and codes of its line, whatever characters they hold, and its digest tells
// lines apart as fhirbundle does (space outside strings does not count).
func TestStubIsTheLinesReading(t *testing.T) {
	odd := "a\"b\\c\x01\x1f<>&\u00e9\u2028/"
	info := lineInfo{resourceType: "Condition", id: odd, patientRef: "Patient/" + odd,
		codes: []codingKV{{"http://snomed.info/sct", "44465007"}, {"", odd}, {odd, ""}}}
	var got struct {
		ResourceType, ID, Digest string
		Subject                  struct{ Reference string }
		Code                     conceptJSON
	}
	b := stub(&info, []byte(`{}`))
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	if got.ResourceType != info.resourceType || got.ID != odd || got.Subject.Reference != info.patientRef ||
		fmt.Sprint(got.Code.codes()) != fmt.Sprint(info.codes) || got.Digest == "" {
		t.Errorf("the stub %s reads as %+v", b, got)
	}
	info.id = ""
	if b := stub(&info, []byte(`{}`)); bytes.Contains(b, []byte(`"id"`)) {
		t.Errorf("a line without an id gives a stub with one: %s", b)
	}

	digest := func(line string) uint64 {
		info, err := scanResource([]byte(line))
		if err != nil {
			t.Fatal(err)
		}
		return lineDigest([]byte(line), info.spaced)
	}
	a := digest(`{"resourceType":"Encounter","id":"e","status":"finished"}`)
	if digest(` { "resourceType" : "Encounter","id":"e",  "status":"finished"}`+"\t") != a {
		t.Errorf("space outside strings changes the digest")
	}
	if digest(`{"resourceType":"Encounter","id":"e","status":"finished "}`) == a ||
		digest(`{"resourceType":"Encounter","id":"e","status":"planned"}`) == a ||
		digest(`{"status":"finished","resourceType":"Encounter","id":"e"}`) == a {
		t.Errorf("lines fhirbundle tells apart have one digest")
	}
}

// TestStubsReadAsTheWholeLines: an export screened with stubs gives, byte for byte,
// the documents it gives with every line whole: the 18 Synthea patients, the demo
// patients and the real-world corpus (each record as a patient of its own), with lines
// added that a stub could get wrong: a resource given twice with other content (an
// Encounter, an irrelevant Condition: the second copy is unreadable), given twice alike
// or with other spacing only (one resource), a member given twice, a code text of the
// wrong type, irrelevant panels.
func TestStubsReadAsTheWholeLines(t *testing.T) {
	dir := t.TempDir()
	bundles := testBundles(t)
	rw, err := filepath.Glob("../realworld/testdata/*.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range rw {
		if strings.HasSuffix(f, ".expect.json") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		// Each record is a patient of its own, with Medications of its own.
		num, _, _ := strings.Cut(filepath.Base(f), "-") // 00 to 204: the whole number
		n := "rw" + num
		b = bytes.ReplaceAll(b, []byte("demo-candidate"), []byte(n+"-candidate"))
		b = bytes.ReplaceAll(b, []byte(`rw-`), []byte(n+"-"))
		bundles[n] = b
	}
	writeNDJSON(t, dir, bundles)
	const who = `"subject":{"reference":"Patient/demo-ineligible-labs"}`
	const sprain = `"code":{"coding":[{"system":"http://snomed.info/sct","code":"44465007"}]}`
	extra := map[string][]string{
		"Encounter": {
			`{"resourceType":"Encounter","id":"e1","status":"finished",` + who + `}`,
			`{"resourceType":"Encounter","id":"e1","status":"planned",` + who + `}`,
			`{"resourceType":"Encounter","id":"e2","status":"finished",` + who + `}`,
			`{"resourceType":"Encounter","id":"e2","status":"finished",` + who + `}`,
			`{"resourceType":"Encounter","id":"e3","status":"finished",` + who + `}`,
			` { "resourceType" : "Encounter", "id":"e3","status":"finished",` + who + ` } `,
		},
		"Condition": {
			`{"resourceType":"Condition","id":"c1",` + sprain + `,"onsetDateTime":"2020-01-01",` + who + `}`,
			`{"resourceType":"Condition","id":"c1",` + sprain + `,"onsetDateTime":"2021-01-01",` + who + `}`,
			`{"resourceType":"Condition","id":"c2",` + sprain + `,"onsetDateTime":"2020-01-01",` + who + `}`,
			`{"resourceType":"Condition","id":"c2","code":{"coding":[{"system":"http://snomed.info/sct","code":"44465007"}]} ,"onsetDateTime":"2020-01-01",` + who + `}`,
			`{"resourceType":"Condition","id":"c3",` + sprain + `,"onsetDateTime":"2020-01-01","onsetDateTime":"2021-01-01",` + who + `}`,
			`{"resourceType":"Condition","id":"c4","code":{"coding":[{"system":"http://snomed.info/sct","code":"44465007"}],"text":5},` + who + `}`,
		},
		"Observation": {
			`{"resourceType":"Observation","id":"o1","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"85354-9"}]},"effectiveDateTime":"2026-11-17","component":[{"code":{"coding":[{"system":"http://loinc.org","code":"8480-6"}]},"valueQuantity":{"value":120}}],` + who + `}`,
			`{"resourceType":"Observation","id":"o2","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"58410-2"}]},"effectiveDateTime":"2026-11-17","component":[{"code":{"coding":[{"system":"http://loinc.org","code":"777-3"}]},"valueQuantity":{"value":38,"unit":"10*3/uL","system":"http://unitsofmeasure.org","code":"10*3/uL"}}],` + who + `}`,
			`{"resourceType":"Observation","id":"o3","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"58410-2"}]},"effectiveDateTime":"2026-11-17","component":{"code":{}},` + who + `}`,
		},
	}
	for typ, lines := range extra {
		for _, l := range lines {
			appendLine(t, filepath.Join(dir, "zz-"+typ+".ndjson"), l)
		}
	}
	p := testProtocol(t)
	run := func(whole bool) *collect {
		var probs problems
		c := &collect{}
		if _, err := Run(context.Background(), Config{Protocol: p, Settings: testSettings(), TempDir: t.TempDir(), Report: probs.report}, Files{Paths: []string{dir}, whole: whole}, c); err != nil {
			t.Fatal(err)
		}
		if len(probs.list) > 0 {
			t.Errorf("problems: %v", probs.list)
		}
		return c
	}
	stubs, whole := run(false), run(true)
	if len(stubs.ids) != len(bundles) || fmt.Sprint(stubs.ids) != fmt.Sprint(whole.ids) {
		t.Fatalf("patients screened: %v with stubs, %v whole", stubs.ids, whole.ids)
	}
	for i, id := range stubs.ids {
		if !bytes.Equal(stubs.lines[i], whole.lines[i]) {
			t.Errorf("patient %s: the document with stubs differs from the one with whole lines:\n%s\nwant\n%s", id, stubs.lines[i], whole.lines[i])
		}
	}
	// The added lines did what they are there for.
	for i, id := range stubs.ids {
		if id != "demo-ineligible-labs" {
			continue
		}
		var doc struct {
			Data struct{ Unreadable []screening.UnreadableEntry }
		}
		if err := json.Unmarshal(stubs.lines[i], &doc); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, u := range doc.Data.Unreadable {
			got = append(got, u.Problem[strings.LastIndex(u.Problem, ": ")+2:])
		}
		if len(got) != 5 {
			t.Errorf("unreadable entries %q; want the second e1, the second c1, c3, c4 and o3", got)
		}
	}
}

// FuzzStubReadsAsTheLine: whenever the grouping pass stubs a line, fhirbundle reads the
// stub as it reads the line, alone and beside another copy of the resource (which is
// stubbed or not as the pass decides for it).
func FuzzStubReadsAsTheLine(f *testing.F) {
	const who = `"subject":{"reference":"Patient/p"}`
	seeds := []string{
		`{"resourceType":"Condition","id":"c",` + `"code":{"coding":[{"system":"http://snomed.info/sct","code":"44465007"}]},` + who + `}`,
		`{"resourceType":"Condition","id":"c",` + `"code":{"coding":[{"system":"http://snomed.info/sct","code":"84757009"}]},` + who + `}`,
		`{"resourceType":"Condition","id":"c","code":{"coding":[{"system":"urn:oid:2.16.840.1.113883.6.96","code":"44465007"}],"text":"x"},"onsetDateTime":"2020",` + who + `}`,
		`{"resourceType":"Procedure","id":"x","status":"completed","code":{"coding":[{"system":"http://snomed.info/sct","code":"430193006"}]},"performedDateTime":"2026-10-01",` + who + `}`,
		`{"resourceType":"Observation","id":"o","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"58410-2"}]},"effectiveDateTime":"2026-11-17","component":[{"code":{"coding":[{"system":"http://loinc.org","code":"777-3"}]},"valueQuantity":{"value":38,"unit":"10*3/uL"}}],` + who + `}`,
		`{"resourceType":"Observation","id":"o","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"85354-9"}]},"component":[{"code":{"coding":[{"system":"http://loinc.org","code":"8480-6"}]}}],"hasMember":[{"reference":"#m"}],"contained":[{"resourceType":"Observation","id":"m","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"777-3"}]},"valueQuantity":{"value":38}}],` + who + `}`,
		`{"resourceType":"Encounter","id":"e","status":"finished",` + who + `,"meta":{"security":[{"code":"MASKED"}]}}`,
		`{"resourceType":"AllergyIntolerance","id":"a","code":{"coding":[{"system":"http://snomed.info/sct","code":"91935009"}]},"patient":{"reference":"Patient/p"}}`,
	}
	for i, s := range seeds {
		f.Add(s, seeds[(i+1)%len(seeds)])
		f.Add(s, s)
	}
	p := testProtocol(f)
	reader, err := fhirbundle.NewReader(p)
	if err != nil {
		f.Fatal(err)
	}
	sc := &scanner{env: &Env{Protocol: p}}
	patient := []byte(`{"resourceType":"Patient","id":"p","birthDate":"1960-01-01","gender":"male"}`)
	doc := func(lines [][]byte) []byte {
		entries := []fhirbundle.Entry{{Index: 0, Resource: patient}}
		for i, l := range lines {
			entries = append(entries, fhirbundle.Entry{Index: i + 1, Resource: l})
		}
		rec, err := reader.ReadResources("p", entries)
		if err != nil {
			return []byte("error: " + err.Error())
		}
		b, _ := json.Marshal(p.Evaluate(rec, testSettings()))
		return b
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		var whole, stubs [][]byte
		stubbedAny := false
		for _, l := range []string{a, b} {
			info, err := scanResource([]byte(l))
			if err != nil || info.patientRef != "Patient/p" {
				continue
			}
			whole = append(whole, []byte(l))
			if sc.canStub(&info) {
				stubbedAny = true
				stubs = append(stubs, stub(&info, []byte(l)))
			} else {
				stubs = append(stubs, []byte(l))
			}
		}
		if !stubbedAny {
			return
		}
		if w, s := doc(whole), doc(stubs); !bytes.Equal(sortedMessages(t, w), sortedMessages(t, s)) {
			t.Errorf("lines %q\nstubs %q\nread whole:\n%s\nstubbed:\n%s", whole, stubs, w, s)
		}
	})
}

// sortedMessages sorts the parts of every "; "-joined message in a document: the
// parser names a resource's unknown fields in no fixed order, whole line or not.
func sortedMessages(t *testing.T, doc []byte) []byte {
	var v any
	if err := json.Unmarshal(doc, &v); err != nil {
		return doc
	}
	var walk func(any) any
	walk = func(x any) any {
		switch x := x.(type) {
		case map[string]any:
			for k, e := range x {
				x[k] = walk(e)
			}
		case []any:
			for i, e := range x {
				x[i] = walk(e)
			}
		case string:
			parts := strings.Split(x, "; ")
			slices.Sort(parts)
			return strings.Join(parts, "; ")
		}
		return x
	}
	out, err := json.Marshal(walk(v))
	if err != nil {
		t.Fatal(err)
	}
	return out
}
