package screening

import (
	"fmt"
	"math"
	"strconv"

	"gopkg.in/yaml.v3"
)

// compileUnits builds the unit groups. A factor that is not a finite number above 0 is
// a problem, not a default: read as 1, divide_by: 0 would let an ANC of 600 /uL pass as
// 600 x 10*9/L.
func (st *compileState) compileUnits() {
	for _, name := range sortedKeys(st.pf.Units) {
		g := st.pf.Units[name]
		ug := &unitGroup{name: name, canonical: g.Canonical, factors: map[string]float64{}, unitless: g.Unitless}
		if g.Canonical == "" {
			st.add(st.lineAt("units", name), "units.%s: canonical is required", name)
		}
		badCanonical := false
		for i, a := range g.Accept {
			if a.Code == "" {
				st.add(st.lineAt("units", name, "accept", i), "units.%s.accept[%d]: code is required", name, i)
				continue
			}
			f, ok := st.unitFactor(name, i, a)
			if !ok {
				// Said once: the canonical unit's own check below would only repeat it.
				badCanonical = badCanonical || a.Code == g.Canonical
				continue
			}
			if _, dup := ug.factors[a.Code]; dup {
				st.add(st.lineAt("units", name, "accept", i), "units.%s.accept[%d]: %s is listed twice", name, i, a.Code)
			}
			ug.factors[a.Code] = f
		}
		if f, ok := ug.factors[g.Canonical]; g.Canonical != "" && !badCanonical && (!ok || f != 1) {
			st.add(st.lineAt("units", name), "units.%s: the canonical unit %s must be accepted with no factor", name, g.Canonical)
		}
		st.units[name] = ug
	}
}

// unitFactor returns the factor of accept entry i of unit group name, or false after
// adding a problem for each factor that is not a finite number above 0. Both factors
// may be given: canonical = value * multiply_by / divide_by has one reading.
func (st *compileState) unitFactor(name string, i int, a UnitFactor) (float64, bool) {
	m, okM := st.factor(name, i, a.Code, "multiply_by", a.MultiplyBy)
	d, okD := st.factor(name, i, a.Code, "divide_by", a.DivideBy)
	return m / d, okM && okD
}

// factor is one factor of an accept entry: 1 when the key is left out.
func (st *compileState) factor(name string, i int, code, key string, v *float64) (float64, bool) {
	path := []any{"units", name, "accept", i, key}
	where := fmt.Sprintf("units.%s.accept[%d] (%s)", name, i, code)
	switch {
	case v == nil && st.nodeAt(path...) == nil:
		return 1, true
	case v == nil:
		// "divide_by:" with its number forgotten decodes as no factor at all.
		st.add(st.lineAt(path...), "%s: %s is empty: give a finite number above 0, or leave it out for no factor", where, key)
	case *v > 0 && !math.IsInf(*v, 1): // NaN is not > 0
		return *v, true
	default:
		st.add(st.lineAt(path...), "%s: %s must be a finite number above 0, not %s", where, key, st.written(*v, path...))
	}
	return 0, false
}

// written is a factor as the file spells it (".nan", "-.inf", "0.0"), else as Go prints it.
func (st *compileState) written(v float64, path ...any) string {
	if n := st.nodeAt(path...); n != nil && n.Kind == yaml.ScalarNode {
		return n.Value
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// nodeAt is the value node at a path of mapping keys (string) and sequence indexes
// (int), or nil when the file has no such node.
func (st *compileState) nodeAt(path ...any) *yaml.Node {
	if st.root == nil {
		return nil
	}
	cur := st.root
	if cur.Kind == yaml.DocumentNode && len(cur.Content) > 0 {
		cur = cur.Content[0]
	}
	for _, p := range path {
		var next *yaml.Node
		switch k := p.(type) {
		case string:
			for i := 0; cur.Kind == yaml.MappingNode && i+1 < len(cur.Content); i += 2 {
				if cur.Content[i].Value == k {
					next = cur.Content[i+1]
				}
			}
		case int:
			if cur.Kind == yaml.SequenceNode && k < len(cur.Content) {
				next = cur.Content[k]
			}
		}
		if next == nil {
			return nil
		}
		cur = next
	}
	return cur
}
