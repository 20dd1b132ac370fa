package screening

// UnitConversion is one accepted code of a unit group with its factor to the group's
// canonical unit, as compiled (canonical = value * Factor).
type UnitConversion struct {
	Group, Canonical, Code string
	Factor                 float64
	Unitless               bool // the group reads a value without a unit as canonical
}

// UnitConversions lists every accepted code of every unit group of p, by group and
// code, for the UCUM cross-check (ucum_test.go).
func UnitConversions(p *Protocol) []UnitConversion {
	var out []UnitConversion
	for _, name := range sortedKeys(p.units) {
		g := p.units[name]
		for _, code := range sortedKeys(g.factors) {
			out = append(out, UnitConversion{Group: name, Canonical: g.canonical, Code: code, Factor: g.factors[code], Unitless: g.unitless})
		}
	}
	return out
}
