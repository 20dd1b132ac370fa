package terminology

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
)

// Drugs maps drug codes (RxNorm concepts of every term type, NDCs, SNOMED CT substances
// and products) to the RxNorm ingredients they contain. A medication criterion matches
// on ingredients, so "Velcade 3.5 MG Injection", its NDC and "bortezomib" all match
// bortezomib. The table is the shipped one (data/drugs.tsv), a full RxNorm import, or
// both merged.
type Drugs struct {
	Version string
	byCode  map[Coding][]string // bare canonical coding -> ingredient RxCUIs, sorted
	names   map[string]string   // RxCUI -> name, for evidence
	tty     map[Coding]string
	// asCodings holds byCode's ingredients as RxNorm codings, built on first use: every
	// screening looks up every drug, and a shared slice costs no allocation.
	once      sync.Once
	asCodings map[Coding][]Coding
}

// NewDrugs is an empty table.
func NewDrugs() *Drugs {
	return &Drugs{byCode: map[Coding][]string{}, names: map[string]string{}, tty: map[Coding]string{}}
}

// Len is the number of codes the table places.
func (d *Drugs) Len() int { return len(d.byCode) }

var drugSystems = map[string]string{"rxnorm": RxNorm, "ndc": NDC, "snomed": SNOMED}

// drugColumns is the header every drug table starts with (after '#' comments).
const drugColumns = "system\tcode\ttty\tname\tingredients\tsources"

// ReadDrugs reads a drug table: '#' comment lines (one may say "# version: V"), the
// header line, then one row per code. Every problem is reported with its line.
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
	for sc.Scan() {
		line++
		text := strings.TrimRight(sc.Text(), "\r")
		if text == "" {
			continue
		}
		if c, ok := strings.CutPrefix(text, "#"); ok {
			if v, ok := strings.CutPrefix(strings.TrimSpace(c), "version:"); ok {
				d.Version = strings.TrimSpace(v)
			}
			continue
		}
		if !header {
			if text != drugColumns {
				probs = append(probs, fmt.Sprintf("%s:%d: the header must be %q", name, line, drugColumns))
			}
			header = true
			continue
		}
		f := strings.Split(text, "\t")
		if len(f) != 6 {
			probs = append(probs, fmt.Sprintf("%s:%d: %d fields, want 6 (%s)", name, line, len(f), strings.ReplaceAll(drugColumns, "\t", ", ")))
			continue
		}
		sys, ok := drugSystems[f[0]]
		if !ok {
			probs = append(probs, fmt.Sprintf("%s:%d: system %q is not rxnorm, ndc or snomed", name, line, f[0]))
			continue
		}
		code := f[1]
		if !isDigits(code) || (sys == NDC && len(code) != 11) {
			probs = append(probs, fmt.Sprintf("%s:%d: code %q is not a %s code (digits; NDCs in their 11-digit form)", name, line, code, f[0]))
			continue
		}
		ings := strings.Split(f[4], ",")
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
		if strings.TrimSpace(f[5]) == "" {
			probs = append(probs, fmt.Sprintf("%s:%d: sources is empty: every row says where it was verified", name, line))
			continue
		}
		c := Coding{System: sys, Code: code}
		d.add(c, f[2], ings)
		if sys == RxNorm && (f[2] == "IN" || f[2] == "MIN") {
			d.names[code] = f[3]
		}
		checks = append(checks, pending{line, ings})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if !header {
		probs = append(probs, fmt.Sprintf("%s: no header line %q", name, drugColumns))
	}
	for _, p := range checks {
		for _, in := range p.ings {
			if tty := d.tty[Coding{System: RxNorm, Code: in}]; tty != "IN" && tty != "MIN" {
				probs = append(probs, fmt.Sprintf("%s:%d: ingredient %s has no IN row of its own", name, p.line, in))
			}
		}
	}
	if len(probs) > 0 {
		return nil, &TableError{Problems: probs}
	}
	return d, nil
}

// TableError lists every problem found in a data table.
type TableError struct{ Problems []string }

func (e *TableError) Error() string { return strings.Join(e.Problems, "\n") }

func (d *Drugs) add(c Coding, tty string, ings []string) {
	have := d.byCode[c]
	for _, in := range ings {
		if !slices.Contains(have, in) {
			have = append(have, in)
		}
	}
	slices.Sort(have)
	d.byCode[c] = have
	if _, ok := d.tty[c]; !ok || tty == "IN" {
		d.tty[c] = tty
	}
}

// Merge adds every row of o (a full RxNorm import over the shipped table, say). It is for
// building a table at start-up, before any lookup runs concurrently.
func (d *Drugs) Merge(o *Drugs) {
	d.once, d.asCodings = sync.Once{}, nil
	for c, ings := range o.byCode {
		d.add(c, o.tty[c], ings)
	}
	for k, v := range o.names {
		d.names[k] = v
	}
	if o.Version != "" {
		if d.Version != "" {
			d.Version += " + " + o.Version
		} else {
			d.Version = o.Version
		}
	}
}

// Ingredients gives the RxNorm ingredients of a drug code (its system canonical), each
// naming the code in Via, and whether the table knows the code at all. An unhyphenated
// 10-digit NDC is placed only when exactly one of its 11-digit readings is in the table.
func (d *Drugs) Ingredients(c Coding) ([]Coding, bool) {
	var out []Coding
	ok := d.EachIngredient(c, func(in Coding) {
		in.Via = c.Key()
		out = append(out, in)
	})
	return out, ok
}

// EachIngredient calls fn with each ingredient of a drug code (Via unset), and reports
// whether the table knows the code: Ingredients without allocating, for the screening's
// hot path.
func (d *Drugs) EachIngredient(c Coding, fn func(Coding)) bool {
	d.once.Do(d.index)
	var ings []Coding
	switch c.System {
	case RxNorm, SNOMED:
		var ok bool
		if ings, ok = d.asCodings[c.Bare()]; !ok {
			return false
		}
	case NDC:
		found := 0
		for _, f := range NDCForms(c.Code) {
			if x, ok := d.asCodings[Coding{System: NDC, Code: f}]; ok {
				ings = x
				found++
			}
		}
		if found != 1 {
			return false
		}
	default:
		return false
	}
	for _, in := range ings {
		fn(in)
	}
	return true
}

func (d *Drugs) index() {
	d.asCodings = make(map[Coding][]Coding, len(d.byCode))
	for c, ings := range d.byCode {
		out := make([]Coding, len(ings))
		for i, in := range ings {
			out[i] = Coding{System: RxNorm, Code: in}
		}
		d.asCodings[c] = out
	}
}

// IngredientName is the name of an ingredient RxCUI, or "".
func (d *Drugs) IngredientName(rxcui string) string { return d.names[rxcui] }

// Write writes the table in the format ReadDrugs reads (sorted, for stable diffs).
func (d *Drugs) Write(w io.Writer, comments []string) error {
	bw := bufio.NewWriter(w)
	for _, c := range comments {
		fmt.Fprintf(bw, "# %s\n", c)
	}
	if d.Version != "" {
		fmt.Fprintf(bw, "# version: %s\n", d.Version)
	}
	fmt.Fprintln(bw, drugColumns)
	codes := make([]Coding, 0, len(d.byCode))
	for c := range d.byCode {
		codes = append(codes, c)
	}
	slices.SortFunc(codes, func(a, b Coding) int {
		if a.System != b.System {
			return strings.Compare(a.System, b.System)
		}
		return strings.Compare(a.Code, b.Code)
	})
	short := map[string]string{RxNorm: "rxnorm", NDC: "ndc", SNOMED: "snomed"}
	for _, c := range codes {
		name := ""
		if c.System == RxNorm {
			name = d.names[c.Code]
		}
		fmt.Fprintf(bw, "%s\t%s\t%s\t%s\t%s\t%s\n", short[c.System], c.Code, d.tty[c], name, strings.Join(d.byCode[c], ","), "rxnorm-import")
	}
	return bw.Flush()
}
