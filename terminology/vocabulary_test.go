package terminology_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/trialscreen/trialscreen/terminology"
)

func shipped(t *testing.T) *terminology.Vocabulary {
	t.Helper()
	v, err := terminology.Shipped()
	if err != nil {
		t.Fatalf("Shipped(): %v", err)
	}
	return v
}

func TestShippedLoads(t *testing.T) {
	v := shipped(t)
	if v.Systems == nil || v.Drugs == nil || v.ValueSets == nil || v.Site == nil {
		t.Fatalf("Shipped() is incomplete: %+v", v)
	}
	if v.Expansion != "shipped" {
		t.Errorf("Expansion = %q, want shipped", v.Expansion)
	}
	if v.Site.Len() != 0 || len(v.Site.Sources) != 0 {
		t.Errorf("the shipped vocabulary has site mappings: %d, %q", v.Site.Len(), v.Site.Sources)
	}
	if v2 := shipped(t); v2 != v {
		t.Errorf("Shipped() is read again on a second call")
	}

	t.Run("concurrent callers share one vocabulary", func(t *testing.T) {
		var wg sync.WaitGroup
		got := make([]*terminology.Vocabulary, 8)
		for i := range got {
			wg.Go(func() { got[i], _ = terminology.Shipped() })
		}
		wg.Wait()
		for i, g := range got {
			if g != v {
				t.Errorf("caller %d got another vocabulary", i)
			}
		}
	})

	t.Run("the drug table's version and rows are the file's", func(t *testing.T) {
		data, err := os.ReadFile("data/drugs.tsv")
		if err != nil {
			t.Fatal(err)
		}
		version, rows := "", 0
		header := false
		sc := bufio.NewScanner(bytes.NewReader(data))
		for sc.Scan() {
			l := sc.Text()
			switch {
			case strings.HasPrefix(l, "# version:"):
				version = strings.TrimSpace(strings.TrimPrefix(l, "# version:"))
			case strings.HasPrefix(l, "#") || l == "":
			case !header:
				header = true
			default:
				rows++
			}
		}
		if version == "" || v.Drugs.Version != version {
			t.Errorf("Drugs.Version = %q, the file says %q", v.Drugs.Version, version)
		}
		// every row is a distinct code
		if rows == 0 || v.Drugs.Len() != rows {
			t.Errorf("Drugs.Len() = %d, the file has %d rows", v.Drugs.Len(), rows)
		}
	})

	t.Run("the shipped systems resolve OIDs", func(t *testing.T) {
		if got := v.Systems.Canonical("urn:oid:2.16.840.1.113883.6.96"); got != terminology.SNOMED {
			t.Errorf("Canonical(SNOMED OID) = %q", got)
		}
	})
}

// Rows the shipped table really has (data/drugs.tsv), by term type.
func TestShippedDrugs(t *testing.T) {
	d := shipped(t).Drugs
	for _, tc := range []struct {
		name  string
		rxcui string
		want  []string
	}{
		{"SBD bortezomib 3.5 MG Injection [Velcade]", "402244", []string{"358258"}},
		{"BN Velcade", "356733", []string{"358258"}},
		{"SBDG Velcade Injectable Product", "1187756", []string{"358258"}},
		{"SCD bortezomib 2.5 MG Injection", "2601544", []string{"358258"}},
		{"IN bortezomib", "358258", []string{"358258"}},
		{"SCD fludarabine phosphate 50 MG Injection", "1740864", []string{"24698"}},
		{"SCD 2 ML fludarabine phosphate 25 MG/ML Injection", "1740865", []string{"24698"}},
		{"PIN fludarabine phosphate", "25102", []string{"24698"}},
		{"SCD aspirin / methylprednisolone tablet", "245993", []string{"1191", "6902"}},
		{"MIN aspirin / methylprednisolone", "1008080", []string{"1191", "6902"}},
		{"IN rituximab-abbs (biosimilar lists rituximab too)", "2105824", []string{"121191", "2105824"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := terminology.Coding{System: terminology.RxNorm, Code: tc.rxcui}
			ings, ok := d.Ingredients(c)
			if !ok || !slices.Equal(ingredientCodes(ings), tc.want) {
				t.Errorf("Ingredients(%s) = %v, %v; want %v", tc.rxcui, ingredientCodes(ings), ok, tc.want)
			}
			for _, in := range ings {
				if in.Via != c.Key() {
					t.Errorf("ingredient %s Via = %q, want %q", in.Code, in.Via, c.Key())
				}
			}
		})
	}
	for rxcui, name := range map[string]string{"358258": "bortezomib", "24698": "fludarabine", "1191": "Aspirin", "121191": "rituximab"} {
		if got := d.IngredientName(rxcui); got != name {
			t.Errorf("IngredientName(%s) = %q, want %q", rxcui, got, name)
		}
	}
	if _, ok := d.Ingredients(terminology.Coding{System: terminology.RxNorm, Code: "1"}); ok {
		t.Errorf("RxCUI 1 is placed")
	}

	t.Run("the shipped table round-trips through Write", func(t *testing.T) {
		var buf bytes.Buffer
		if err := d.Write(&buf, []string{"round trip"}); err != nil {
			t.Fatal(err)
		}
		back, err := terminology.ReadDrugs(&buf, "written.tsv")
		if err != nil {
			t.Fatal(err)
		}
		if back.Len() != d.Len() || back.Version != d.Version {
			t.Errorf("read back Len %d Version %q, want %d %q", back.Len(), back.Version, d.Len(), d.Version)
		}
		ings, ok := back.Ingredients(terminology.Coding{System: terminology.RxNorm, Code: "245993"})
		if !ok || !slices.Equal(ingredientCodes(ings), []string{"1191", "6902"}) {
			t.Errorf("read back 245993 = %v, %v", ings, ok)
		}
	})
}

func TestShippedValueSets(t *testing.T) {
	v := shipped(t)
	files, err := fs.Glob(os.DirFS("data/valuesets"), "*.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no value set files in data/valuesets")
	}
	ids := map[string]string{}
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			data, err := os.ReadFile("data/valuesets/" + f)
			if err != nil {
				t.Fatal(err)
			}
			var head struct{ ID string }
			if err := json.Unmarshal(data, &head); err != nil {
				t.Fatal(err)
			}
			if other, dup := ids[head.ID]; dup {
				t.Errorf("id %q is given by %s too", head.ID, other)
			}
			ids[head.ID] = f
			vs := v.ValueSets[head.ID]
			if vs == nil {
				t.Fatalf("value set %q of %s is not loaded", head.ID, f)
			}
			if vs.Source == "" || len(vs.Codes) == 0 {
				t.Errorf("%s loaded without source or codes", f)
			}
		})
	}
	if len(v.ValueSets) != len(files) {
		t.Errorf("%d value sets loaded from %d files", len(v.ValueSets), len(files))
	}
}

// Every value set a protocol codeset names (valuesets:) is shipped.
func TestProtocolValueSetsAreShipped(t *testing.T) {
	v := shipped(t)
	data, err := os.ReadFile("../protocols/anti-bcma-cart-rrmm.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var pf struct {
		Codesets map[string]struct {
			ValueSets []string `yaml:"valuesets"`
		} `yaml:"codesets"`
	}
	if err := yaml.Unmarshal(data, &pf); err != nil {
		t.Fatal(err)
	}
	named := 0
	for name, cs := range pf.Codesets {
		for _, id := range cs.ValueSets {
			named++
			if _, ok := v.ValueSets[id]; !ok {
				t.Errorf("codesets.%s names value set %q, which is not shipped", name, id)
			}
		}
	}
	if len(pf.Codesets) == 0 || named == 0 {
		t.Fatalf("read %d codesets naming %d value sets: the protocol file was not read as expected", len(pf.Codesets), named)
	}
}

func TestWithIsAnIndependentCopy(t *testing.T) {
	v := shipped(t)
	shippedDrugs, shippedVersion, shippedVS := v.Drugs.Len(), v.Drugs.Version, len(v.ValueSets)
	const siteICD = "urn:oid:1.2.156.112604.1.2.40"

	c := v.With()
	if c == v || c.Systems == v.Systems || c.Drugs == v.Drugs || c.Site == v.Site {
		t.Fatal("With() shares its parts with the original")
	}
	t.Run("the copy knows what the original knows", func(t *testing.T) {
		if got := c.Systems.Canonical("urn:oid:2.16.840.1.113883.6.1"); got != terminology.LOINC {
			t.Errorf("copy: Canonical(LOINC OID) = %q", got)
		}
		if c.Drugs.Len() != shippedDrugs || c.Drugs.Version != shippedVersion {
			t.Errorf("copy: Drugs Len %d Version %q, want %d %q", c.Drugs.Len(), c.Drugs.Version, shippedDrugs, shippedVersion)
		}
		if ings, ok := c.Drugs.Ingredients(terminology.Coding{System: terminology.RxNorm, Code: "402244"}); !ok || len(ings) != 1 || ings[0].Code != "358258" {
			t.Errorf("copy: Ingredients(402244) = %v, %v", ings, ok)
		}
		if c.Drugs.IngredientName("358258") != "bortezomib" {
			t.Errorf("copy: IngredientName(358258) = %q", c.Drugs.IngredientName("358258"))
		}
		if len(c.ValueSets) != shippedVS || c.Expansion != v.Expansion {
			t.Errorf("copy: %d value sets, expansion %q", len(c.ValueSets), c.Expansion)
		}
	})

	// Extend the copy every way a site does.
	if err := c.Systems.Add(siteICD, terminology.ICD10); err != nil {
		t.Fatal(err)
	}
	if err := c.Site.AddConceptMap([]byte(labMap), "lab.json", c.Systems); err != nil {
		t.Fatal(err)
	}
	imported := readDrugs(t, drugTable([]string{"# version: import-1"},
		"rxnorm|358258|IN|bortezomib|358258|s",
		"rxnorm|1191|IN|aspirin|1191|s",
		"rxnorm|402244|SBD|test row|1191|s",
		"ndc|63020004901|SBD|Velcade|358258|s",
	), "import.tsv")
	c.Drugs.Merge(imported)
	c.ValueSets["site-only"] = &terminology.ValueSet{ID: "site-only"}
	delete(c.ValueSets, "myeloma")

	t.Run("the original is unchanged", func(t *testing.T) {
		if got := v.Systems.Canonical(siteICD); got != siteICD {
			t.Errorf("original: Canonical(site alias) = %q", got)
		}
		if v.Site.Len() != 0 || len(v.Site.Sources) != 0 || v.Site.Map(lab("GLU")) != nil {
			t.Errorf("original: site map has %d codes, sources %q", v.Site.Len(), v.Site.Sources)
		}
		if v.Drugs.Len() != shippedDrugs || v.Drugs.Version != shippedVersion {
			t.Errorf("original: Drugs Len %d Version %q, want %d %q", v.Drugs.Len(), v.Drugs.Version, shippedDrugs, shippedVersion)
		}
		if ings, _ := v.Drugs.Ingredients(terminology.Coding{System: terminology.RxNorm, Code: "402244"}); !slices.Equal(ingredientCodes(ings), []string{"358258"}) {
			t.Errorf("original: Ingredients(402244) = %v", ingredientCodes(ings))
		}
		if _, ok := v.Drugs.Ingredients(terminology.Coding{System: terminology.NDC, Code: "63020004901"}); ok {
			t.Errorf("original: the imported NDC is placed")
		}
		if len(v.ValueSets) != shippedVS || v.ValueSets["site-only"] != nil || v.ValueSets["myeloma"] == nil {
			t.Errorf("original: value sets changed (%d)", len(v.ValueSets))
		}
		if again := shipped(t); again != v {
			t.Errorf("Shipped() changed")
		}
	})
	t.Run("the copy has what was added", func(t *testing.T) {
		if got := c.Systems.Canonical(siteICD); got != terminology.ICD10 {
			t.Errorf("copy: Canonical(site alias) = %q", got)
		}
		if got := c.Site.Map(lab("HGB")); len(got) != 1 || got[0].Code != "718-7" {
			t.Errorf("copy: Map(HGB) = %v", got)
		}
		if ings, _ := c.Drugs.Ingredients(terminology.Coding{System: terminology.RxNorm, Code: "402244"}); !slices.Equal(ingredientCodes(ings), []string{"1191", "358258"}) {
			t.Errorf("copy: Ingredients(402244) = %v", ingredientCodes(ings))
		}
	})

	t.Run("a copy of a copy does not share site mappings", func(t *testing.T) {
		cc := c.With()
		more := `{"resourceType": "ConceptMap", "url": "http://hospital.example/more", "status": "active", "group": [{"source": "` + labSystem + `", "target": "http://snomed.info/sct",
		  "element": [{"code": "GLU", "target": [{"code": "33747003", "equivalence": "wider"}]}]}]}`
		if err := cc.Site.AddConceptMap([]byte(more), "more.json", cc.Systems); err != nil {
			t.Fatal(err)
		}
		if got := cc.Site.Map(lab("GLU")); len(got) != 2 {
			t.Errorf("copy of copy: Map(GLU) = %v, want 2 targets", got)
		}
		if got := c.Site.Map(lab("GLU")); len(got) != 1 || got[0].Code != "2345-7" {
			t.Errorf("copy: Map(GLU) = %v after its copy added a target", got)
		}
		if len(c.Site.Sources) != 1 || len(cc.Site.Sources) != 2 {
			t.Errorf("sources: copy %q, copy of copy %q", c.Site.Sources, cc.Site.Sources)
		}
		// mappings gathered from several maps: appending to either side after With must
		// not show in the other
		for i, code := range []string{"1-8", "2-6", "3-4"} {
			m := `{"resourceType": "ConceptMap", "status": "active", "group": [{"source": "` + labSystem + `", "target": "http://loinc.org",
			  "element": [{"code": "MULTI", "target": [{"code": "` + code + `", "equivalence": "equivalent"}]}]}]}`
			if err := cc.Site.AddConceptMap([]byte(m), "multi.json", cc.Systems); err != nil {
				t.Fatalf("map %d: %v", i, err)
			}
		}
		c3 := cc.With()
		add := func(v *terminology.Vocabulary, code string) {
			m := `{"resourceType": "ConceptMap", "status": "active", "group": [{"source": "` + labSystem + `", "target": "http://loinc.org",
			  "element": [{"code": "MULTI", "target": [{"code": "` + code + `", "equivalence": "equivalent"}]}]}]}`
			if err := v.Site.AddConceptMap([]byte(m), "one.json", v.Systems); err != nil {
				t.Fatal(err)
			}
		}
		add(c3, "4-2")
		add(cc, "5-9")
		codes := func(cs []terminology.Coding) []string { return ingredientCodes(cs) }
		if got, want := codes(c3.Site.Map(lab("MULTI"))), []string{"1-8", "2-6", "3-4", "4-2"}; !slices.Equal(got, want) {
			t.Errorf("copy: Map(MULTI) = %v, want %v", got, want)
		}
		if got, want := codes(cc.Site.Map(lab("MULTI"))), []string{"1-8", "2-6", "3-4", "5-9"}; !slices.Equal(got, want) {
			t.Errorf("original: Map(MULTI) = %v, want %v", got, want)
		}
		if cc.Drugs.Version != c.Drugs.Version {
			t.Errorf("copy of copy: Drugs.Version %q, want %q", cc.Drugs.Version, c.Drugs.Version)
		}
	})
}
