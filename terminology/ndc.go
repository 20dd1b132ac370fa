package terminology

import "strings"

// NDCForms gives the 11-digit (5-4-2) forms an NDC may stand for. Hyphenated 10-digit
// NDCs (4-4-2, 5-3-2, 5-4-1) pad their short segment with a zero and mean one product;
// an unhyphenated 10-digit NDC could be any of the three, so all are given and the
// caller must find exactly one in its table (readings that coincide are given once).
// Anything else gives nothing.
func NDCForms(code string) []string {
	code = strings.TrimSpace(code)
	if parts := strings.Split(code, "-"); len(parts) == 3 {
		a, b, c := parts[0], parts[1], parts[2]
		if !isDigits(a) || !isDigits(b) || !isDigits(c) {
			return nil
		}
		switch {
		case len(a) == 5 && len(b) == 4 && len(c) == 2:
		case len(a) == 4 && len(b) == 4 && len(c) == 2:
			a = "0" + a
		case len(a) == 5 && len(b) == 3 && len(c) == 2:
			b = "0" + b
		case len(a) == 5 && len(b) == 4 && len(c) == 1:
			c = "0" + c
		default:
			return nil
		}
		return []string{a + b + c}
	}
	if !isDigits(code) {
		return nil
	}
	switch len(code) {
	case 11:
		return []string{code}
	case 10:
		// The 5-3-2 and 5-4-1 readings coincide when the product segment is all zeros:
		// give each form once, so that one form in a table is one reading.
		forms := []string{"0" + code, code[:5] + "0" + code[5:], code[:9] + "0" + code[9:]}
		if forms[2] == forms[1] {
			forms = forms[:2]
		}
		if forms[1] == forms[0] {
			forms = forms[1:]
		}
		return forms
	}
	return nil
}
