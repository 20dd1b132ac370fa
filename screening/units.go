package screening

import (
	"fmt"
	"math"
)

// unitGroup converts the UCUM codes accepted for one kind of value to its canonical unit.
// Conversion is by UCUM code only: display text never decides a unit.
type unitGroup struct {
	name      string
	canonical string
	factors   map[string]float64
	unitless  bool
}

// errUnit is returned when a quantity's unit cannot be converted.
type errUnit struct{ msg string }

func (e errUnit) Error() string { return e.msg }

// convert returns q's value in the group's canonical unit.
func (g *unitGroup) convert(q *Quantity) (float64, error) {
	if q.System != "" && q.System != SystemUCUM {
		return 0, errUnit{fmt.Sprintf("unit system %q is not UCUM", q.System)}
	}
	if q.Code == "" {
		if q.Unit == "" && g.unitless {
			return roundSig(q.Value), nil
		}
		if q.Unit != "" {
			return 0, errUnit{fmt.Sprintf("unit %q is given only as display text, without a UCUM code", q.Unit)}
		}
		return 0, errUnit{"the value has no unit"}
	}
	f, ok := g.factors[q.Code]
	if !ok {
		return 0, errUnit{fmt.Sprintf("UCUM unit %q cannot be converted to %s", q.Code, g.canonical)}
	}
	return roundSig(q.Value * f), nil
}

// roundSig rounds to 12 significant digits so that a conversion such as 1000 /uL / 1000
// compares equal to a threshold of 1 (boundaries are inclusive or exclusive on purpose).
func roundSig(v float64) float64 {
	if v == 0 || math.IsInf(v, 0) || math.IsNaN(v) {
		return v
	}
	scale := math.Pow(10, 11-math.Floor(math.Log10(math.Abs(v))))
	return math.Round(v*scale) / scale
}
