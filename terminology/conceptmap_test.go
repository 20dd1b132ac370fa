package terminology_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/trialscreen/trialscreen/terminology"
)

const labSystem = "http://hospital.example/fhir/CodeSystem/lab"

// A site's lab ConceptMap: GLU is LOINC 2345-7 (target system written canonically), HGB
// is LOINC 718-7 (target system written as LOINC's OID).
const labMap = `{
  "resourceType": "ConceptMap",
  "url": "http://hospital.example/fhir/ConceptMap/lab-to-loinc",
  "version": "2025.1",
  "status": "active",
  "group": [
    {"source": "http://hospital.example/fhir/CodeSystem/lab", "target": "http://loinc.org",
     "element": [
       {"code": "GLU", "display": "Glucose", "target": [{"code": "2345-7", "equivalence": "equivalent"}]},
       {"code": "CREA", "target": [{"code": "2160-0", "equivalence": "equal"}]}
     ]},
    {"source": "http://hospital.example/fhir/CodeSystem/lab", "target": "urn:oid:2.16.840.1.113883.6.1",
     "element": [
       {"code": "HGB", "target": [{"code": "718-7", "equivalence": "equivalent"}]}
     ]}
  ]
}`

// cmap builds a ConceptMap with one group; els is the JSON of its elements.
func cmap(source, target, els string) string {
	return `{"resourceType": "ConceptMap", "url": "http://hospital.example/fhir/ConceptMap/t", "status": "active",
	  "group": [{"source": "` + source + `", "target": "` + target + `", "element": [` + els + `]}]}`
}

// goodEl is an element that would map: every refused map carries one, so that a map is
// seen to add nothing when another of its elements is wrong.
const goodEl = `{"code": "GOOD", "target": [{"code": "2345-7", "equivalence": "equivalent"}]}`

func siteSystems(t *testing.T) *terminology.Systems {
	t.Helper()
	s, err := terminology.NewSystems(nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func lab(code string) terminology.Coding { return terminology.Coding{System: labSystem, Code: code} }

func TestAddConceptMap(t *testing.T) {
	m := terminology.NewSiteMap()
	if err := m.AddConceptMap([]byte(labMap), "lab.json", siteSystems(t)); err != nil {
		t.Fatal(err)
	}
	if m.Len() != 3 {
		t.Errorf("Len() = %d, want 3", m.Len())
	}
	if want := []string{"http://hospital.example/fhir/ConceptMap/lab-to-loinc|2025.1"}; !slices.Equal(m.Sources, want) {
		t.Errorf("Sources = %q, want %q", m.Sources, want)
	}
	for _, tc := range []struct {
		name string
		c    terminology.Coding
		want []terminology.Coding
	}{
		{"local code to its LOINC equivalent", lab("GLU"),
			[]terminology.Coding{{System: terminology.LOINC, Code: "2345-7", Via: labSystem + "|GLU"}}},
		{"equal maps", lab("CREA"),
			[]terminology.Coding{{System: terminology.LOINC, Code: "2160-0", Via: labSystem + "|CREA"}}},
		{"a target system written as an OID maps to the canonical system", lab("HGB"),
			[]terminology.Coding{{System: terminology.LOINC, Code: "718-7", Via: labSystem + "|HGB"}}},
		{"a coding that carries a Via maps and names itself", terminology.Coding{System: labSystem, Code: "GLU", Via: "other|x"},
			[]terminology.Coding{{System: terminology.LOINC, Code: "2345-7", Via: labSystem + "|GLU"}}},
		{"an unmapped local code", lab("NA"), nil},
		{"codes match case-sensitively", lab("glu"), nil},
		{"the same code in another system", terminology.Coding{System: "http://other.example/lab", Code: "GLU"}, nil},
		{"a target is not mapped back", terminology.Coding{System: terminology.LOINC, Code: "2345-7"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := m.Map(tc.c); !slices.Equal(got, tc.want) {
				t.Errorf("Map(%s) = %v, want %v", tc.c.Key(), got, tc.want)
			}
		})
	}

	t.Run("the result is the caller's to change", func(t *testing.T) {
		got := m.Map(lab("GLU"))
		got[0].Code = "changed"
		if again := m.Map(lab("GLU")); again[0].Code != "2345-7" {
			t.Errorf("changing a result changed the map: %v", again)
		}
	})

	t.Run("a second map adds its targets and its source", func(t *testing.T) {
		more := `{"resourceType": "ConceptMap", "status": "draft", "group": [{"source": "` + labSystem + `", "target": "http://snomed.info/sct",
		  "element": [{"code": "GLU", "target": [{"code": "33747003", "equivalence": "wider"}]}]}]}`
		if err := m.AddConceptMap([]byte(more), "more.json", siteSystems(t)); err != nil {
			t.Fatal(err)
		}
		want := []terminology.Coding{
			{System: terminology.LOINC, Code: "2345-7", Via: labSystem + "|GLU"},
			{System: terminology.SNOMED, Code: "33747003", Via: labSystem + "|GLU"},
		}
		if got := m.Map(lab("GLU")); !slices.Equal(got, want) {
			t.Errorf("Map(GLU) = %v, want %v", got, want)
		}
		// no url: the file names it
		if want := []string{"http://hospital.example/fhir/ConceptMap/lab-to-loinc|2025.1", "more.json"}; !slices.Equal(m.Sources, want) {
			t.Errorf("Sources = %q, want %q", m.Sources, want)
		}
	})
}

func TestAddConceptMapEquivalences(t *testing.T) {
	for _, tc := range []struct {
		equivalence string
		places      bool
	}{
		{"equivalent", true},
		{"equal", true},
		{"wider", true},
		{"subsumes", true},
		{"narrower", false},
		{"specializes", false},
		{"inexact", false},
		{"relatedto", false},
		{"unmatched", false},
		{"disjoint", false},
	} {
		t.Run(tc.equivalence, func(t *testing.T) {
			m := terminology.NewSiteMap()
			el := `{"code": "X", "target": [{"code": "718-7", "equivalence": "` + tc.equivalence + `"}]}`
			err := m.AddConceptMap([]byte(cmap(labSystem, terminology.LOINC, goodEl+","+el)), "eq.json", siteSystems(t))
			if tc.places {
				if err != nil {
					t.Fatal(err)
				}
				if got := m.Map(lab("X")); len(got) != 1 || got[0].Code != "718-7" {
					t.Errorf("Map(X) = %v", got)
				}
				return
			}
			var te *terminology.TableError
			if !errors.As(err, &te) {
				t.Fatalf("AddConceptMap = %v, want a *TableError", err)
			}
			if !strings.Contains(err.Error(), "eq.json: group[0].element[1].target[0]: equivalence "+tc.equivalence) {
				t.Errorf("error %q does not name the target and its equivalence", err)
			}
			if m.Len() != 0 || len(m.Sources) != 0 {
				t.Errorf("a refused map added %d codes, sources %q", m.Len(), m.Sources)
			}
		})
	}
}

func TestAddConceptMapRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		data string
		want []string // each must appear in one problem; len(want) problems in all
	}{
		{"not JSON", `{"resourceType": "ConceptMap",`, []string{"cm.json: not JSON"}},
		{"a JSON array", `[` + labMap + `]`, []string{"cm.json: not JSON"}},
		{"wrong resourceType", strings.Replace(labMap, `"ConceptMap"`, `"ValueSet"`, 1), []string{`cm.json: resourceType is "ValueSet", want ConceptMap`}},
		{"no resourceType", strings.Replace(labMap, `"resourceType": "ConceptMap",`, ``, 1), []string{`cm.json: resourceType is "", want ConceptMap`}},
		{"unknown element", strings.Replace(labMap, `"status": "active",`, `"status": "active", "mappings": [],`, 1), []string{"cm.json: not a valid FHIR R4 ConceptMap"}},
		{"unknown equivalence code", cmap(labSystem, terminology.LOINC, goodEl+`,{"code": "X", "target": [{"code": "1-8", "equivalence": "same"}]}`),
			[]string{"cm.json: not a valid FHIR R4 ConceptMap"}},
		{"R5 relationship instead of equivalence", cmap(labSystem, terminology.LOINC, goodEl+`,{"code": "X", "target": [{"code": "1-8", "relationship": "equivalent"}]}`),
			[]string{"cm.json: not a valid FHIR R4 ConceptMap"}},
		{"target system unknown", cmap(labSystem, "http://other.example/lab", goodEl),
			[]string{`cm.json: group[0]: target "http://other.example/lab" is not a code system the protocol reads`}},
		{"target system an unknown OID", cmap(labSystem, "urn:oid:1.2.3.4", goodEl),
			[]string{`cm.json: group[0]: target "urn:oid:1.2.3.4" is not a code system`}},
		{"source a standard system", cmap(terminology.SNOMED, terminology.LOINC, goodEl),
			[]string{`cm.json: group[0]: source "http://snomed.info/sct" is a standard system`}},
		{"source a standard system written as its OID", cmap("urn:oid:2.16.840.1.113883.6.96", terminology.LOINC, goodEl),
			[]string{`cm.json: group[0]: source "http://snomed.info/sct" is a standard system`}},
		{"source a national ICD-10 edition", cmap("http://fhir.de/CodeSystem/bfarm/icd-10-gm", terminology.SNOMED, goodEl),
			[]string{`source "http://hl7.org/fhir/sid/icd-10" is a standard system`}},
		{"group without source", `{"resourceType": "ConceptMap", "status": "active", "group": [{"target": "http://loinc.org", "element": [` + goodEl + `]}]}`,
			[]string{"cm.json: group[0]: source and target (the code systems) are required"}},
		{"group without target", `{"resourceType": "ConceptMap", "status": "active", "group": [{"source": "` + labSystem + `", "element": [` + goodEl + `]}]}`,
			[]string{"cm.json: group[0]: source and target (the code systems) are required"}},
		{"element without target", cmap(labSystem, terminology.LOINC, goodEl+`,{"code": "X"}`),
			[]string{"cm.json: group[0].element[1]: no target"}},
		{"element without code", cmap(labSystem, terminology.LOINC, goodEl+`,{"target": [{"code": "1-8", "equivalence": "equivalent"}]}`),
			[]string{"cm.json: group[0].element[1]: code is required"}},
		{"target without code", cmap(labSystem, terminology.LOINC, goodEl+`,{"code": "X", "target": [{"equivalence": "equivalent"}]}`),
			[]string{"cm.json: group[0].element[1].target[0]: code is required"}},
		{"unmatched target without code", cmap(labSystem, terminology.LOINC, goodEl+`,{"code": "X", "target": [{"equivalence": "unmatched", "comment": "no LOINC"}]}`),
			[]string{"cm.json: group[0].element[1].target[0]: code is required"}},
		{"one good target and one narrower", cmap(labSystem, terminology.LOINC, `{"code": "X", "target": [{"code": "2345-7", "equivalence": "equivalent"}, {"code": "1-8", "equivalence": "narrower"}]}`),
			[]string{"cm.json: group[0].element[0].target[1]: equivalence narrower"}},
		{"a target that depends on another element", cmap(labSystem, terminology.LOINC, goodEl+`,{"code": "X", "target": [{"code": "2345-7", "equivalence": "equivalent",
		   "dependsOn": [{"property": "http://hospital.example/fhir/specimen", "value": "serum"}]}]}`),
			[]string{"cm.json: group[0].element[1].target[0]: dependsOn"}},
		{"unmapped", `{"resourceType": "ConceptMap", "status": "active", "group": [{"source": "` + labSystem + `", "target": "http://loinc.org",
		   "element": [` + goodEl + `], "unmapped": {"mode": "fixed", "code": "1-8"}}]}`,
			[]string{"cm.json: group[0]: unmapped is not supported"}},
		{"every problem in every group", `{"resourceType": "ConceptMap", "status": "active", "group": [
		   {"source": "` + labSystem + `", "target": "http://loinc.org", "element": [` + goodEl + `, {"code": "A"}, {"code": "B", "target": [{"code": "1-8", "equivalence": "inexact"}]}]},
		   {"source": "http://loinc.org", "target": "http://snomed.info/sct", "element": [` + goodEl + `]}]}`,
			[]string{"group[0].element[1]: no target", "group[0].element[2].target[0]: equivalence inexact", "group[1]: source"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := terminology.NewSiteMap()
			if err := m.AddConceptMap([]byte(labMap), "lab.json", siteSystems(t)); err != nil {
				t.Fatal(err)
			}
			before := m.Len()
			err := m.AddConceptMap([]byte(tc.data), "cm.json", siteSystems(t))
			var te *terminology.TableError
			if !errors.As(err, &te) {
				t.Fatalf("AddConceptMap = %v, want a *TableError", err)
			}
			if len(te.Problems) != len(tc.want) {
				t.Errorf("%d problems, want %d:\n%s", len(te.Problems), len(tc.want), err)
			}
			for _, w := range tc.want {
				if !slices.ContainsFunc(te.Problems, func(p string) bool { return strings.Contains(p, w) }) {
					t.Errorf("no problem says %q:\n%s", w, err)
				}
			}
			// nothing of the refused map is added; what was there stays
			if m.Len() != before {
				t.Errorf("Len() = %d after a refused map, want %d", m.Len(), before)
			}
			if got := m.Map(lab("GOOD")); got != nil {
				t.Errorf("the refused map's good element was added: %v", got)
			}
			if got := m.Map(lab("GLU")); len(got) != 1 {
				t.Errorf("Map(GLU) = %v after a refused map", got)
			}
			if want := []string{"http://hospital.example/fhir/ConceptMap/lab-to-loinc|2025.1"}; !slices.Equal(m.Sources, want) {
				t.Errorf("Sources = %q after a refused map", m.Sources)
			}
		})
	}
}

// A target system may be written in a site's own spelling of a known system.
func TestAddConceptMapSiteAliasTarget(t *testing.T) {
	sys, err := terminology.NewSystems(map[string]string{"LN": terminology.LOINC})
	if err != nil {
		t.Fatal(err)
	}
	m := terminology.NewSiteMap()
	if err := m.AddConceptMap([]byte(cmap(labSystem, "LN", `{"code": "K", "target": [{"code": "2823-3", "equivalence": "equivalent"}]}`)), "k.json", sys); err != nil {
		t.Fatal(err)
	}
	want := []terminology.Coding{{System: terminology.LOINC, Code: "2823-3", Via: labSystem + "|K"}}
	if got := m.Map(lab("K")); !slices.Equal(got, want) {
		t.Errorf("Map(K) = %v, want %v", got, want)
	}
	if want := []string{"http://hospital.example/fhir/ConceptMap/t"}; !slices.Equal(m.Sources, want) {
		t.Errorf("Sources = %q, want %q (url without version)", m.Sources, want)
	}
}
