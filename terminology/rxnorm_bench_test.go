package terminology

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// synthRRF writes a synthetic RxNorm release of a full release's size into dir: drug
// families (an IN with its brand, dose form and group concepts and four strengths of
// clinical and branded components and drugs, some packs and precise ingredients), each
// concept with synonym atoms, atoms of other sources, both directions of every
// relationship, and relationships the importer does not read, until RXNCONSO has about
// consoRows rows and RXNREL about relRows.
func synthRRF(tb testing.TB, dir string, consoRows, relRows int) (conso, rel string) {
	tb.Helper()
	conso, rel = filepath.Join(dir, "RXNCONSO.RRF"), filepath.Join(dir, "RXNREL.RRF")
	cf, err := os.Create(conso)
	if err != nil {
		tb.Fatal(err)
	}
	rf, err := os.Create(rel)
	if err != nil {
		tb.Fatal(err)
	}
	cw, rw := bufio.NewWriterSize(cf, 1<<20), bufio.NewWriterSize(rf, 1<<20)
	nc, nr := 0, 0
	aui, rui := 1000000, 5000000
	atom := func(cui int, sab, tty, str string) {
		aui++
		code := fmt.Sprint(cui)
		if sab != "RXNORM" {
			code = fmt.Sprintf("%s%07d", sab[:2], aui)
		}
		fmt.Fprintf(cw, "%d|ENG||||||%d|%d|%s||%s|%s|%s|%s||N|4096|\n", cui, aui, aui, code, sab, tty, code, str)
		nc++
	}
	link := func(prod int, rela, inverse string, src int, sab string) {
		rui++
		fmt.Fprintf(rw, "%d||CUI|RO|%d||CUI|%s|%d||%s|%s|||N||\n", src, prod, rela, rui, sab, sab)
		rui++
		fmt.Fprintf(rw, "%d||CUI|RO|%d||CUI|%s|%d||%s|%s|||N||\n", prod, src, inverse, rui, sab, sab)
		nr += 2
	}
	cui := 100
	next := func() int { cui++; return cui }
	doseForm := next()
	atom(doseForm, "RXNORM", "DF", "Oral Tablet")
	for fam := 0; nc < consoRows; fam++ {
		in, bn, scdf, scdg, sbdf, sbdg := next(), next(), next(), next(), next(), next()
		name := fmt.Sprintf("drug%05d", fam)
		atom(in, "RXNORM", "IN", name)
		atom(in, "MTHSPL", "SU", name)
		atom(bn, "RXNORM", "BN", "Brand"+name)
		atom(scdf, "RXNORM", "SCDF", name+" Oral Tablet")
		atom(scdg, "RXNORM", "SCDG", name+" Oral Product")
		atom(sbdf, "RXNORM", "SBDF", name+" Oral Tablet [Brand"+name+"]")
		atom(sbdg, "RXNORM", "SBDG", "Brand"+name+" Oral Product")
		link(bn, "tradename_of", "has_tradename", in, "RXNORM")
		link(scdf, "has_ingredient", "ingredient_of", in, "RXNORM")
		link(scdg, "has_ingredient", "ingredient_of", in, "RXNORM")
		link(sbdf, "tradename_of", "has_tradename", scdf, "RXNORM")
		link(sbdf, "has_ingredient", "ingredient_of", bn, "RXNORM")
		link(sbdg, "tradename_of", "has_tradename", scdg, "RXNORM")
		link(sbdg, "has_ingredient", "ingredient_of", bn, "RXNORM")
		pin := 0
		if fam%3 == 0 {
			pin = next()
			atom(pin, "RXNORM", "PIN", name+" hydrochloride")
			link(pin, "form_of", "has_form", in, "RXNORM")
		}
		var scds, sbds []int
		for s := 1; s <= 4; s++ {
			strength := fmt.Sprintf("%s %d MG", name, 5*s)
			scdc, sbdc, scd, sbd := next(), next(), next(), next()
			atom(scdc, "RXNORM", "SCDC", strength)
			atom(sbdc, "RXNORM", "SBDC", strength+" [Brand"+name+"]")
			atom(scd, "RXNORM", "SCD", strength+" Oral Tablet")
			atom(scd, "RXNORM", "PSN", strength+" oral tablet")
			atom(scd, "RXNORM", "SY", name+" "+fmt.Sprint(5*s)+"mg tab")
			atom(scd, "VANDF", "CD", "DRUG"+name+" TAB")
			atom(scd, "MMSL", "CD", name+" tablet")
			atom(sbd, "RXNORM", "SBD", strength+" Oral Tablet [Brand"+name+"]")
			atom(sbd, "RXNORM", "PSN", "Brand"+name+" "+fmt.Sprint(5*s)+" MG oral tablet")
			atom(sbd, "MMSL", "BD", "Brand"+name+" tablet")
			link(scdc, "has_ingredient", "ingredient_of", in, "RXNORM")
			if pin != 0 {
				link(scdc, "has_precise_ingredient", "precise_ingredient_of", pin, "RXNORM")
			}
			link(sbdc, "tradename_of", "has_tradename", scdc, "RXNORM")
			link(sbdc, "has_ingredient", "ingredient_of", bn, "RXNORM")
			link(scd, "consists_of", "constitutes", scdc, "RXNORM")
			link(scd, "isa", "inverse_isa", scdf, "RXNORM")
			link(scd, "isa", "inverse_isa", scdg, "RXNORM")
			link(scd, "has_dose_form", "dose_form_of", doseForm, "RXNORM")
			link(sbd, "tradename_of", "has_tradename", scd, "RXNORM")
			link(sbd, "consists_of", "constitutes", sbdc, "RXNORM")
			link(sbd, "has_ingredient", "ingredient_of", bn, "RXNORM")
			link(sbd, "isa", "inverse_isa", sbdf, "RXNORM")
			link(sbd, "isa", "inverse_isa", sbdg, "RXNORM")
			link(sbd, "has_dose_form", "dose_form_of", doseForm, "RXNORM")
			if s > 1 {
				link(scd, "has_quantified_form", "quantified_form_of", scds[s-2], "RXNORM")
			}
			scds, sbds = append(scds, scd), append(sbds, sbd)
		}
		if fam%10 == 0 {
			gpck, bpck := next(), next()
			atom(gpck, "RXNORM", "GPCK", "{28 ("+name+" 5 MG Oral Tablet) } Pack")
			atom(bpck, "RXNORM", "BPCK", "{28 ("+name+" 5 MG Oral Tablet [Brand"+name+"]) } Pack [Brand"+name+"]")
			link(gpck, "contains", "contained_in", scds[0], "RXNORM")
			link(bpck, "contains", "contained_in", sbds[0], "RXNORM")
			link(bpck, "tradename_of", "has_tradename", gpck, "RXNORM")
		}
	}
	// Relationships of other sources and kinds, as the full release has, up to relRows.
	for i := 0; nr < relRows; i++ {
		a, b := 102+(i*7919)%(cui-102), 102+(i*104729)%(cui-102)
		if i%2 == 0 {
			link(a, "has_member", "member_of", b, "MTHSPL")
		} else {
			link(a, "reformulated_to", "reformulation_of", b, "RXNORM")
		}
	}
	for _, w := range []*bufio.Writer{cw, rw} {
		if err := w.Flush(); err != nil {
			tb.Fatal(err)
		}
	}
	for _, f := range []*os.File{cf, rf} {
		if err := f.Close(); err != nil {
			tb.Fatal(err)
		}
	}
	return conso, rel
}

// heapAfterGC is the live heap once garbage is collected.
func heapAfterGC() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkRxNormImport imports a synthetic release of a full release's size (about
// 400,000 RXNCONSO and 1,500,000 RXNREL rows, written to a temporary directory first),
// then measures what a service pays at start-up for the resulting index: reading it and
// laying it over the shipped vocabulary, against the shipped vocabulary alone.
func BenchmarkRxNormImport(b *testing.B) {
	dir := b.TempDir()
	start := time.Now()
	consoPath, relPath := synthRRF(b, dir, 400_000, 1_500_000)
	b.Logf("generated the synthetic release in %v", time.Since(start).Round(time.Millisecond))
	index := filepath.Join(dir, "rxnorm-ingredients.tsv")

	b.Run("import", func(b *testing.B) {
		var im *RxNormImport
		for b.Loop() {
			conso, err := os.Open(consoPath)
			if err != nil {
				b.Fatal(err)
			}
			rel, err := os.Open(relPath)
			if err != nil {
				b.Fatal(err)
			}
			im = &RxNormImport{Version: "RxNorm synthetic"}
			d, err := ImportRxNorm(im, conso, consoPath, rel, relPath, nil, "")
			conso.Close()
			rel.Close()
			if err != nil {
				b.Fatal(err)
			}
			out, err := os.Create(index)
			if err != nil {
				b.Fatal(err)
			}
			if err := d.Write(out, nil); err != nil {
				b.Fatal(err)
			}
			if err := out.Close(); err != nil {
				b.Fatal(err)
			}
			if im.NoIngredientsCount > 0 {
				b.Fatalf("%d concepts got no ingredients, e.g. %v", im.NoIngredientsCount, im.NoIngredients)
			}
			b.ReportMetric(float64(d.Len()), "rows")
		}
		b.ReportMetric(float64(im.ConsoRows), "conso-rows")
		b.ReportMetric(float64(im.RelRows), "rel-rows")
	})
	if _, err := os.Stat(index); err != nil {
		b.Fatal("the import wrote no index: ", err)
	}

	shipped := func() *Vocabulary {
		v, err := loadShipped()
		if err != nil {
			b.Fatal(err)
		}
		return v
	}
	b.Run("startup-shipped", func(b *testing.B) {
		var keep *Vocabulary
		base := heapAfterGC()
		for b.Loop() {
			keep = shipped().With()
		}
		b.ReportMetric(float64(heapAfterGC()-base)/(1<<20), "heap-MiB")
		b.ReportMetric(float64(keep.Drugs.Len()), "rows")
	})
	b.Run("startup-with-index", func(b *testing.B) {
		var keep *Vocabulary
		base := heapAfterGC()
		for b.Loop() {
			v := shipped().With()
			f, err := os.Open(index)
			if err != nil {
				b.Fatal(err)
			}
			d, err := ReadDrugs(f, index)
			f.Close()
			if err != nil {
				b.Fatal(err)
			}
			v.Drugs = Overlay(v.Drugs, d)
			keep = v
		}
		b.ReportMetric(float64(heapAfterGC()-base)/(1<<20), "heap-MiB")
		b.ReportMetric(float64(keep.Drugs.Len()), "rows")
	})
}
