package terminology

import (
	"bufio"
	"fmt"
	"io"
	"maps"
	"strings"
)

// Canonical URIs of the code systems the engine reads.
const (
	LOINC    = "http://loinc.org"
	SNOMED   = "http://snomed.info/sct"
	ICD10CM  = "http://hl7.org/fhir/sid/icd-10-cm"
	ICD10    = "http://hl7.org/fhir/sid/icd-10" // WHO ICD-10; national editions are aliases
	RxNorm   = "http://www.nlm.nih.gov/research/umls/rxnorm"
	NDC      = "http://hl7.org/fhir/sid/ndc"
	UCUM     = "http://unitsofmeasure.org"
	ICD10PCS = "http://www.cms.gov/Medicare/Coding/ICD10"
	CPT      = "http://www.ama-assn.org/go/cpt"
	HCPCS    = "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"
	// V3Interpretation is HL7's observation interpretation code system (POS, NEG, ...).
	V3Interpretation = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
)

// systemInfo is what the engine knows of one code system.
type systemInfo struct {
	name string
	oid  string
	// other spellings senders use for the same system (besides urn:oid:OID)
	aliases []string
}

// knownSystems is the one table of code systems: canonical URI, the name people read,
// the HL7 OID (senders write it as urn:oid:...), and other spellings seen in real feeds.
// The OIDs are HL7's registrations (terminology.hl7.org's identifier lists).
var knownSystems = map[string]systemInfo{
	SNOMED:   {name: "SNOMED CT", oid: "2.16.840.1.113883.6.96", aliases: []string{"https://snomed.info/sct", "http://snomed.info/sct/"}},
	LOINC:    {name: "LOINC", oid: "2.16.840.1.113883.6.1", aliases: []string{"https://loinc.org", "http://loinc.org/"}},
	ICD10CM:  {name: "ICD-10-CM", oid: "2.16.840.1.113883.6.90", aliases: []string{"http://hl7.org/fhir/sid/icd-10-us"}},
	ICD10:    {name: "ICD-10", oid: "2.16.840.1.113883.6.3", aliases: []string{"http://hl7.org/fhir/sid/icd-10-who", "http://id.who.int/icd/release/10"}},
	RxNorm:   {name: "RxNorm", oid: "2.16.840.1.113883.6.88", aliases: []string{"https://www.nlm.nih.gov/research/umls/rxnorm", "http://www.nlm.nih.gov/research/umls/rxnorm/"}},
	NDC:      {name: "NDC", oid: "2.16.840.1.113883.6.69"},
	UCUM:     {name: "UCUM", oid: "2.16.840.1.113883.6.8"},
	ICD10PCS: {name: "ICD-10-PCS", oid: "2.16.840.1.113883.6.4", aliases: []string{"http://hl7.org/fhir/sid/icd-10-pcs"}},
	CPT:      {name: "CPT", oid: "2.16.840.1.113883.6.12"},
	HCPCS:    {name: "HCPCS", oid: "2.16.840.1.113883.6.285"},
	V3Interpretation: {name: "HL7 interpretation", oid: "2.16.840.1.113883.5.83",
		aliases: []string{"http://hl7.org/fhir/v3/ObservationInterpretation"}},
}

// nationalICD10 are national editions of WHO ICD-10 that keep its codes and add finer
// ones beneath them, so a WHO prefix decides them: China's clinical edition (the trial
// site's; GB/T 14396 as registered in China's health information standards), Germany's
// ICD-10-GM, Canada's ICD-10-CA, Australia's ICD-10-AM. ICD-10-CM is not among them: it
// departs from WHO in places and the protocol lists its prefixes separately.
var nationalICD10 = []string{
	"urn:oid:2.16.156.10011.2.3.3.11",   // 疾病分类与代码 (ICD-10), as Chinese CDA and FHIR documents write it
	"urn:oid:2.16.156.10011.2.3.3.11.3", // its diagnosis table variant, seen in the same documents
	"http://fhir.de/CodeSystem/bfarm/icd-10-gm",
	"http://fhir.de/CodeSystem/dimdi/icd-10-gm",
	"urn:oid:1.2.276.0.76.5.424",
	"http://hl7.org/fhir/sid/icd-10-ca",
	"http://hl7.org/fhir/sid/icd-10-am",
}

// SystemName is the name of a known system for people ("SNOMED CT"), or "".
func SystemName(system string) string { return knownSystems[system].name }

// Systems resolves the URIs records write code systems under to canonical ones. A site
// adds the aliases of its own systems (its national ICD-10 edition, say).
type Systems struct {
	alias map[string]string // any accepted spelling -> canonical URI
	site  int               // how many of them a site added
}

// NewSystems builds the table of built-in systems and their aliases, plus a site's
// (spelling -> canonical URI of a known system).
func NewSystems(site map[string]string) (*Systems, error) {
	s := &Systems{alias: map[string]string{}}
	for uri, info := range knownSystems {
		s.alias["urn:oid:"+info.oid] = uri
		for _, a := range info.aliases {
			s.alias[a] = uri
		}
	}
	for _, a := range nationalICD10 {
		s.alias[a] = ICD10
	}
	for from, to := range site {
		if err := s.Add(from, to); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Add declares that records write system to under the spelling from.
func (s *Systems) Add(from, to string) error {
	if _, ok := knownSystems[to]; !ok {
		return &AliasError{Alias: from, Target: to, Problem: "names no known code system (give a canonical URI such as " + ICD10 + ")"}
	}
	// A spelling that already means a known system (the system itself, one of its OIDs or
	// aliases, a SNOMED CT edition) cannot be made to mean another.
	if cur := s.Canonical(from); Known(cur) && cur != to {
		return &AliasError{Alias: from, Target: to, Problem: "already names " + cur + " and cannot mean another system"}
	}
	if from == "" || strings.TrimSpace(from) != from {
		return &AliasError{Alias: from, Target: to, Problem: "is empty or has surrounding spaces"}
	}
	if had, ok := s.alias[from]; ok {
		if had != to {
			return &AliasError{Alias: from, Target: to, Problem: "is already an alias of " + had}
		}
		return nil
	}
	s.alias[from] = to
	s.site++
	return nil
}

// SiteAliases is how many aliases a site added (Add, ReadAliases) besides the built-in
// ones.
func (s *Systems) SiteAliases() int { return s.site }

// ReadAliases reads a site's code system aliases and adds them: one "alias-uri
// canonical-uri" a line (e.g. a site's own URI for its ICD-10 edition, then
// http://hl7.org/fhir/sid/icd-10), '#' comment lines and blank lines ignored. Every
// problem is reported with its line; nothing is added when there is one.
func (s *Systems) ReadAliases(r io.Reader, name string) error {
	sc := bufio.NewScanner(r)
	var probs []string
	type alias struct {
		line     int
		from, to string
	}
	var add []alias
	given := map[string]int{}
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		f := strings.Fields(text)
		if len(f) != 2 {
			probs = append(probs, fmt.Sprintf("%s:%d: want two URIs, \"alias-uri canonical-uri\", not %d fields", name, line, len(f)))
			continue
		}
		if !strings.Contains(f[0], ":") {
			probs = append(probs, fmt.Sprintf("%s:%d: alias %q is not a URI (e.g. urn:oid:1.2.3 or http://example.org/fhir/CodeSystem/icd-10)", name, line, f[0]))
			continue
		}
		if first, dup := given[f[0]]; dup {
			probs = append(probs, fmt.Sprintf("%s:%d: alias %q is given on line %d too", name, line, f[0], first))
			continue
		}
		given[f[0]] = line
		add = append(add, alias{line, f[0], f[1]})
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	trial := &Systems{alias: maps.Clone(s.alias)}
	for _, a := range add {
		if err := trial.Add(a.from, a.to); err != nil {
			probs = append(probs, fmt.Sprintf("%s:%d: %v", name, a.line, err))
		}
	}
	if len(probs) > 0 {
		return &TableError{Problems: probs}
	}
	s.alias = trial.alias
	s.site += trial.site
	return nil
}

// AliasError is a site alias that cannot be accepted.
type AliasError struct{ Alias, Target, Problem string }

func (e *AliasError) Error() string {
	return "code system alias " + quote(e.Alias) + " -> " + quote(e.Target) + ": " + e.Problem
}

func quote(s string) string { return `"` + s + `"` }

// Canonical returns the canonical URI of a system written under any known spelling, and
// the URI itself when it is canonical or unknown. It is on the hot path of every coding
// read, so a canonical URI costs one map miss and no allocation.
func (s *Systems) Canonical(system string) string {
	switch system {
	case LOINC, SNOMED, RxNorm, ICD10CM, ICD10, UCUM, NDC:
		return system // the common case: no hashing
	}
	if to, ok := s.alias[system]; ok {
		return to
	}
	// SNOMED CT editions are sometimes written as the system itself
	// (http://snomed.info/sct/731000124108): the edition does not change a concept.
	if rest, ok := strings.CutPrefix(system, SNOMED+"/"); ok && rest != "" && isDigits(strings.SplitN(rest, "/", 2)[0]) {
		return SNOMED
	}
	return system
}

// Known reports whether a canonical URI is a system the engine knows.
func Known(system string) bool { _, ok := knownSystems[system]; return ok }

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
