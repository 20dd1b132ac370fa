package terminology_test

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/trialscreen/trialscreen/terminology"
)

const drugHeader = "system\tcode\ttty\tname\tingredients\tsources"

// drugTable joins rows (fields separated by "|" for legibility) under the header, after
// the comment lines. Line numbers: comments first, then the header, then the rows.
func drugTable(comments []string, rows ...string) string {
	var b strings.Builder
	for _, c := range comments {
		b.WriteString(c + "\n")
	}
	b.WriteString(drugHeader + "\n")
	for _, r := range rows {
		b.WriteString(strings.ReplaceAll(r, "|", "\t") + "\n")
	}
	return b.String()
}

// A small table in the shipped layout: two INs, a salt, a brand, a branded drug, a
// combination, an NDC and a SNOMED CT product. Test data only.
var goodDrugRows = []string{
	"rxnorm|358258|IN|bortezomib|358258|src-a",
	"rxnorm|24698|IN|fludarabine|24698|src-a",
	"rxnorm|1191|IN|aspirin|1191|src-b",
	"rxnorm|6902|IN|methylprednisolone|6902|src-b",
	"rxnorm|25102|PIN|fludarabine phosphate|24698|src-a",
	"rxnorm|356733|BN|Velcade|358258|src-a",
	"rxnorm|402244|SBD|bortezomib 3.5 MG Injection [Velcade]|358258|src-a,src-b",
	"rxnorm|245993|SCD|Aspirin 300 MG / Methylprednisolone 1.5 MG Oral Tablet|6902,1191|src-b",
	"ndc|63020004901|SBD|Velcade 3.5 MG|358258|src-c",
	"snomed|1234567|MP|bortezomib product (test)|358258|src-c",
}

func readDrugs(t *testing.T, table, name string) *terminology.Drugs {
	t.Helper()
	d, err := terminology.ReadDrugs(strings.NewReader(table), name)
	if err != nil {
		t.Fatalf("ReadDrugs(%s): %v", name, err)
	}
	return d
}

func rx(code string) terminology.Coding {
	return terminology.Coding{System: terminology.RxNorm, Code: code}
}

func ingredientCodes(ings []terminology.Coding) []string {
	out := make([]string, len(ings))
	for i, c := range ings {
		out[i] = c.Code
	}
	return out
}

func TestReadDrugsGoodTable(t *testing.T) {
	table := drugTable([]string{"# test drug table", "#   version:  2026-01-02.3  ", "# source src-a = somewhere"}, goodDrugRows...)
	d := readDrugs(t, table, "drugs.tsv")
	if d.Version != "2026-01-02.3" {
		t.Errorf("Version = %q, want 2026-01-02.3", d.Version)
	}
	if d.Len() != len(goodDrugRows) {
		t.Errorf("Len() = %d, want %d", d.Len(), len(goodDrugRows))
	}
	for rxcui, want := range map[string]string{"358258": "bortezomib", "24698": "fludarabine", "402244": "", "25102": "", "999": ""} {
		if got := d.IngredientName(rxcui); got != want {
			t.Errorf("IngredientName(%s) = %q, want %q", rxcui, got, want)
		}
	}

	t.Run("no version comment leaves Version empty", func(t *testing.T) {
		d := readDrugs(t, drugTable([]string{"# versions differ"}, goodDrugRows...), "drugs.tsv")
		if d.Version != "" {
			t.Errorf("Version = %q, want empty", d.Version)
		}
	})
	t.Run("CRLF line ends and blank lines are read", func(t *testing.T) {
		crlf := strings.ReplaceAll(drugTable(nil, goodDrugRows...), "\n", "\r\n\r\n")
		d := readDrugs(t, crlf, "drugs.tsv")
		if d.Len() != len(goodDrugRows) {
			t.Errorf("Len() = %d, want %d", d.Len(), len(goodDrugRows))
		}
		if ings, ok := d.Ingredients(rx("402244")); !ok || !slices.Equal(ingredientCodes(ings), []string{"358258"}) {
			t.Errorf("Ingredients(402244) = %v, %v", ings, ok)
		}
	})
	t.Run("a header alone is an empty table", func(t *testing.T) {
		d := readDrugs(t, drugTable(nil), "drugs.tsv")
		if d.Len() != 0 {
			t.Errorf("Len() = %d, want 0", d.Len())
		}
	})
}

// Every kind of malformed row is reported as a *TableError naming file:line.
func TestReadDrugsProblems(t *testing.T) {
	in := "rxnorm|358258|IN|bortezomib|358258|src-a"
	for _, tc := range []struct {
		name  string
		table string
		want  []string // each must appear in one problem; len(want) problems in all
	}{
		{"wrong header", "# c\nsystem\tcode\tname\n" + strings.ReplaceAll(in, "|", "\t") + "\n",
			[]string{"drugs.tsv:2: the header must be"}},
		{"no header at all", "# only comments\n\n# and more\n", []string{"drugs.tsv: no header line"}},
		{"five fields", drugTable([]string{"# c"}, in, "rxnorm|402244|SBD|bortezomib 3.5 MG Injection [Velcade]|358258"),
			[]string{"drugs.tsv:4: 5 fields, want 6"}},
		{"seven fields", drugTable(nil, in, "rxnorm|402244|SBD|x|358258|src-a|extra"),
			[]string{"drugs.tsv:3: 7 fields, want 6"}},
		{"unknown system", drugTable(nil, in, "loinc|2345-7|X|glucose|358258|src-a"),
			[]string{`drugs.tsv:3: system "loinc" is not rxnorm, ndc or snomed`}},
		{"system written as its URI", drugTable(nil, in, terminology.RxNorm+"|402244|SBD|x|358258|src-a"),
			[]string{"drugs.tsv:3: system"}},
		{"non-digit RxNorm code", drugTable(nil, in, "rxnorm|40224A|SBD|x|358258|src-a"),
			[]string{`drugs.tsv:3: code "40224A" is not a rxnorm code`}},
		{"empty code", drugTable(nil, in, "rxnorm||SBD|x|358258|src-a"),
			[]string{`drugs.tsv:3: code "" is not a rxnorm code`}},
		{"NDC of 10 digits", drugTable(nil, in, "ndc|6302004901|SBD|x|358258|src-a"),
			[]string{`drugs.tsv:3: code "6302004901" is not a ndc code`}},
		{"NDC hyphenated", drugTable(nil, in, "ndc|63020-0049-01|SBD|x|358258|src-a"),
			[]string{`drugs.tsv:3: code "63020-0049-01" is not a ndc code`}},
		{"non-digit SNOMED CT code", drugTable(nil, in, "snomed|12345x|MP|x|358258|src-a"),
			[]string{`drugs.tsv:3: code "12345x" is not a snomed code`}},
		{"ingredient not an RxCUI", drugTable(nil, in, "rxnorm|402244|SBD|x|bortezomib|src-a"),
			[]string{`drugs.tsv:3: ingredient "bortezomib" is not an RxCUI`}},
		{"empty ingredients", drugTable(nil, in, "rxnorm|402244|SBD|x||src-a"),
			[]string{`drugs.tsv:3: ingredient "" is not an RxCUI`}},
		{"ingredients with a space after the comma", drugTable(nil, in, "rxnorm|1191|IN|aspirin|1191|s", "rxnorm|245993|SCD|x|358258, 1191|src-a"),
			[]string{`drugs.tsv:4: ingredient " 1191" is not an RxCUI`}},
		{"empty sources", drugTable(nil, in, "rxnorm|402244|SBD|x|358258|"),
			[]string{"drugs.tsv:3: sources is empty"}},
		{"blank sources", drugTable(nil, in, "rxnorm|402244|SBD|x|358258|  "),
			[]string{"drugs.tsv:3: sources is empty"}},
		{"ingredient with no row", drugTable(nil, in, "rxnorm|402244|SBD|x|358258,24698|src-a"),
			[]string{"drugs.tsv:3: ingredient 24698 has no IN row of its own"}},
		{"ingredient whose row is not an IN", drugTable(nil, in, "rxnorm|25102|PIN|fludarabine phosphate|24698|src-a", "rxnorm|828706|SCD|x|24698|src-a"),
			[]string{"drugs.tsv:3: ingredient 24698 has no IN row", "drugs.tsv:4: ingredient 24698 has no IN row"}},
		{"every problem is reported", drugTable([]string{"# c"}, in, "xx|1|IN|a|1|s", "rxnorm|402244|SBD|x|358258|", "rxnorm|1|IN"),
			[]string{"drugs.tsv:4: system", "drugs.tsv:5: sources is empty", "drugs.tsv:6: 3 fields"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := terminology.ReadDrugs(strings.NewReader(tc.table), "drugs.tsv")
			if d != nil {
				t.Errorf("ReadDrugs returned a table with its error")
			}
			var te *terminology.TableError
			if !errors.As(err, &te) {
				t.Fatalf("ReadDrugs = %v, want a *TableError", err)
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

func TestIngredients(t *testing.T) {
	d := readDrugs(t, drugTable(nil, goodDrugRows...), "drugs.tsv")
	ndc := func(code string) terminology.Coding { return terminology.Coding{System: terminology.NDC, Code: code} }
	for _, tc := range []struct {
		name   string
		c      terminology.Coding
		want   []string // ingredient RxCUIs, sorted
		placed bool
	}{
		{"RxNorm SBD to its IN", rx("402244"), []string{"358258"}, true},
		{"RxNorm brand to its IN", rx("356733"), []string{"358258"}, true},
		{"RxNorm salt (PIN) to its base IN", rx("25102"), []string{"24698"}, true},
		{"RxNorm IN to itself", rx("358258"), []string{"358258"}, true},
		{"combination to both INs, sorted", rx("245993"), []string{"1191", "6902"}, true},
		{"a Via on the record's coding does not matter", terminology.Coding{System: terminology.RxNorm, Code: "402244", Via: "urn:oid:2.16.840.1.113883.6.88|402244"}, []string{"358258"}, true},
		{"SNOMED CT product", terminology.Coding{System: terminology.SNOMED, Code: "1234567"}, []string{"358258"}, true},
		{"NDC 11 digits", ndc("63020004901"), []string{"358258"}, true},
		{"NDC 5-3-2 hyphenated", ndc("63020-049-01"), []string{"358258"}, true},
		{"NDC 5-4-2 hyphenated", ndc("63020-0049-01"), []string{"358258"}, true},
		{"NDC unhyphenated 10 digits, one reading in the table", ndc("6302004901"), []string{"358258"}, true},
		{"unknown RxCUI", rx("999999"), nil, false},
		{"unknown NDC", ndc("12345678901"), nil, false},
		{"garbage NDC", ndc("Velcade"), nil, false},
		{"RxNorm code under an alias is not canonical", terminology.Coding{System: "urn:oid:2.16.840.1.113883.6.88", Code: "402244"}, nil, false},
		{"a code under a system that names no drugs", terminology.Coding{System: terminology.LOINC, Code: "402244"}, nil, false},
		{"the NDC number under RxNorm", rx("63020004901"), nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ings, ok := d.Ingredients(tc.c)
			if ok != tc.placed {
				t.Fatalf("Ingredients(%s) placed = %v, want %v", tc.c.Key(), ok, tc.placed)
			}
			if !slices.Equal(ingredientCodes(ings), tc.want) {
				t.Errorf("Ingredients(%s) = %v, want %v", tc.c.Key(), ingredientCodes(ings), tc.want)
			}
			for _, in := range ings {
				if in.System != terminology.RxNorm {
					t.Errorf("ingredient %v is not an RxNorm coding", in)
				}
				if in.Via != tc.c.Key() {
					t.Errorf("ingredient %s Via = %q, want the product %q", in.Code, in.Via, tc.c.Key())
				}
			}
		})
	}

	t.Run("the result is the caller's to change", func(t *testing.T) {
		ings, _ := d.Ingredients(rx("245993"))
		ings[0].Code = "changed"
		again, _ := d.Ingredients(rx("245993"))
		if !slices.Equal(ingredientCodes(again), []string{"1191", "6902"}) {
			t.Errorf("changing a result changed the table: %v", again)
		}
	})
}

// An unhyphenated 10-digit NDC is placed only when exactly one of its 11-digit readings
// is in the table.
func TestIngredientsAmbiguousNDC(t *testing.T) {
	base := []string{"rxnorm|358258|IN|bortezomib|358258|s", "rxnorm|24698|IN|fludarabine|24698|s"}
	for _, tc := range []struct {
		name   string
		rows   []string
		code   string
		want   []string
		placed bool
	}{
		{"4-4-2 reading only", []string{"ndc|00078041201|SBD|x|358258|s"}, "0078041201", []string{"358258"}, true},
		{"5-3-2 reading only", []string{"ndc|00780041201|SBD|x|24698|s"}, "0078041201", []string{"24698"}, true},
		{"5-4-1 reading only", []string{"ndc|00780412001|SBD|x|24698|s"}, "0078041201", []string{"24698"}, true},
		{"two readings in the table", []string{"ndc|00078041201|SBD|x|358258|s", "ndc|00780041201|SBD|x|24698|s"}, "0078041201", nil, false},
		{"two readings with the same ingredient are still ambiguous", []string{"ndc|00078041201|SBD|x|358258|s", "ndc|00780412001|SBD|y|358258|s"}, "0078041201", nil, false},
		{"no reading in the table", []string{"ndc|11111111111|SBD|x|358258|s"}, "0078041201", nil, false},
		{"readings that coincide are one reading", []string{"ndc|50242000006|SBD|x|358258|s"}, "5024200006", []string{"358258"}, true},
		{"hyphens decide: 4-4-2 written so is placed beside a 5-3-2 row", []string{"ndc|00078041201|SBD|x|358258|s", "ndc|00780041201|SBD|x|24698|s"}, "0078-0412-01", []string{"358258"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := readDrugs(t, drugTable(nil, append(slices.Clone(base), tc.rows...)...), "drugs.tsv")
			c := terminology.Coding{System: terminology.NDC, Code: tc.code}
			ings, ok := d.Ingredients(c)
			if ok != tc.placed || !slices.Equal(ingredientCodes(ings), tc.want) {
				t.Errorf("Ingredients(NDC %s) = %v, %v; want %v, %v", tc.code, ingredientCodes(ings), ok, tc.want, tc.placed)
			}
		})
	}
}

func TestDrugsMerge(t *testing.T) {
	a := readDrugs(t, drugTable([]string{"# version: shipped-1"},
		"rxnorm|358258|IN|bortezomib|358258|s",
		"rxnorm|402244|SBD|bortezomib 3.5 MG Injection [Velcade]|358258|s",
	), "a.tsv")
	b := readDrugs(t, drugTable([]string{"# version: import-2"},
		"rxnorm|1191|IN|aspirin|1191|s",
		"rxnorm|358258|IN|bortezomib|358258|s",
		// the same code with one more ingredient (test data): the union is kept
		"rxnorm|402244|SBD|x|1191,358258|s",
		"ndc|63020004901|SBD|Velcade|358258|s",
	), "b.tsv")
	a.Merge(b)
	if a.Version != "shipped-1 + import-2" {
		t.Errorf("Version = %q", a.Version)
	}
	if a.Len() != 4 {
		t.Errorf("Len() = %d, want 4", a.Len())
	}
	for _, tc := range []struct {
		name string
		c    terminology.Coding
		want []string
	}{
		{"ingredients of a code in both are united", rx("402244"), []string{"1191", "358258"}},
		{"a code only in the merged table", terminology.Coding{System: terminology.NDC, Code: "63020004901"}, []string{"358258"}},
		{"an IN in both is listed once", rx("358258"), []string{"358258"}},
		{"an IN only in the merged table", rx("1191"), []string{"1191"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ings, ok := a.Ingredients(tc.c)
			if !ok || !slices.Equal(ingredientCodes(ings), tc.want) {
				t.Errorf("Ingredients(%s) = %v, %v; want %v", tc.c.Key(), ingredientCodes(ings), ok, tc.want)
			}
		})
	}
	if got := a.IngredientName("1191"); got != "aspirin" {
		t.Errorf("IngredientName(1191) = %q after Merge", got)
	}
	t.Run("the merged table is unchanged", func(t *testing.T) {
		ings, _ := b.Ingredients(rx("402244"))
		if !slices.Equal(ingredientCodes(ings), []string{"1191", "358258"}) || b.Version != "import-2" || b.Len() != 4 {
			t.Errorf("b changed: %v, %q, %d", ings, b.Version, b.Len())
		}
	})
	t.Run("into an empty table the version is the merged one's", func(t *testing.T) {
		e := terminology.NewDrugs()
		e.Merge(b)
		if e.Version != "import-2" || e.Len() != b.Len() {
			t.Errorf("Version %q, Len %d", e.Version, e.Len())
		}
	})
}

// Write writes what ReadDrugs reads: a table read back places every code as before.
func TestDrugsWriteRoundTrip(t *testing.T) {
	d := readDrugs(t, drugTable([]string{"# version: 2026-01-02.3"}, goodDrugRows...), "drugs.tsv")
	var buf bytes.Buffer
	if err := d.Write(&buf, []string{"written by a test", "second comment"}); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(buf.String(), "# written by a test\n# second comment\n") {
		t.Errorf("comments are not written first:\n%s", buf.String())
	}
	back := readDrugs(t, buf.String(), "written.tsv")
	if back.Version != d.Version || back.Len() != d.Len() {
		t.Errorf("read back: Version %q Len %d, want %q %d", back.Version, back.Len(), d.Version, d.Len())
	}
	for _, row := range goodDrugRows {
		f := strings.Split(row, "|")
		sys := map[string]string{"rxnorm": terminology.RxNorm, "ndc": terminology.NDC, "snomed": terminology.SNOMED}[f[0]]
		c := terminology.Coding{System: sys, Code: f[1]}
		want, _ := d.Ingredients(c)
		got, ok := back.Ingredients(c)
		if !ok || !slices.Equal(got, want) {
			t.Errorf("%s: read back %v, %v; want %v", c.Key(), got, ok, want)
		}
	}
	for _, in := range []string{"358258", "24698", "1191", "6902"} {
		if back.IngredientName(in) != d.IngredientName(in) {
			t.Errorf("IngredientName(%s) = %q, want %q", in, back.IngredientName(in), d.IngredientName(in))
		}
	}
	var again bytes.Buffer
	if err := back.Write(&again, []string{"written by a test", "second comment"}); err != nil {
		t.Fatal(err)
	}
	if again.String() != buf.String() {
		t.Errorf("a second write differs:\n%s\n---\n%s", buf.String(), again.String())
	}
	t.Run("rows are sorted by system URI, then code (numerically)", func(t *testing.T) {
		lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
		i := slices.Index(lines, drugHeader)
		if i < 0 {
			t.Fatalf("no header written:\n%s", buf.String())
		}
		rows := lines[i+1:]
		if len(rows) != d.Len() {
			t.Fatalf("%d rows written, want %d", len(rows), d.Len())
		}
		uri := map[string]string{"rxnorm": terminology.RxNorm, "ndc": terminology.NDC, "snomed": terminology.SNOMED}
		sorted := slices.IsSortedFunc(rows, func(a, b string) int {
			fa, fb := strings.Split(a, "\t"), strings.Split(b, "\t")
			if c := strings.Compare(uri[fa[0]], uri[fb[0]]); c != 0 {
				return c
			}
			// Codes sort numerically, as people read RxCUIs.
			if c := len(fa[1]) - len(fb[1]); c != 0 {
				return c
			}
			return strings.Compare(fa[1], fb[1])
		})
		if !sorted {
			t.Errorf("rows are not sorted:\n%s", strings.Join(rows, "\n"))
		}
	})
}
