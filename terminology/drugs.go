package terminology

import (
	"bufio"
	"bytes"
	"cmp"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
)

// Drugs maps drug codes (RxNorm concepts of every term type, NDCs, SNOMED CT substances
// and products) to the RxNorm ingredients they contain. A medication criterion matches
// on ingredients, so "Velcade 3.5 MG Injection", its NDC and "bortezomib" all match
// bortezomib. The table is the shipped one (data/drugs.tsv), a full RxNorm import, or
// both merged.
type Drugs struct {
	Version string
	// Source is what Write puts in the sources column of rows it did not read with their
	// sources ("rxnorm-import" when empty): an import names its release here.
	Source string
	byCode map[drugKey]drugEntry // bare canonical coding -> its row
	names  map[string]string     // ingredient RxCUI -> name, for evidence
	// display names every row of an import, for Write; tables read for screening do not
	// keep it (start-up memory), only the ingredients' names.
	display map[drugKey]string
}

// drugKey is a bare canonical drug coding in a compact form: a full RxNorm import has
// several hundred thousand rows, and a key of one string and a byte is half a Coding.
type drugKey struct {
	sys  uint8 // drugRxNorm, drugNDC or drugSNOMED
	code string
}

const (
	drugRxNorm uint8 = iota + 1
	drugNDC
	drugSNOMED
)

var drugSystemURI = [...]string{drugRxNorm: RxNorm, drugNDC: NDC, drugSNOMED: SNOMED}

// drugShort is each system's name in the table's system column.
var drugShort = [...]string{drugRxNorm: "rxnorm", drugNDC: "ndc", drugSNOMED: "snomed"}

func keyOf(system, code string) (drugKey, bool) {
	switch system {
	case RxNorm:
		return drugKey{drugRxNorm, code}, true
	case NDC:
		return drugKey{drugNDC, code}, true
	case SNOMED:
		return drugKey{drugSNOMED, code}, true
	}
	return drugKey{}, false
}

// drugEntry is one row: the ingredient RxCUIs (sorted; rows with the same ingredients
// share one slice) and the term type.
type drugEntry struct {
	ings []string
	tty  string
}

// NewDrugs is an empty table.
func NewDrugs() *Drugs {
	return &Drugs{byCode: map[drugKey]drugEntry{}, names: map[string]string{}}
}

// Len is the number of codes the table places.
func (d *Drugs) Len() int { return len(d.byCode) }

var drugSystems = map[string]uint8{"rxnorm": drugRxNorm, "ndc": drugNDC, "snomed": drugSNOMED}

// drugColumns is the header every drug table starts with (after '#' comments).
const drugColumns = "system\tcode\ttty\tname\tingredients\tsources"

// ReadDrugs reads a drug table: '#' comment lines (one may say "# version: V"), the
// header line, then one row per code. Every problem is reported with its line. It keeps
// only what placing codes needs (a row's ingredients and term type, the ingredients'
// names), so that a full RxNorm import costs little memory at start-up.
func ReadDrugs(r io.Reader, name string) (*Drugs, error) {
	d := NewDrugs()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	var probs []string
	line, header := 0, false
	type pending struct {
		line int
		ings []string
	}
	var checks []pending
	// Rows with the same ingredients share one slice: an import has a few thousand
	// ingredient lists for hundreds of thousands of rows.
	lists := map[string][]string{}
	ttys := map[string]string{}
	for sc.Scan() {
		line++
		raw := sc.Bytes()
		if len(raw) > 0 && raw[len(raw)-1] == '\r' {
			raw = raw[:len(raw)-1]
		}
		if len(raw) == 0 {
			continue
		}
		if raw[0] == '#' {
			if v, ok := strings.CutPrefix(strings.TrimSpace(string(raw[1:])), "version:"); ok {
				d.Version = strings.TrimSpace(v)
			}
			continue
		}
		if !header {
			if string(raw) != drugColumns {
				probs = append(probs, fmt.Sprintf("%s:%d: the header must be %q", name, line, drugColumns))
			}
			header = true
			continue
		}
		var f [6][]byte
		n := splitFields(raw, '\t', f[:])
		if n != 6 {
			probs = append(probs, fmt.Sprintf("%s:%d: %d fields, want 6 (%s)", name, line, n, strings.ReplaceAll(drugColumns, "\t", ", ")))
			continue
		}
		sys, ok := drugSystems[string(f[0])]
		if !ok {
			probs = append(probs, fmt.Sprintf("%s:%d: system %q is not rxnorm, ndc or snomed", name, line, f[0]))
			continue
		}
		code := string(f[1])
		if !isDigits(code) || (sys == drugNDC && len(code) != 11) {
			probs = append(probs, fmt.Sprintf("%s:%d: code %q is not a %s code (digits; NDCs in their 11-digit form)", name, line, code, f[0]))
			continue
		}
		ings, ok := lists[string(f[4])]
		if !ok {
			ings = strings.Split(string(f[4]), ",")
			bad := false
			for _, in := range ings {
				if !isDigits(in) {
					probs = append(probs, fmt.Sprintf("%s:%d: ingredient %q is not an RxCUI", name, line, in))
					bad = true
				}
			}
			if bad {
				continue
			}
			if !slices.IsSorted(ings) {
				slices.Sort(ings)
			}
			ings = slices.Compact(ings)
			lists[string(f[4])] = ings
		}
		if len(bytes.TrimSpace(f[5])) == 0 {
			probs = append(probs, fmt.Sprintf("%s:%d: sources is empty: every row says where it was verified", name, line))
			continue
		}
		tty, ok := ttys[string(f[2])]
		if !ok {
			tty = string(f[2])
			ttys[tty] = tty
		}
		d.add(drugKey{sys, code}, tty, ings)
		if sys == drugRxNorm && (tty == "IN" || tty == "MIN") {
			d.names[code] = string(f[3])
		}
		checks = append(checks, pending{line, ings})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if !header {
		probs = append(probs, fmt.Sprintf("%s: no header line %q", name, drugColumns))
	}
	hasIN := map[string]bool{} // by ingredient: the table is large and rows share ingredients
	for _, p := range checks {
		for _, in := range p.ings {
			ok, seen := hasIN[in]
			if !seen {
				tty := d.byCode[drugKey{drugRxNorm, in}].tty
				ok = tty == "IN" || tty == "MIN"
				hasIN[in] = ok
			}
			if !ok {
				probs = append(probs, fmt.Sprintf("%s:%d: ingredient %s has no IN row of its own", name, p.line, in))
			}
		}
	}
	if len(probs) > 0 {
		return nil, &TableError{Problems: probs}
	}
	return d, nil
}

// splitFields splits b at sep into out, returning how many fields b has (which may be
// more than len(out): then out holds the first ones). It allocates nothing.
func splitFields(b []byte, sep byte, out [][]byte) int {
	n := 0
	for {
		i := bytes.IndexByte(b, sep)
		if i < 0 {
			if n < len(out) {
				out[n] = b
			}
			return n + 1
		}
		if n < len(out) {
			out[n] = b[:i]
		}
		n++
		b = b[i+1:]
	}
}

// TableError lists every problem found in a data table.
type TableError struct{ Problems []string }

func (e *TableError) Error() string { return strings.Join(e.Problems, "\n") }

// add merges a row into the table. ings must be sorted and is not changed: it may be
// shared by other rows.
func (d *Drugs) add(k drugKey, tty string, ings []string) {
	e, ok := d.byCode[k]
	switch {
	case !ok:
		e = drugEntry{ings: ings, tty: tty}
	default:
		merged := e.ings
		for _, in := range ings {
			if _, found := slices.BinarySearch(merged, in); !found {
				if &merged[0] == &e.ings[0] {
					merged = slices.Clone(merged)
				}
				merged = append(merged, in)
				slices.Sort(merged)
			}
		}
		e.ings = merged
		if tty == "IN" {
			e.tty = tty
		}
	}
	d.byCode[k] = e
}

// AddRow adds one row as an import gives it: a drug code (RxNorm, NDC or SNOMED CT), its
// term type, its name and the RxCUIs of its base ingredients. Write keeps the name.
func (d *Drugs) AddRow(c Coding, tty, name string, ingredients []string) error {
	k, ok := keyOf(c.System, c.Code)
	if !ok {
		return fmt.Errorf("drug table: system %q is not RxNorm, NDC or SNOMED CT", c.System)
	}
	if len(ingredients) == 0 {
		return fmt.Errorf("drug table: %s has no ingredients", c.Key())
	}
	ings := slices.Compact(slices.Sorted(slices.Values(ingredients)))
	d.add(k, tty, ings)
	if k.sys == drugRxNorm && (tty == "IN" || tty == "MIN") {
		d.names[c.Code] = name
	}
	if name != "" {
		if d.display == nil {
			d.display = map[drugKey]string{}
		}
		d.display[k] = name
	}
	return nil
}

// Merge adds every row of o (a full RxNorm import over the shipped table, say).
func (d *Drugs) Merge(o *Drugs) {
	if len(d.byCode) == 0 {
		d.byCode = maps.Clone(o.byCode) // rows share their slices: add never changes one
	} else {
		for k, e := range o.byCode {
			d.add(k, e.tty, e.ings)
		}
	}
	for k, v := range o.names {
		d.names[k] = v
	}
	if o.display != nil {
		if d.display == nil {
			d.display = map[drugKey]string{}
		}
		for k, v := range o.display {
			d.display[k] = v
		}
	}
	if o.Version != "" {
		if d.Version != "" {
			d.Version += " + " + o.Version
		} else {
			d.Version = o.Version
		}
	}
}

// Overlay is base with over's rows merged over it, in a new table that shares neither's
// maps; its version names both ("base + over"). It copies the larger table whole and
// adds the smaller one's rows, so that laying a full RxNorm import over the shipped
// table costs one map copy.
func Overlay(base, over *Drugs) *Drugs {
	big, small := over, base
	if len(base.byCode) > len(over.byCode) {
		big, small = base, over
	}
	d := NewDrugs()
	d.Merge(big)
	d.Merge(small)
	d.Version = base.Version
	if over.Version != "" {
		if d.Version != "" {
			d.Version += " + " + over.Version
		} else {
			d.Version = over.Version
		}
	}
	return d
}

// Ingredients gives the RxNorm ingredients of a drug code (its system canonical), and
// whether the table knows the code at all. An unhyphenated 10-digit NDC is placed only
// when exactly one of its 11-digit readings is in the table.
func (d *Drugs) Ingredients(c Coding) ([]Coding, bool) {
	var out []Coding
	ok := d.EachIngredient(c, func(in Coding) {
		in.Via = c.Key()
		out = append(out, in)
	})
	return out, ok
}

// EachIngredient calls fn with each ingredient of a drug code (Via unset) and reports
// whether the table knows the code: Ingredients without allocating, for the screening's
// hot path, where every drug of every record is looked up.
func (d *Drugs) EachIngredient(c Coding, fn func(Coding)) bool {
	ings, ok := d.lookup(c)
	for _, in := range ings {
		fn(Coding{System: RxNorm, Code: in})
	}
	return ok
}

func (d *Drugs) lookup(c Coding) ([]string, bool) {
	switch c.System {
	case RxNorm, SNOMED:
		k, _ := keyOf(c.System, c.Code)
		e, ok := d.byCode[k]
		return e.ings, ok
	case NDC:
		var ings []string
		found := 0
		for _, f := range NDCForms(c.Code) {
			if e, ok := d.byCode[drugKey{drugNDC, f}]; ok {
				ings = e.ings
				found++
			}
		}
		if found != 1 {
			return nil, false
		}
		return ings, true
	}
	return nil, false
}

// Knows reports whether the table has a row for the code (its system canonical); an
// NDC in any of its forms.
func (d *Drugs) Knows(c Coding) bool {
	_, ok := d.lookup(c)
	return ok
}

// IngredientName is the name of an ingredient RxCUI, or "".
func (d *Drugs) IngredientName(rxcui string) string { return d.names[rxcui] }

// Write writes the table in the format ReadDrugs reads (sorted, for stable diffs). A
// row's name is the one AddRow gave, or the ingredient's; its sources column is
// d.Source.
func (d *Drugs) Write(w io.Writer, comments []string) error {
	bw := bufio.NewWriterSize(w, 256<<10)
	for _, c := range comments {
		fmt.Fprintf(bw, "# %s\n", c)
	}
	if d.Version != "" {
		fmt.Fprintf(bw, "# version: %s\n", d.Version)
	}
	fmt.Fprintln(bw, drugColumns)
	keys := make([]drugKey, 0, len(d.byCode))
	for k := range d.byCode {
		keys = append(keys, k)
	}
	// By system, then numerically by code (RxCUIs sort as people read them).
	slices.SortFunc(keys, func(a, b drugKey) int {
		if c := cmp.Compare(drugSystemURI[a.sys], drugSystemURI[b.sys]); c != 0 {
			return c
		}
		if c := cmp.Compare(len(a.code), len(b.code)); c != 0 {
			return c
		}
		return strings.Compare(a.code, b.code)
	})
	source := d.Source
	if source == "" {
		source = "rxnorm-import"
	}
	for _, k := range keys {
		e := d.byCode[k]
		name, ok := d.display[k]
		if !ok && k.sys == drugRxNorm {
			name = d.names[k.code]
		}
		bw.WriteString(drugShort[k.sys])
		bw.WriteByte('\t')
		bw.WriteString(k.code)
		bw.WriteByte('\t')
		bw.WriteString(e.tty)
		bw.WriteByte('\t')
		bw.WriteString(cleanField(name))
		bw.WriteByte('\t')
		for i, in := range e.ings {
			if i > 0 {
				bw.WriteByte(',')
			}
			bw.WriteString(in)
		}
		bw.WriteByte('\t')
		bw.WriteString(source)
		bw.WriteByte('\n')
	}
	return bw.Flush()
}

// cleanField keeps a name on its line and in its column.
func cleanField(s string) string {
	if !strings.ContainsAny(s, "\t\r\n") {
		return s
	}
	return strings.NewReplacer("\t", " ", "\r", " ", "\n", " ").Replace(s)
}
