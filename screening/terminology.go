package screening

import (
	"context"
	"maps"
	"math/bits"
	"strings"

	"github.com/trialscreen/trialscreen/terminology"
)

// Code systems the protocol file may name by alias.
const (
	SystemLOINC  = terminology.LOINC
	SystemSNOMED = terminology.SNOMED
	SystemICD10  = terminology.ICD10CM
	// SystemICD10WHO is WHO ICD-10; its national editions (China's clinical edition, the
	// trial site's) arrive under aliases the terminology package resolves to it.
	SystemICD10WHO = terminology.ICD10
	SystemRxNorm   = terminology.RxNorm
	SystemNDC      = terminology.NDC
	SystemUCUM     = terminology.UCUM
	// Procedure classifications: hospitals code PCI and the like in these as often as in
	// SNOMED CT, and the reference gives them as ranges (prefixes).
	SystemICD10PCS = terminology.ICD10PCS
	SystemCPT      = terminology.CPT
)

// isPrefixSystem reports whether a protocol may match the system's codes by prefix: their
// codes are compared without dots or spaces and case-insensitively. (A switch: it is on
// the hot path of every match.)
func isPrefixSystem(system string) bool {
	switch system {
	case SystemICD10, SystemICD10WHO, SystemICD10PCS, SystemCPT:
		return true
	}
	return false
}

// normalizeCode puts a code of a prefix system into its compared form; other systems'
// codes are compared as written.
func normalizeCode(c Coding) Coding {
	c = c.Bare()
	if isPrefixSystem(c.System) {
		c.Code = normalizeICD(c.Code)
	}
	return c
}

// Terminology is the seam for a FHIR terminology server: given a codeset's curated codes
// it may return more (e.g. SNOMED CT descendants from ValueSet/$expand). The curated lists
// in the protocol file are used as they are when no Terminology is configured.
type Terminology interface {
	Expand(ctx context.Context, codeset string, codes []Coding) ([]Coding, error)
}

// codeKey is a coding as a map key: system and code only. Coding also carries Via, which
// is no part of what a code means, and hashing two strings instead of three matters on
// the hot path of every match.
type codeKey struct{ system, code string }

func keyOf(c Coding) codeKey { return codeKey{c.System, c.Code} }

// codeMatcher matches codings against a set of exact (system, code) pairs and code
// prefixes (ICD-10-CM, ICD-10-PCS, CPT). Codes of those systems are compared without dots
// and case-insensitively.
type codeMatcher struct {
	exact    map[codeKey]string // -> codeset name
	prefixes []icdPrefix
	// unverified holds (as true) the exact codes every listing of which is tagged U
	// (unverified): a rule may refuse to let such a code alone exclude a patient. Only
	// those: the value set expansions add thousands of verified codes.
	unverified map[codeKey]bool
	all        bool // matches every coding (a criterion that reads all resources of a type)
	// borrowed: exact and unverified belong to another matcher (merged into this
	// one while it was empty) and are copied before this one changes them. Criteria merge
	// codesets of thousands of codes (value set expansions); sharing them keeps one copy
	// in memory, which matters to the collector on every screening.
	borrowed bool
	mask     codesetMask // the codesets merged into this matcher
	ids      []int       // the same codesets, as ids
}

type icdPrefix struct {
	system     string
	prefix     string
	codeset    string
	unverified bool
}

func newCodeMatcher() *codeMatcher {
	return &codeMatcher{exact: map[codeKey]string{}, unverified: map[codeKey]bool{}}
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

// own makes a borrowing matcher's code tables its own before it changes them.
func (m *codeMatcher) own() {
	if !m.borrowed {
		return
	}
	m.exact = maps.Clone(m.exact)
	m.unverified = maps.Clone(m.unverified)
	m.borrowed = false
}

func (m *codeMatcher) addCode(c Coding, codeset string, unverified bool) {
	m.own()
	c = normalizeCode(c)
	k := keyOf(c)
	_, listed := m.exact[k]
	m.setUnverified(k, unverified && (!listed || m.unverified[k])) // unverified only while no listing is verified
	m.exact[k] = codeset
}

func (m *codeMatcher) setUnverified(k codeKey, u bool) {
	if u {
		m.unverified[k] = true
	} else {
		delete(m.unverified, k)
	}
}

func (m *codeMatcher) addPrefix(system, prefix, codeset string, unverified bool) {
	m.prefixes = append(m.prefixes, icdPrefix{system, normalizeICD(prefix), codeset, unverified})
}

// merge adds every code of o. Merging into an empty matcher borrows o's tables (see
// borrowed) instead of copying them.
func (m *codeMatcher) merge(o *codeMatcher) {
	if len(m.exact) == 0 {
		m.exact, m.unverified, m.borrowed = o.exact, o.unverified, true
		m.prefixes = append(m.prefixes, o.prefixes...)
		m.all = m.all || o.all
		m.ids = append(m.ids, o.ids...)
		m.mask.or(o.mask)
		return
	}
	m.own()
	for k, set := range o.exact {
		_, listed := m.exact[k]
		m.setUnverified(k, o.unverified[k] && (!listed || m.unverified[k]))
		m.exact[k] = set
	}
	m.prefixes = append(m.prefixes, o.prefixes...)
	m.all = m.all || o.all
	for _, id := range o.ids {
		if !m.mask.has(id) {
			m.ids = append(m.ids, id)
		}
	}
	m.mask.or(o.mask)
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
		if isPrefixSystem(c.System) {
			n := normalizeICD(c.Code)
			if set, ok := m.exact[codeKey{c.System, n}]; ok {
				return c, set, true
			}
			for _, p := range m.prefixes {
				if p.system == c.System && strings.HasPrefix(n, p.prefix) {
					return c, p.codeset, true
				}
			}
			continue
		}
		if set, ok := m.exact[keyOf(c)]; ok {
			return c, set, true
		}
	}
	return Coding{}, "", false
}

// unverifiedOnly reports whether c (a coding this matcher matched) is listed only under
// source U: no verified exact code or prefix covers it.
func (m *codeMatcher) unverifiedOnly(c Coding) bool {
	if m == nil || m.all {
		return false
	}
	n := normalizeCode(c)
	listed := false
	if _, ok := m.exact[keyOf(n)]; ok {
		if !m.unverified[keyOf(n)] {
			return false
		}
		listed = true
	}
	if isPrefixSystem(c.System) {
		for _, p := range m.prefixes {
			if p.system == c.System && strings.HasPrefix(n.Code, p.prefix) {
				if !p.unverified {
					return false
				}
				listed = true
			}
		}
	}
	return listed
}

// allUnverified reports whether every coding of a record that this matcher matches is
// listed only under source U. Without the record's codings, the matched one decides.
func (m *codeMatcher) allUnverified(codes []Coding, matched Coding) bool {
	if len(codes) == 0 {
		return m.unverifiedOnly(matched)
	}
	found := false
	for i := range codes {
		if !m.matches(codes[i : i+1]) {
			continue
		}
		if !m.unverifiedOnly(codes[i]) {
			return false
		}
		found = true
	}
	return found
}

// verifiedBeside returns a verified coding of the record that matches, when the one the
// match named is unverified only: the evidence then names what really excludes.
func (m *codeMatcher) verifiedBeside(codes []Coding, matched Coding) (Coding, bool) {
	if !m.unverifiedOnly(matched) {
		return Coding{}, false
	}
	for i := range codes {
		if m.matches(codes[i:i+1]) && !m.unverifiedOnly(codes[i]) {
			return codes[i], true
		}
	}
	return Coding{}, false
}

func (m *codeMatcher) matches(codes []Coding) bool {
	_, _, ok := m.match(codes)
	return ok
}

// maxCodesets is how many codesets a protocol may define: one bit each in a codesetMask.
const maxCodesets = 256

// codesetMask is a set of codesets, one bit each. A screening computes every record's
// mask once; a criterion then skips the records that share no codeset with it without
// hashing their codings again, which is most records for most criteria.
type codesetMask [maxCodesets / 64]uint64

func (m *codesetMask) set(i int) { m[i/64] |= 1 << (uint(i) % 64) }

func (m *codesetMask) has(i int) bool { return m[i/64]&(1<<(uint(i)%64)) != 0 }

// each calls fn with every codeset id in the mask.
func (m *codesetMask) each(fn func(id int)) {
	for w, word := range m {
		for word != 0 {
			b := bits.TrailingZeros64(word)
			fn(w*64 + b)
			word &= word - 1
		}
	}
}

func (m *codesetMask) or(o codesetMask) {
	for i := range m {
		m[i] |= o[i]
	}
}

func (m *codesetMask) intersects(o *codesetMask) bool {
	for i := range m {
		if m[i]&o[i] != 0 {
			return true
		}
	}
	return false
}

// maskIndex gives the codesets a coding belongs to.
type maskIndex struct {
	exact    map[codeKey]codesetMask
	prefixes []maskPrefix
	n        int // codesets indexed: ids are 0..n-1
}

type maskPrefix struct {
	system string
	prefix string
	mask   codesetMask
}

func newMaskIndex() *maskIndex { return &maskIndex{exact: map[codeKey]codesetMask{}} }

// add records that every code of m belongs to codeset id.
func (ix *maskIndex) add(id int, m *codeMatcher) {
	ix.n = max(ix.n, id+1)
	for k := range m.exact {
		bits := ix.exact[k]
		bits.set(id)
		ix.exact[k] = bits
	}
	for _, p := range m.prefixes {
		var bits codesetMask
		bits.set(id)
		ix.prefixes = append(ix.prefixes, maskPrefix{p.system, p.prefix, bits})
	}
}

// of is the set of codesets any of the codings belongs to.
func (ix *maskIndex) of(codes []Coding) codesetMask {
	var out codesetMask
	for _, c := range codes {
		if isPrefixSystem(c.System) {
			c.Code = normalizeICD(c.Code)
			for _, p := range ix.prefixes {
				if p.system == c.System && strings.HasPrefix(c.Code, p.prefix) {
					out.or(p.mask)
				}
			}
		}
		if bits, ok := ix.exact[keyOf(c)]; ok {
			out.or(bits)
		}
	}
	return out
}

// Terminology describes the vocabulary the protocol places codes with, as each
// screening's settings report it. It is shared: callers must not change it.
func (p *Protocol) Terminology() *TerminologyReport { return p.terminology }

// terminologyReport describes a vocabulary for each result's settings.
func terminologyReport(v *terminology.Vocabulary) *TerminologyReport {
	r := &TerminologyReport{
		DrugTable: DrugTableReport{Version: v.Drugs.Version, Rows: v.Drugs.Len()},
		ValueSets: len(v.ValueSets),
		SiteMaps:  append([]string{}, v.Site.Sources...),
		Expansion: v.Expansion,
	}
	r.SystemAliases = v.Systems.SiteAliases()
	return r
}

// relevance is what criteria read in one resource type: the codesets, as a mask over the
// protocol's mask index, or everything. A mask instead of a merged code table: the
// union of every codeset (value set expansions of thousands of codes) would otherwise
// be held again per type, and the collector scans all of it on every cycle.
type relevance struct {
	mask codesetMask
	all  bool
}

func (r *relevance) add(m *codeMatcher) {
	r.mask.or(m.mask)
	r.all = r.all || m.all
}

// matches reports whether any of the codings belongs to a codeset read in this type.
func (r *relevance) matches(ix *maskIndex, codes []Coding) bool {
	if r == nil {
		return false
	}
	if r.all {
		return true
	}
	m := ix.of(codes)
	return m.intersects(&r.mask)
}
