package terminology

import (
	"strings"
	"testing"
)

func TestReadAliases(t *testing.T) {
	s, err := NewSystems(nil)
	if err != nil {
		t.Fatal(err)
	}
	good := "# the site's ICD-10 edition and an OID its lab writes LOINC under\n\n" +
		"http://hospital.example.org/fhir/CodeSystem/icd-10-site   http://hl7.org/fhir/sid/icd-10\n" +
		"urn:oid:2.16.840.1.113883.6.1 http://loinc.org\n" // already built in, the same: no change
	if err := s.ReadAliases(strings.NewReader(good), "aliases.txt"); err != nil {
		t.Fatal(err)
	}
	if got := s.Canonical("http://hospital.example.org/fhir/CodeSystem/icd-10-site"); got != ICD10 {
		t.Errorf("alias resolves to %q", got)
	}
	if s.SiteAliases() != 1 {
		t.Errorf("SiteAliases %d, want 1", s.SiteAliases())
	}
	bad := "http://a.example.org/x http://hl7.org/fhir/sid/icd-10\n" +
		"http://a.example.org/x http://snomed.info/sct\n" + // given twice
		"urn:oid:2.16.840.1.113883.6.96 http://loinc.org\n" + // SNOMED's OID cannot mean LOINC
		"http://loinc.org http://snomed.info/sct\n" + // a known system cannot mean another
		"not-a-uri http://loinc.org\n" +
		"http://b.example.org/y http://example.org/unknown\n" +
		"three fields here\n"
	err = s.ReadAliases(strings.NewReader(bad), "bad.txt")
	te, ok := err.(*TableError)
	if !ok {
		t.Fatalf("error %v, want a TableError", err)
	}
	want := []string{
		`bad.txt:2: alias "http://a.example.org/x" is given on line 1 too`,
		`bad.txt:3: code system alias "urn:oid:2.16.840.1.113883.6.96" -> "http://loinc.org": already names http://snomed.info/sct and cannot mean another system`,
		`bad.txt:4: code system alias "http://loinc.org" -> "http://snomed.info/sct": already names http://loinc.org and cannot mean another system`,
		`bad.txt:5: alias "not-a-uri" is not a URI`,
		`bad.txt:6: code system alias "http://b.example.org/y" -> "http://example.org/unknown": names no known code system`,
		`bad.txt:7: want two URIs, "alias-uri canonical-uri", not 3 fields`,
	}
	if len(te.Problems) != len(want) {
		t.Errorf("%d problems, want %d:\n%s", len(te.Problems), len(want), err)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("problems lack %q:\n%s", w, err)
		}
	}
	// Nothing of a file with problems is added.
	if s.Canonical("http://a.example.org/x") != "http://a.example.org/x" || s.SiteAliases() != 1 {
		t.Error("a file with problems added aliases")
	}
}

func TestWithKeepsSiteAdditionsApart(t *testing.T) {
	v, err := Shipped()
	if err != nil {
		t.Fatal(err)
	}
	site := v.With()
	if err := site.Systems.ReadAliases(strings.NewReader("http://h.example.org/icd http://hl7.org/fhir/sid/icd-10\n"), "a"); err != nil {
		t.Fatal(err)
	}
	cm := `{"resourceType": "ConceptMap", "url": "http://h.example.org/cm", "status": "active", "group": [{"source": "http://h.example.org/lab", "target": "http://loinc.org",
  "element": [{"code": "A1", "target": [{"code": "751-8", "equivalence": "equivalent"}]}]}]}`
	if err := site.Site.AddConceptMap([]byte(cm), "cm.json", site.Systems); err != nil {
		t.Fatal(err)
	}
	if v.Systems.SiteAliases() != 0 || v.Site.Len() != 0 || len(v.Site.Sources) != 0 {
		t.Error("extending a copy changed the shipped vocabulary")
	}
	again := site.With()
	if again.Systems.SiteAliases() != 1 || again.Site.Len() != 1 || again.Drugs.Len() != v.Drugs.Len() || again.Drugs.Version != v.Drugs.Version {
		t.Errorf("a copy of the site's vocabulary lost what it holds: aliases %d, maps %d, drugs %d %q",
			again.Systems.SiteAliases(), again.Site.Len(), again.Drugs.Len(), again.Drugs.Version)
	}
}

func TestReadDrugsRowProblems(t *testing.T) {
	table := "# version: t\n" + drugColumns + "\n" +
		"rxnorm\t1\tIN\tone\t1\ts\n" +
		"rxnorm\t2\tSCD\ttwo\t1,3\ts\n" + // 3 has no IN row
		"ndc\t123\tSCD\tx\t1\ts\n" + // not 11 digits
		"rxnorm\t4\tSCD\tx\t1\t\n" + // no source
		"loinc\t5\tSCD\tx\t1\ts\n" +
		"rxnorm\t6\tSCD\tx\t1\n"
	_, err := ReadDrugs(strings.NewReader(table), "d.tsv")
	for _, w := range []string{
		"d.tsv:4: ingredient 3 has no IN row of its own",
		`d.tsv:5: code "123" is not a ndc code`,
		"d.tsv:6: sources is empty",
		`d.tsv:7: system "loinc" is not rxnorm, ndc or snomed`,
		"d.tsv:8: 5 fields, want 6",
	} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("error lacks %q: %v", w, err)
		}
	}
}
