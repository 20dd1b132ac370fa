package api

import "testing"

func TestFreeTextProblem(t *testing.T) {
	for _, ok := range []string{"", "met on 3 Dec.\nECOG 1, see note\tin chart\r\n", "Émile <b>&amp;</b> 中文 🙂", "\u200f\u200e"} {
		if p := freeTextProblem(ok); p != "" {
			t.Errorf("freeTextProblem(%q) = %q, want none", ok, p)
		}
	}
	for in, want := range map[string]string{
		"a\x00b":       "contains the control character U+0000 (only text, tabs and line breaks are kept)",
		"x\x1b[31mred": "contains the control character U+001B (only text, tabs and line breaks are kept)",
		"del\x7f":      "contains the control character U+007F (only text, tabs and line breaks are kept)",
		"a\u0085b":     "contains the control character U+0085 (only text, tabs and line breaks are kept)",
		"abc\u202edef": "contains the control character U+202E (only text, tabs and line breaks are kept)",
		"\u2066iso":    "contains the control character U+2066 (only text, tabs and line breaks are kept)",
	} {
		if got := freeTextProblem(in); got != want {
			t.Errorf("freeTextProblem(%q) = %q, want %q", in, got, want)
		}
	}
}
