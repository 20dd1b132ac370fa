package terminology

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// Importing NLM's RxNorm release (the RRF files of RxNorm_full_MMDDYYYY.zip, rrf/):
// every RxNorm concept of a product or ingredient term type gets the RxCUIs of the base
// ingredients (TTY IN) it contains, read from RxNorm's own relationships. The files are
// read once each, line by line; memory grows with the number of RxNorm concepts and
// their relationships (a few tens of MB for a full release), never with the files.
//
// RXNCONSO.RRF columns: RXCUI|LAT|TS|LUI|STT|SUI|ISPREF|RXAUI|SAUI|SCUI|SDUI|SAB|TTY|CODE|STR|SRL|SUPPRESS|CVF|
// RXNREL.RRF columns:   RXCUI1|RXAUI1|STYPE1|REL|RXCUI2|RXAUI2|STYPE2|RELA|RUI|SRUI|SAB|SL|DIR|RG|SUPPRESS|CVF|
// RXNSAT.RRF columns:   RXCUI|LUI|SUI|RXAUI|STYPE|CODE|ATUI|SATUI|ATN|SAB|ATV|SUPPRESS|CVF|
//
// Only SAB=RXNORM rows are read (other sources' atoms and relationships are not
// RxNorm's normal forms), and rows with SUPPRESS O (obsolete), Y (suppressed by NLM) or E
// (suppressed by an editor) are skipped. A RXNREL row reads "RXCUI2 has RELA to RXCUI1"
// (NLM's convention); every relationship is given in both directions (has_ingredient and
// ingredient_of), and the importer orients each by the two concepts' term types, so
// either row is enough.

// The columns of each file, as NLM documents them; a line must have exactly these.
var (
	consoColumns = []string{"RXCUI", "LAT", "TS", "LUI", "STT", "SUI", "ISPREF", "RXAUI", "SAUI", "SCUI", "SDUI", "SAB", "TTY", "CODE", "STR", "SRL", "SUPPRESS", "CVF"}
	relColumns   = []string{"RXCUI1", "RXAUI1", "STYPE1", "REL", "RXCUI2", "RXAUI2", "STYPE2", "RELA", "RUI", "SRUI", "SAB", "SL", "DIR", "RG", "SUPPRESS", "CVF"}
	satColumns   = []string{"RXCUI", "LUI", "SUI", "RXAUI", "STYPE", "CODE", "ATUI", "SATUI", "ATN", "SAB", "ATV", "SUPPRESS", "CVF"}
)

const (
	consoRXCUI, consoSAB, consoTTY, consoSTR, consoSUPPRESS = 0, 11, 12, 14, 16
	relRXCUI1, relRXCUI2, relRELA, relSAB, relSUPPRESS      = 0, 4, 7, 10, 14
	satRXCUI, satATN, satSAB, satATV, satSUPPRESS           = 0, 8, 9, 10, 11
)

// Term types, in the order the ingredient index is computed: a concept takes its
// ingredients only from concepts of a lower level, so the order is a single pass.
const (
	ttyNone uint8 = iota
	ttyIN
	ttyPIN
	ttyMIN
	ttyBN
	ttySCDC
	ttySBDC
	ttySCDF
	ttySCDG
	ttySCD
	ttySBDF
	ttySBDG
	ttySBD
	ttyGPCK
	ttyBPCK
	ttyCount
)

var ttyNames = [ttyCount]string{ttyIN: "IN", ttyPIN: "PIN", ttyMIN: "MIN", ttyBN: "BN", ttySCDC: "SCDC", ttySBDC: "SBDC",
	ttySCDF: "SCDF", ttySCDG: "SCDG", ttySCD: "SCD", ttySBDF: "SBDF", ttySBDG: "SBDG", ttySBD: "SBD", ttyGPCK: "GPCK", ttyBPCK: "BPCK"}

func ttyCode(b []byte) uint8 {
	for i, n := range ttyNames {
		if n != "" && string(b) == n {
			return uint8(i)
		}
	}
	return ttyNone
}

// derivation says where a concept of each term type takes its ingredients from: the
// term types of its direct sources, and fallbacks used only when the direct sources
// give nothing. A branded concept is derived through its clinical counterpart, not its
// brand name: a brand (Excedrin) spans products of different ingredients.
var derivation = [ttyCount]struct{ primary, fallback []uint8 }{
	ttyPIN:  {primary: []uint8{ttyIN}},                                                // PIN form_of IN
	ttyMIN:  {primary: []uint8{ttyIN}},                                                // MIN has_part IN
	ttyBN:   {primary: []uint8{ttyIN}, fallback: []uint8{ttyMIN, ttyPIN}},             // BN tradename_of IN
	ttySCDC: {primary: []uint8{ttyIN}, fallback: []uint8{ttyPIN}},                     // SCDC has_ingredient IN, has_precise_ingredient PIN
	ttySBDC: {primary: []uint8{ttySCDC}, fallback: []uint8{ttyBN}},                    // SBDC tradename_of SCDC, has_ingredient BN
	ttySCDF: {primary: []uint8{ttyIN}, fallback: []uint8{ttyPIN, ttyMIN}},             // SCDF has_ingredient IN
	ttySCDG: {primary: []uint8{ttyIN}, fallback: []uint8{ttyPIN, ttyMIN}},             // SCDG has_ingredient IN
	ttySCD:  {primary: []uint8{ttySCDC}, fallback: []uint8{ttyMIN, ttySCDF, ttySCDG}}, // SCD consists_of SCDC, has_ingredients MIN, isa SCDF/SCDG
	ttySBDF: {primary: []uint8{ttySCDF}, fallback: []uint8{ttyBN}},                    // SBDF tradename_of SCDF
	ttySBDG: {primary: []uint8{ttySCDG}, fallback: []uint8{ttyBN}},                    // SBDG tradename_of SCDG
	ttySBD:  {primary: []uint8{ttySCD, ttySBDC}, fallback: []uint8{ttyBN}},            // SBD tradename_of SCD, consists_of SBDC
	ttyGPCK: {primary: []uint8{ttySCD}},                                               // GPCK contains SCD
	ttyBPCK: {primary: []uint8{ttySCD, ttySBD, ttyGPCK}, fallback: []uint8{ttyBN}},    // BPCK contains SCD/SBD, tradename_of GPCK
}

// memberOf: dose forms and dose groups with no ingredient relationship of their own
// take the ingredients of the drugs that are members of them (SCD isa SCDF).
var memberOf = [ttyCount]uint8{ttySCDF: ttySCD, ttySCDG: ttySCD, ttySBDF: ttySBD, ttySBDG: ttySBD}

// productRELA are the relationships that link products to what they are made of, both
// directions of each.
var productRELA = map[string]bool{
	"has_ingredient": true, "ingredient_of": true,
	"has_precise_ingredient": true, "precise_ingredient_of": true,
	"has_ingredients": true, "ingredients_of": true, // SCD -> MIN
	"consists_of": true, "constitutes": true,
	"has_tradename": true, "tradename_of": true,
	"contains": true, "contained_in": true,
	"isa": true, "inverse_isa": true,
	"form_of": true, "has_form": true,
	"has_part": true, "part_of": true, // MIN -> IN
}

// RxNormImport is the options and counts of one import.
type RxNormImport struct {
	// Version names the release (e.g. "RxNorm 2024-12-02"); it becomes the table's
	// version and every row's source.
	Version string

	// Counts, filled by ImportRxNorm.
	ConsoRows, ConsoUsed, ConsoSuppressed, ConsoOtherSAB int
	RelRows, RelUsed, RelSuppressed, RelOtherSAB         int
	SatRows, NDCs                                        int
	Concepts                                             [ttyCount]int // RxNorm concepts read, by term type
	Indexed                                              [ttyCount]int // of them, those given ingredients
	// NoIngredients lists (up to 20) concepts no relationship gave an ingredient, as
	// "RXCUI TTY name"; NoIngredientsCount counts them all.
	NoIngredients      []string
	NoIngredientsCount int
}

// Counts describes the import for people, one line each.
func (im *RxNormImport) Counts() []string {
	var byTTY, indexed []string
	total, placed := 0, 0
	for t := ttyIN; t < ttyCount; t++ {
		byTTY = append(byTTY, fmt.Sprintf("%s %d", ttyNames[t], im.Concepts[t]))
		if im.Indexed[t] != im.Concepts[t] {
			indexed = append(indexed, fmt.Sprintf("%s %d/%d", ttyNames[t], im.Indexed[t], im.Concepts[t]))
		}
		total += im.Concepts[t]
		placed += im.Indexed[t]
	}
	out := []string{
		fmt.Sprintf("RXNCONSO: %d rows, %d RXNORM rows used, %d suppressed (O/Y/E) skipped, %d of other sources ignored", im.ConsoRows, im.ConsoUsed, im.ConsoSuppressed, im.ConsoOtherSAB),
		fmt.Sprintf("RXNREL: %d rows, %d product relationships used, %d suppressed skipped, %d of other sources ignored", im.RelRows, im.RelUsed, im.RelSuppressed, im.RelOtherSAB),
	}
	if im.SatRows > 0 {
		out = append(out, fmt.Sprintf("RXNSAT: %d rows, %d RxNorm NDCs indexed", im.SatRows, im.NDCs))
	}
	out = append(out, fmt.Sprintf("concepts: %d (%s)", total, strings.Join(byTTY, ", ")),
		fmt.Sprintf("indexed with ingredients: %d", placed))
	if len(indexed) > 0 {
		out = append(out, "not every concept got ingredients: "+strings.Join(indexed, ", "))
	}
	return out
}

// rrfReader reads one RRF file line by line, naming the file and line in errors.
type rrfReader struct {
	name    string
	columns []string
	sc      *bufio.Scanner
	line    int
	fields  [][]byte
}

func newRRFReader(r io.Reader, name string, columns []string) *rrfReader {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 256<<10), 16<<20)
	return &rrfReader{name: name, columns: columns, sc: sc, fields: make([][]byte, len(columns)+1)}
}

// next reads the next line's fields; false at the end or on an error (see err).
func (r *rrfReader) next() (bool, error) {
	for r.sc.Scan() {
		r.line++
		b := r.sc.Bytes()
		if len(b) > 0 && b[len(b)-1] == '\r' {
			b = b[:len(b)-1]
		}
		if len(b) == 0 {
			continue
		}
		// Every field ends with '|': N columns make N+1 pieces, the last one empty.
		n := splitFields(b, '|', r.fields)
		if n != len(r.columns)+1 {
			return false, r.errorf("%d fields, want %d (%s|)", n-1, len(r.columns), strings.Join(r.columns, "|"))
		}
		if len(r.fields[len(r.columns)]) != 0 {
			return false, r.errorf("text after the last field's '|' (want %s|)", strings.Join(r.columns, "|"))
		}
		return true, nil
	}
	if err := r.sc.Err(); err != nil {
		return false, fmt.Errorf("%s:%d: %w", r.name, r.line+1, err)
	}
	return false, nil
}

func (r *rrfReader) errorf(format string, args ...any) error {
	return fmt.Errorf("%s:%d: %s", r.name, r.line, fmt.Sprintf(format, args...))
}

// rxcui reads an RxCUI column (digits).
func (r *rrfReader) rxcui(col int) (uint32, error) {
	b := r.fields[col]
	n, err := strconv.ParseUint(string(b), 10, 32)
	if err != nil || len(b) == 0 || b[0] == '+' {
		return 0, r.errorf("%s %q is not an RxCUI", r.columns[col], b)
	}
	return uint32(n), nil
}

func suppressed(b []byte) bool {
	return len(b) == 1 && (b[0] == 'O' || b[0] == 'Y' || b[0] == 'E')
}

// rxGraph is the RxNorm concepts read and the product relationships between them.
type rxGraph struct {
	index   map[uint32]int32 // RxCUI -> concept
	rxcui   []uint32
	tty     []uint8
	nameOff []uint32 // into names
	names   []byte
	edges   []rxEdge // product -> source, sorted by product once read
}

type rxEdge struct{ from, to int32 }

// ImportRxNorm builds the ingredient index from RXNCONSO and RXNREL (and, when sat is
// not nil, the RxNorm NDCs of RXNSAT). Every concept of a product or ingredient term type
// that a relationship gives an ingredient becomes a row; a malformed line is an error
// naming its file and line.
func ImportRxNorm(im *RxNormImport, conso io.Reader, consoName string, rel io.Reader, relName string, sat io.Reader, satName string) (*Drugs, error) {
	g := &rxGraph{index: make(map[uint32]int32, 1<<18)}
	if err := g.readConso(im, conso, consoName); err != nil {
		return nil, err
	}
	if err := g.readRel(im, rel, relName); err != nil {
		return nil, err
	}
	ings := g.ingredients()
	d := NewDrugs()
	d.Version = im.Version
	d.Source = sourceID(im.Version)
	d.display = make(map[drugKey]string, len(g.rxcui))
	for i, cui := range g.rxcui {
		t := g.tty[i]
		im.Concepts[t]++
		if len(ings[i]) == 0 {
			im.NoIngredientsCount++
			if len(im.NoIngredients) < 20 {
				im.NoIngredients = append(im.NoIngredients, fmt.Sprintf("%d %s %s", cui, ttyNames[t], g.name(i)))
			}
			continue
		}
		im.Indexed[t]++
		k := drugKey{drugRxNorm, strconv.FormatUint(uint64(cui), 10)}
		d.byCode[k] = drugEntry{ings: ings[i], tty: ttyNames[t]}
		d.display[k] = g.name(i)
		if t == ttyIN || t == ttyMIN {
			d.names[k.code] = g.name(i)
		}
	}
	if sat != nil {
		if err := g.readSat(im, sat, satName, d, ings); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// sourceID is the sources column of an import's rows: the release, without spaces.
func sourceID(version string) string {
	v := strings.Join(strings.Fields(version), "-")
	if v == "" {
		return "rxnorm-import"
	}
	return v
}

func (g *rxGraph) name(i int) string {
	end := uint32(len(g.names))
	if i+1 < len(g.nameOff) {
		end = g.nameOff[i+1]
	}
	return string(g.names[g.nameOff[i]:end])
}

func (g *rxGraph) readConso(im *RxNormImport, r io.Reader, name string) error {
	rr := newRRFReader(r, name, consoColumns)
	for {
		ok, err := rr.next()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		im.ConsoRows++
		f := rr.fields
		cui, err := rr.rxcui(consoRXCUI)
		if err != nil {
			return err
		}
		if string(f[consoSAB]) != "RXNORM" {
			im.ConsoOtherSAB++
			continue
		}
		if suppressed(f[consoSUPPRESS]) {
			im.ConsoSuppressed++
			continue
		}
		t := ttyCode(f[consoTTY])
		if t == ttyNone {
			continue // synonyms (SY, TMSY, PSN), dose forms (DF, DFG), entry terms
		}
		im.ConsoUsed++
		if i, seen := g.index[cui]; seen {
			// One concept, two atoms of our term types: keep the lower (the more
			// elemental) one; RxNorm gives each concept one normal form.
			if t < g.tty[i] {
				g.tty[i] = t
			}
			continue
		}
		g.index[cui] = int32(len(g.rxcui))
		g.rxcui = append(g.rxcui, cui)
		g.tty = append(g.tty, t)
		g.nameOff = append(g.nameOff, uint32(len(g.names)))
		g.names = append(g.names, f[consoSTR]...)
	}
	return nil
}

func (g *rxGraph) readRel(im *RxNormImport, r io.Reader, name string) error {
	rr := newRRFReader(r, name, relColumns)
	for {
		ok, err := rr.next()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		im.RelRows++
		f := rr.fields
		if string(f[relSAB]) != "RXNORM" {
			im.RelOtherSAB++
			continue
		}
		if suppressed(f[relSUPPRESS]) {
			im.RelSuppressed++
			continue
		}
		if !productRELA[string(f[relRELA])] {
			continue
		}
		if len(f[relRXCUI1]) == 0 || len(f[relRXCUI2]) == 0 {
			continue // an atom-level relationship
		}
		c1, err := rr.rxcui(relRXCUI1)
		if err != nil {
			return err
		}
		c2, err := rr.rxcui(relRXCUI2)
		if err != nil {
			return err
		}
		a, ok1 := g.index[c1]
		b, ok2 := g.index[c2]
		if !ok1 || !ok2 {
			continue // a concept of another term type, or suppressed
		}
		// Orient by term type: the product is the one whose derivation names the other's;
		// a dose form or group may also take its member drugs' ingredients.
		used := false
		for _, e := range [2]rxEdge{{a, b}, {b, a}} {
			if g.derives(e.from, e.to) || (memberOf[g.tty[e.from]] != ttyNone && memberOf[g.tty[e.from]] == g.tty[e.to]) {
				g.edges = append(g.edges, e)
				used = true
			}
		}
		if used {
			im.RelUsed++
		}
	}
	slices.SortFunc(g.edges, func(x, y rxEdge) int {
		if x.from != y.from {
			return int(x.from - y.from)
		}
		return int(x.to - y.to)
	})
	g.edges = slices.Compact(g.edges) // each relationship comes in both directions
	return nil
}

// derives reports whether concept p may take ingredients from concept s.
func (g *rxGraph) derives(p, s int32) bool {
	d := derivation[g.tty[p]]
	st := g.tty[s]
	return slices.Contains(d.primary, st) || slices.Contains(d.fallback, st)
}

// ingredients computes every concept's base ingredient RxCUIs (as strings, sorted;
// concepts with the same ingredients share one slice), in term type order so that each
// concept's sources are done before it.
func (g *rxGraph) ingredients() [][]string {
	n := len(g.rxcui)
	out := make([][]uint32, n)
	start := make([]int, n+1) // edges of concept i: edges[start[i]:start[i+1]]
	for _, e := range g.edges {
		start[e.from+1]++
	}
	for i := 0; i < n; i++ {
		start[i+1] += start[i]
	}
	byTTY := make([][]int32, ttyCount)
	for i, t := range g.tty {
		byTTY[t] = append(byTTY[t], int32(i))
	}
	var scratch []uint32
	from := func(i int32, types []uint8, memberTTY uint8) []uint32 {
		scratch = scratch[:0]
		for _, e := range g.edges[start[i]:start[i+1]] {
			st := g.tty[e.to]
			if slices.Contains(types, st) || (memberTTY != ttyNone && st == memberTTY) {
				scratch = append(scratch, out[e.to]...)
			}
		}
		slices.Sort(scratch)
		return slices.Clone(slices.Compact(scratch))
	}
	for _, i := range byTTY[ttyIN] {
		out[i] = []uint32{g.rxcui[i]}
	}
	for t := ttyPIN; t < ttyCount; t++ {
		d := derivation[t]
		for _, i := range byTTY[t] {
			got := from(i, d.primary, ttyNone)
			if len(got) == 0 && len(d.fallback) > 0 {
				got = from(i, d.fallback, ttyNone)
			}
			out[i] = got
		}
	}
	// Forms and groups with no ingredient relationship take their members' (the members
	// are of a higher level, done above).
	for t := ttyPIN; t < ttyCount; t++ {
		if memberOf[t] == ttyNone {
			continue
		}
		for _, i := range byTTY[t] {
			if len(out[i]) == 0 {
				out[i] = from(i, nil, memberOf[t])
			}
		}
	}
	// As strings, each distinct list once.
	lists := map[string][]string{}
	res := make([][]string, n)
	var key []byte
	for i, cuis := range out {
		if len(cuis) == 0 {
			continue
		}
		key = key[:0]
		for j, c := range cuis {
			if j > 0 {
				key = append(key, ',')
			}
			key = strconv.AppendUint(key, uint64(c), 10)
		}
		l, ok := lists[string(key)]
		if !ok {
			l = strings.Split(string(key), ",")
			lists[string(key)] = l
		}
		res[i] = l
	}
	return res
}

// readSat adds the NDCs RxNorm itself asserts (SAB=RXNORM, ATN=NDC: normalized 11-digit
// NDCs of SCD, SBD, GPCK and BPCK concepts) as rows with their product's ingredients.
func (g *rxGraph) readSat(im *RxNormImport, r io.Reader, name string, d *Drugs, ings [][]string) error {
	rr := newRRFReader(r, name, satColumns)
	for {
		ok, err := rr.next()
		if err != nil {
			return err
		}
		if !ok {
			return nil
		}
		im.SatRows++
		f := rr.fields
		if string(f[satATN]) != "NDC" || string(f[satSAB]) != "RXNORM" || suppressed(f[satSUPPRESS]) {
			continue
		}
		cui, err := rr.rxcui(satRXCUI)
		if err != nil {
			return err
		}
		i, ok := g.index[cui]
		if !ok || len(ings[i]) == 0 {
			continue
		}
		ndc := f[satATV]
		if len(ndc) != 11 || !isDigits(string(ndc)) {
			return rr.errorf("ATV %q of an NDC attribute is not an 11-digit NDC", ndc)
		}
		k := drugKey{drugNDC, string(ndc)}
		if _, dup := d.byCode[k]; !dup {
			im.NDCs++
			d.display[k] = g.name(int(i))
		}
		d.add(k, ttyNames[g.tty[i]], ings[i])
	}
}
