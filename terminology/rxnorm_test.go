package terminology

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func importTestdata(t *testing.T, withSat bool) (*Drugs, *RxNormImport) {
	t.Helper()
	open := func(name string) *os.File {
		f, err := os.Open(filepath.Join("testdata", "rxnorm", name))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	im := &RxNormImport{Version: "RxNorm test 2025-01-06"}
	var sat *os.File
	if withSat {
		sat = open("RXNSAT.RRF")
	}
	var d *Drugs
	var err error
	if sat != nil {
		d, err = ImportRxNorm(im, open("RXNCONSO.RRF"), "RXNCONSO.RRF", open("RXNREL.RRF"), "RXNREL.RRF", sat, "RXNSAT.RRF")
	} else {
		d, err = ImportRxNorm(im, open("RXNCONSO.RRF"), "RXNCONSO.RRF", open("RXNREL.RRF"), "RXNREL.RRF", nil, "")
	}
	if err != nil {
		t.Fatal(err)
	}
	return d, im
}

func ingredientsOf(d *Drugs, system, code string) ([]string, bool) {
	ings, ok := d.Ingredients(Coding{System: system, Code: code})
	var out []string
	for _, c := range ings {
		out = append(out, c.Code)
	}
	return out, ok
}

func TestImportRxNormMapsEveryTermTypeToItsIngredient(t *testing.T) {
	d, im := importTestdata(t, true)
	bortezomib := []string{"358258"}
	for code, tty := range map[string]string{
		"358258": "IN", "356733": "BN", "1804993": "SCDC", "1804994": "SCDF", "402243": "SCD",
		"1804996": "SBDC", "1804997": "SBDF", "402244": "SBD", "1163075": "SCDG", "1187756": "SBDG",
		"99000001": "PIN", "99000004": "SCDC", "99000002": "GPCK", "99000003": "BPCK",
		"99000011": "SBD", // a combination brand's product takes its clinical drug's ingredients
	} {
		got, ok := ingredientsOf(d, RxNorm, code)
		if !ok || !slices.Equal(got, bortezomib) {
			t.Errorf("%s %s: ingredients %v (known %v), want %v", tty, code, got, ok, bortezomib)
		}
		if k, _ := keyOf(RxNorm, code); d.byCode[k].tty != tty {
			t.Errorf("%s: tty %q, want %s", code, d.byCode[k].tty, tty)
		}
	}
	if got, _ := ingredientsOf(d, RxNorm, "99000010"); !slices.Equal(got, []string{"3264", "358258"}) {
		t.Errorf("combination brand Boradex: %v, want dexamethasone and bortezomib", got)
	}
	if got, _ := ingredientsOf(d, RxNorm, "99000030"); !slices.Equal(got, []string{"3264"}) {
		t.Errorf("dexamethasone 4 MG: %v", got)
	}
	// Suppressed concepts, suppressed relationships, other sources' atoms and
	// relationships are not read.
	for _, code := range []string{"99000020", "99000021", "99000041", "99000042", "5001"} {
		if _, ok := ingredientsOf(d, RxNorm, code); ok {
			t.Errorf("%s is in the index; suppressed, other-source and dose form concepts must not be", code)
		}
	}
	// NDCs RxNorm asserts (not suppressed, SAB RXNORM), in any NDC form.
	for _, ndc := range []string{"63020004901", "63020-049-01"} {
		if got, ok := ingredientsOf(d, NDC, ndc); !ok || !slices.Equal(got, bortezomib) {
			t.Errorf("NDC %s: %v %v", ndc, got, ok)
		}
	}
	if _, ok := ingredientsOf(d, NDC, "99999000101"); ok {
		t.Error("a suppressed NDC attribute was indexed")
	}
	if im.ConsoSuppressed != 2 || im.ConsoOtherSAB != 2 || im.RelSuppressed != 2 || im.RelOtherSAB != 2 || im.NDCs != 1 {
		t.Errorf("counts: %+v", im)
	}
	if im.Concepts[ttySCD] != 1 || im.Indexed[ttySCD] != 1 || im.NoIngredientsCount != 0 {
		t.Errorf("SCD concepts %d, indexed %d, without ingredients %d %v", im.Concepts[ttySCD], im.Indexed[ttySCD], im.NoIngredientsCount, im.NoIngredients)
	}
	if d.IngredientName("358258") != "bortezomib" {
		t.Errorf("ingredient name %q", d.IngredientName("358258"))
	}
}

func TestImportRxNormIndexReadsBackAndMerges(t *testing.T) {
	d, _ := importTestdata(t, true)
	var buf bytes.Buffer
	if err := d.Write(&buf, []string{"RxNorm ingredient index (test)"}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"# version: RxNorm test 2025-01-06\n",
		"rxnorm\t402244\tSBD\tbortezomib 3.5 MG Injection [Velcade]\t358258\tRxNorm-test-2025-01-06\n",
		"ndc\t63020004901\tSBD\tbortezomib 3.5 MG Injection [Velcade]\t358258\tRxNorm-test-2025-01-06\n",
		"rxnorm\t99000010\tBN\tBoradex\t3264,358258\t",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("written table lacks %q:\n%s", want, out)
		}
	}
	back, err := ReadDrugs(strings.NewReader(out), "index.tsv")
	if err != nil {
		t.Fatal(err)
	}
	if back.Len() != d.Len() || back.Version != d.Version {
		t.Errorf("read back %d rows version %q, wrote %d %q", back.Len(), back.Version, d.Len(), d.Version)
	}
	shipped, err := Shipped()
	if err != nil {
		t.Fatal(err)
	}
	merged := Overlay(shipped.Drugs, back)
	if merged.Version != shipped.Drugs.Version+" + RxNorm test 2025-01-06" {
		t.Errorf("merged version %q", merged.Version)
	}
	if got, ok := ingredientsOf(merged, RxNorm, "99000003"); !ok || !slices.Equal(got, []string{"358258"}) {
		t.Errorf("merged table: BPCK %v %v", got, ok)
	}
	// The shipped table is unchanged.
	if _, ok := ingredientsOf(shipped.Drugs, RxNorm, "99000003"); ok {
		t.Error("Overlay changed the shipped table")
	}
	if merged.Len() < shipped.Drugs.Len() {
		t.Errorf("merged %d rows < shipped %d", merged.Len(), shipped.Drugs.Len())
	}
}

func TestImportRxNormMalformedLineNamesFileAndLine(t *testing.T) {
	good, err := os.ReadFile(filepath.Join("testdata", "rxnorm", "RXNCONSO.RRF"))
	if err != nil {
		t.Fatal(err)
	}
	rel, err := os.ReadFile(filepath.Join("testdata", "rxnorm", "RXNREL.RRF"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(good), "\n")
	for _, tc := range []struct {
		name, conso, rel, want string
	}{
		{"missing fields", lines[0] + lines[1] + "402243|ENG||||||1|1|402243||RXNORM|SCD|402243|x|\n", string(rel),
			"RXNCONSO.RRF:3: 15 fields, want 18 (RXCUI|LAT|TS|LUI|STT|SUI|ISPREF|RXAUI|SAUI|SCUI|SDUI|SAB|TTY|CODE|STR|SRL|SUPPRESS|CVF|)"},
		{"tab-separated", lines[0] + strings.ReplaceAll(lines[1], "|", "\t"), string(rel), "RXNCONSO.RRF:2: 0 fields, want 18"},
		{"bad RXCUI", "abc|ENG||||||1|1|1||RXNORM|IN|1|x||N|4096|\n", string(rel), `RXNCONSO.RRF:1: RXCUI "abc" is not an RxCUI`},
		{"no trailing bar", strings.TrimSuffix(lines[0], "|\n") + "|x\n", string(rel), "RXNCONSO.RRF:1: text after the last field's '|'"},
		{"relationship line", string(good), strings.Repeat("358258||CUI|RO|1804993||CUI|has_ingredient|1||RXNORM|RXNORM|||N||\n", 4) + "358258|CUI|RO|1804993\n", "RXNREL.RRF:5: 3 fields, want 16"},
		{"relationship RXCUI", string(good), "358258||CUI|RO|18049x3||CUI|has_ingredient|1||RXNORM|RXNORM|||N||\n", `RXNREL.RRF:1: RXCUI2 "18049x3" is not an RxCUI`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ImportRxNorm(&RxNormImport{Version: "t"}, strings.NewReader(tc.conso), "RXNCONSO.RRF", strings.NewReader(tc.rel), "RXNREL.RRF", nil, "")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to contain %q", err, tc.want)
			}
		})
	}
}
