package screening

import (
	"context"
	"strings"
)

// Code systems the protocol file may name by alias.
const (
	SystemLOINC  = "http://loinc.org"
	SystemSNOMED = "http://snomed.info/sct"
	SystemICD10  = "http://hl7.org/fhir/sid/icd-10-cm"
	SystemRxNorm = "http://www.nlm.nih.gov/research/umls/rxnorm"
	SystemUCUM   = "http://unitsofmeasure.org"
)

// Terminology is the seam for a FHIR terminology server: given a codeset's curated codes
// it may return more (e.g. SNOMED CT descendants from ValueSet/$expand). The curated lists
// in the protocol file are used as they are when no Terminology is configured.
type Terminology interface {
	Expand(ctx context.Context, codeset string, codes []Coding) ([]Coding, error)
}

// codeMatcher matches codings against a set of exact (system, code) pairs and
// ICD-10-CM prefixes. ICD-10-CM codes are compared without dots and case-insensitively.
type codeMatcher struct {
	exact    map[Coding]string // -> codeset name
	list     []Coding          // the exact codes in the order added, for indexed lookups
	prefixes []icdPrefix
	all      bool // matches every coding (a criterion that reads all resources of a type)
}

type icdPrefix struct {
	prefix  string
	codeset string
}

func newCodeMatcher() *codeMatcher {
	return &codeMatcher{exact: map[Coding]string{}}
}

// normalizeICD strips dots and spaces and upper-cases, so C90.02 matches C9002. It is on
// the hot path of every condition match, so it allocates only when it must change code.
func normalizeICD(code string) string {
	clean := true
	for i := 0; i < len(code); i++ {
		if c := code[i]; c == '.' || c == ' ' || ('a' <= c && c <= 'z') {
			clean = false
			break
		}
	}
	if clean {
		return code
	}
	b := make([]byte, 0, len(code))
	for i := 0; i < len(code); i++ {
		c := code[i]
		switch {
		case c == '.' || c == ' ':
		case 'a' <= c && c <= 'z':
			b = append(b, c-'a'+'A')
		default:
			b = append(b, c)
		}
	}
	return string(b)
}

func (m *codeMatcher) addCode(c Coding, codeset string) {
	if c.System == SystemICD10 {
		c.Code = normalizeICD(c.Code)
	}
	if _, ok := m.exact[c]; !ok {
		m.list = append(m.list, c)
	}
	m.exact[c] = codeset
}

func (m *codeMatcher) addPrefix(prefix, codeset string) {
	m.prefixes = append(m.prefixes, icdPrefix{normalizeICD(prefix), codeset})
}

// merge adds every code of o.
func (m *codeMatcher) merge(o *codeMatcher) {
	for _, c := range o.list {
		if _, ok := m.exact[c]; !ok {
			m.list = append(m.list, c)
		}
		m.exact[c] = o.exact[c]
	}
	m.prefixes = append(m.prefixes, o.prefixes...)
	m.all = m.all || o.all
}

func (m *codeMatcher) empty() bool {
	return m == nil || (!m.all && len(m.exact) == 0 && len(m.prefixes) == 0)
}

// match returns the first coding that matches and the codeset it belongs to.
func (m *codeMatcher) match(codes []Coding) (Coding, string, bool) {
	if m == nil {
		return Coding{}, "", false
	}
	if len(m.exact) == 0 && len(m.prefixes) == 0 && !m.all {
		return Coding{}, "", false
	}
	if m.all {
		if len(codes) > 0 {
			return codes[0], "", true
		}
		return Coding{}, "", true
	}
	for _, c := range codes {
		if c.System == SystemICD10 {
			n := normalizeICD(c.Code)
			if set, ok := m.exact[Coding{c.System, n}]; ok {
				return c, set, true
			}
			for _, p := range m.prefixes {
				if strings.HasPrefix(n, p.prefix) {
					return c, p.codeset, true
				}
			}
			continue
		}
		if set, ok := m.exact[c]; ok {
			return c, set, true
		}
	}
	return Coding{}, "", false
}

func (m *codeMatcher) matches(codes []Coding) bool {
	_, _, ok := m.match(codes)
	return ok
}
