package api

import (
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The engine writes its summaries and notes for the verdict document, with UCUM codes,
// RFC 3339 instants, ASCII comparators and full precision ("ANC 0.6 10*9/L on
// 2026-11-16T08:00:00Z does not meet >= 1"). readable rewrites those tokens as the rest
// of the page writes them, and touches nothing else of the text.
func readable(s string) string {
	if s == "" {
		return s
	}
	s = instantRE.ReplaceAllStringFunc(s, func(m string) string {
		if t, err := time.Parse(time.RFC3339, m); err == nil {
			return displayTime(t)
		}
		return m
	})
	s = roundDecimals(s)
	s = quantityRE.ReplaceAllStringFunc(s, func(m string) string {
		g := quantityRE.FindStringSubmatch(m)
		number, _, _ := strings.Cut(m, " ")
		return withUnit(number, g[2]) + g[3]
	})
	return operatorWords.Replace(s)
}

var (
	instantRE = regexp.MustCompile(`\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})`)
	decimalRE = regexp.MustCompile(`\d+\.\d+`)
	// A number followed by a unit code the unit table rewrites (so "a" is only a unit
	// after a number, never the article).
	quantityRE    = regexp.MustCompile(`\b\d+(\.\d+)? (` + unitAlternatives() + `)(\b|$|[^\w/*\[{])`)
	operatorWords = strings.NewReplacer(" >= ", " ≥ ", " <= ", " ≤ ", " x ", " × ")
)

// roundDecimals rounds the decimal numbers in s as the page rounds values ("CrCl 39.37"
// -> "CrCl 39"), leaving alone what only looks like one: a part of a code or a version
// ("C90.02", "1.0.0", "2026-12-06.1"), told by a letter, digit or dot touching it.
func roundDecimals(s string) string {
	var b strings.Builder
	last := 0
	for _, m := range decimalRE.FindAllStringIndex(s, -1) {
		if m[0] > 0 && (partOfToken(s[m[0]-1]) || s[m[0]-1] == '-' && m[0] > 1 && partOfToken(s[m[0]-2])) || m[1] < len(s) && (partOfToken(s[m[1]]) || s[m[1]] == '.' && m[1]+1 < len(s) && partOfToken(s[m[1]+1])) {
			continue
		}
		v, err := strconv.ParseFloat(s[m[0]:m[1]], 64)
		if err != nil {
			continue
		}
		b.WriteString(s[last:m[0]])
		b.WriteString(clinicalNumber(v))
		last = m[1]
	}
	b.WriteString(s[last:])
	return b.String()
}

func partOfToken(c byte) bool {
	return c == '.' || c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// unitAlternatives is the unit table's codes as a regexp alternation, longest first so
// that "10*9/L" is not read as a shorter code.
func unitAlternatives() string {
	codes := make([]string, 0, len(unitText))
	for c := range unitText {
		if strings.Trim(c, "0123456789") == "" {
			continue // a bare number ("1") is no unit to find in text
		}
		codes = append(codes, regexp.QuoteMeta(c))
	}
	sort.Slice(codes, func(i, j int) bool {
		return len(codes[i]) > len(codes[j]) || (len(codes[i]) == len(codes[j]) && codes[i] < codes[j])
	})
	return strings.Join(codes, "|")
}
