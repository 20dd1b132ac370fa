package terminology_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/trialscreen/trialscreen/terminology"
)

const goodValueSet = `{
 "id": "myeloma",
 "title": "Multiple myeloma",
 "oid": "2.16.840.1.113883.3.464.1003.108.12.1009",
 "url": "http://cts.nlm.nih.gov/fhir/ValueSet/2.16.840.1.113883.3.464.1003.108.12.1009",
 "version": "20170504",
 "source": "a test",
 "covers": [{"system": "http://snomed.info/sct", "code": "109989006", "display": "Multiple myeloma"}],
 "codes": [
  {"system": "http://snomed.info/sct", "code": "109989006", "display": "Multiple myeloma"},
  {"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "C90.00"}
 ]
}`

const otherValueSet = `{"id": "hiv", "source": "a test", "codes": [
 {"system": "http://hl7.org/fhir/sid/icd-10", "code": "B20"},
 {"system": "http://loinc.org", "code": "7917-8"},
 {"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "358258"}]}`

func vsFile(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }

func TestReadValueSetsGood(t *testing.T) {
	fsys := fstest.MapFS{
		"vs/myeloma.json":     vsFile(goodValueSet),
		"vs/hiv.json":         vsFile(otherValueSet),
		"vs/README.md":        vsFile("not a value set"),
		"vs/old/broken.json":  vsFile("{"), // not in dir itself
		"other/broken.json":   vsFile("{"),
		"vs/notes.json.draft": vsFile("{"),
	}
	got, err := terminology.ReadValueSets(fsys, "vs")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("%d value sets, want 2: %v", len(got), got)
	}
	m := got["myeloma"]
	if m == nil {
		t.Fatalf("no myeloma value set: %v", got)
	}
	if m.ID != "myeloma" || m.Title != "Multiple myeloma" || m.OID != "2.16.840.1.113883.3.464.1003.108.12.1009" ||
		m.URL != "http://cts.nlm.nih.gov/fhir/ValueSet/2.16.840.1.113883.3.464.1003.108.12.1009" || m.Version != "20170504" || m.Source != "a test" {
		t.Errorf("myeloma read as %+v", m)
	}
	want := []terminology.Coding{{System: terminology.SNOMED, Code: "109989006"}, {System: terminology.ICD10CM, Code: "C90.00"}}
	var codes []terminology.Coding
	for _, c := range m.Codes {
		codes = append(codes, c.Coding())
	}
	if !slices.Equal(codes, want) {
		t.Errorf("codes = %v, want %v", codes, want)
	}
	if m.Codes[0].Display != "Multiple myeloma" || len(m.Covers) != 1 || m.Covers[0].Code != "109989006" {
		t.Errorf("display or covers not read: %+v", m)
	}
	if h := got["hiv"]; h == nil || len(h.Codes) != 3 {
		t.Errorf("hiv read as %+v", h)
	}

	t.Run("an empty directory gives no value sets", func(t *testing.T) {
		got, err := terminology.ReadValueSets(fstest.MapFS{"vs/README.md": vsFile("x")}, "vs")
		if err != nil || len(got) != 0 {
			t.Errorf("ReadValueSets = %v, %v", got, err)
		}
	})
}

func TestReadValueSetsProblems(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  []string // each must appear in one problem; len(want) problems in all
	}{
		{"not JSON", map[string]string{"vs/a.json": "{"}, []string{"vs/a.json:"}},
		{"unknown field", map[string]string{"vs/a.json": strings.Replace(goodValueSet, `"title"`, `"name"`, 1)},
			[]string{`vs/a.json: json: unknown field "name"`}},
		{"unknown field in a member", map[string]string{"vs/a.json": strings.Replace(goodValueSet, `"display": "Multiple myeloma"},`, `"version": "2025"},`, 1)},
			[]string{`vs/a.json: json: unknown field "version"`}},
		{"missing id", map[string]string{"vs/a.json": `{"source": "s", "codes": [{"system": "http://loinc.org", "code": "1-8"}]}`},
			[]string{"vs/a.json: id is required"}},
		{"missing source", map[string]string{"vs/a.json": `{"id": "a", "codes": [{"system": "http://loinc.org", "code": "1-8"}]}`},
			[]string{"vs/a.json: source is required"}},
		{"missing codes", map[string]string{"vs/a.json": `{"id": "a", "source": "s"}`},
			[]string{"vs/a.json: codes is empty"}},
		{"empty codes", map[string]string{"vs/a.json": `{"id": "a", "source": "s", "codes": []}`},
			[]string{"vs/a.json: codes is empty"}},
		{"member without a code", map[string]string{"vs/a.json": `{"id": "a", "source": "s", "codes": [{"system": "http://loinc.org", "code": "1-8"}, {"system": "http://loinc.org"}]}`},
			[]string{`vs/a.json: codes[1]: code "" is empty or padded`}},
		{"member code padded", map[string]string{"vs/a.json": `{"id": "a", "source": "s", "codes": [{"system": "http://loinc.org", "code": "1-8 "}]}`},
			[]string{`vs/a.json: codes[0]: code "1-8 " is empty or padded`}},
		{"system unknown", map[string]string{"vs/a.json": `{"id": "a", "source": "s", "codes": [{"system": "http://hospital.example/lab", "code": "GLU"}]}`},
			[]string{`vs/a.json: codes[0]: system "http://hospital.example/lab" is not one`}},
		{"system as an OID", map[string]string{"vs/a.json": `{"id": "a", "source": "s", "codes": [{"system": "urn:oid:2.16.840.1.113883.6.96", "code": "1"}]}`},
			[]string{`codes[0]: system "urn:oid:2.16.840.1.113883.6.96"`}},
		{"system known but not for expansions", map[string]string{"vs/a.json": `{"id": "a", "source": "s", "codes": [{"system": "http://hl7.org/fhir/sid/ndc", "code": "63020004901"}]}`},
			[]string{`codes[0]: system "http://hl7.org/fhir/sid/ndc"`}},
		{"system missing", map[string]string{"vs/a.json": `{"id": "a", "source": "s", "codes": [{"code": "1"}]}`},
			[]string{`codes[0]: system ""`}},
		{"every problem of a file", map[string]string{"vs/a.json": `{"codes": [{"system": "x", "code": ""}]}`},
			[]string{"id is required", "source is required", `codes[0]: code ""`, `codes[0]: system "x"`}},
		{"duplicate id across files", map[string]string{"vs/a.json": goodValueSet, "vs/b.json": goodValueSet},
			[]string{`vs/b.json: value set id "myeloma" is given by another file too`}},
		{"problems of every file", map[string]string{"vs/a.json": "[]", "vs/b.json": `{"id": "b", "source": "s"}`, "vs/c.json": goodValueSet},
			[]string{"vs/a.json:", "vs/b.json: codes is empty"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			for name, data := range tc.files {
				fsys[name] = vsFile(data)
			}
			got, err := terminology.ReadValueSets(fsys, "vs")
			if got != nil {
				t.Errorf("ReadValueSets returned value sets with its error: %v", got)
			}
			var te *terminology.TableError
			if !errors.As(err, &te) {
				t.Fatalf("ReadValueSets = %v, want a *TableError", err)
			}
			if len(te.Problems) != len(tc.want) {
				t.Errorf("%d problems, want %d:\n%s", len(te.Problems), len(tc.want), err)
			}
			for _, w := range tc.want {
				if !slices.ContainsFunc(te.Problems, func(p string) bool { return strings.Contains(p, w) }) {
					t.Errorf("no problem says %q:\n%s", w, err)
				}
			}
		})
	}
}
