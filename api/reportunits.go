package api

import "strings"

// unitText is how the report writes the UCUM codes the protocol and records use, where
// the code is obscure to a reader: annotations ({score}) are no unit, "a" is years,
// powers of ten are written as powers. One table, so every page writes a unit alike; a
// code not listed is shown as it is (it is already plain: mg/dL, U/L, kg).
var unitText = map[string]string{
	"%":                "%",
	"{score}":          "",
	"{ratio}":          "",
	"{index}":          "",
	"1":                "",
	"a":                "years",
	"mo":               "months",
	"wk":               "weeks",
	"d":                "days",
	"h":                "hours",
	"min":              "minutes",
	"10*9/L":           "×10⁹/L",
	"10*12/L":          "×10¹²/L",
	"10*3/uL":          "×10³/µL",
	"10*6/uL":          "×10⁶/µL",
	"10*3/mm3":         "×10³/mm³",
	"/uL":              "/µL",
	"/mm3":             "/mm³",
	"umol/L":           "µmol/L",
	"ug/L":             "µg/L",
	"ug/dL":            "µg/dL",
	"ug/mL":            "µg/mL",
	"[IU]/L":           "IU/L",
	"m[IU]/mL":         "mIU/mL",
	"[iU]/L":           "IU/L",
	"mm[Hg]":           "mmHg",
	"Cel":              "°C",
	"[degF]":           "°F",
	"[lb_av]":          "lb",
	"mL/min/{1.73_m2}": "mL/min/1.73 m²",
}

// unitWords is the unit as the report writes it.
func unitWords(ucum string) string {
	if w, ok := unitText[ucum]; ok {
		return w
	}
	return ucum
}

// withUnit joins a number and its unit as people write them: "82%", "1.8 ×10⁹/L", a
// score bare.
func withUnit(number, ucum string) string {
	switch u := unitWords(ucum); {
	case u == "":
		return number
	case u == "%" || strings.HasPrefix(u, "°"):
		return number + u
	default:
		return number + " " + u
	}
}
