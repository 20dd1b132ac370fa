package screening

// meets is what a value, or a bound on one, says of "value op limit".
type meets byte

const (
	meetsAll  meets = iota // every value allowed meets it
	meetsNone              // no value allowed meets it
	meetsSome              // some do, some do not: the result cannot decide
)

// meetsLimit holds a value against "x op limit". bound is "" for an exact value, else
// the comparator of a result given only as a bound ("<" 0.5: every x below 0.5).
func meetsLimit(v float64, bound, op string, limit float64) meets {
	if bound == "" {
		if compare(v, op, limit) {
			return meetsAll
		}
		return meetsNone
	}
	upper := bound == "<" || bound == "<="
	strict := bound == "<" || bound == ">"
	if !upper && bound != ">" && bound != ">=" {
		return meetsSome // "ad" (sufficient to achieve) or anything else: no side can be told
	}
	below := op == "<" || op == "<="
	// The bound's values run from v away to infinity on one side. Toward the side op
	// accepts, the rule may hold for all of them; toward the other, for none.
	if upper == below {
		// All meet when v itself (or, for a strict bound, everything short of it) does.
		if compare(v, op, limit) || strict && v == limit {
			return meetsAll
		}
		return meetsSome
	}
	// None meet when v itself fails the rule (or, for a strict bound, v is the limit of
	// a rule that includes it: x < 1 never meets x >= 1).
	if !compare(v, op, limit) {
		return meetsNone
	}
	if strict && v == limit {
		return meetsNone
	}
	return meetsSome
}
