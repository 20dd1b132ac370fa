package terminology

import (
	"embed"
	"fmt"
	"sync"
)

// shipped is the data the binary carries: the drug table and the value set expansions,
// each with its provenance (data/DRUGS.md, data/VALUESETS.md).
//
//go:embed data
var shipped embed.FS

// Vocabulary is everything the engine knows about codes: systems and their aliases, the
// drug table, the value set expansions, and a site's mappings of local codes. It is
// built once at start-up and only read afterwards, so screenings share it.
type Vocabulary struct {
	Systems   *Systems
	Drugs     *Drugs
	ValueSets map[string]*ValueSet
	Site      *SiteMap
	// Expansion says where the value set expansions came from, for each result's
	// settings: "shipped" or a terminology server's, and when it failed, why.
	Expansion string
}

var (
	shippedOnce sync.Once
	shippedVoc  *Vocabulary
	shippedErr  error
)

// Shipped is the vocabulary of the shipped tables, with no site aliases or mappings. It
// is read once per process; callers must not change it (With gives a copy to extend).
func Shipped() (*Vocabulary, error) {
	shippedOnce.Do(func() { shippedVoc, shippedErr = loadShipped() })
	return shippedVoc, shippedErr
}

func loadShipped() (*Vocabulary, error) {
	sys, err := NewSystems(nil)
	if err != nil {
		return nil, err
	}
	f, err := shipped.Open("data/drugs.tsv")
	if err != nil {
		return nil, fmt.Errorf("shipped drug table: %w", err)
	}
	defer f.Close()
	drugs, err := ReadDrugs(f, "data/drugs.tsv")
	if err != nil {
		return nil, fmt.Errorf("shipped drug table: %w", err)
	}
	vs, err := ReadValueSets(shipped, "data/valuesets")
	if err != nil {
		return nil, fmt.Errorf("shipped value sets: %w", err)
	}
	// The displays are for people reading the files; a process keeps only the codes
	// (about 20,000 of them: every string kept is heap the collector scans).
	for _, v := range vs {
		for i := range v.Codes {
			v.Codes[i].Display = ""
		}
	}
	return &Vocabulary{Systems: sys, Drugs: drugs, ValueSets: vs, Site: NewSiteMap(), Expansion: "shipped"}, nil
}

// With returns a copy of v that a site may extend (aliases, an imported drug index, its
// ConceptMaps) without touching v.
func (v *Vocabulary) With() *Vocabulary {
	sys := &Systems{alias: make(map[string]string, len(v.Systems.alias)), site: v.Systems.site}
	for k, x := range v.Systems.alias {
		sys.alias[k] = x
	}
	drugs := NewDrugs()
	drugs.Merge(v.Drugs)
	drugs.Version = v.Drugs.Version
	site := NewSiteMap()
	for k, x := range v.Site.byCode {
		site.byCode[k] = append([]Coding(nil), x...)
	}
	site.Sources = append(site.Sources, v.Site.Sources...)
	vs := make(map[string]*ValueSet, len(v.ValueSets))
	for k, x := range v.ValueSets {
		vs[k] = x
	}
	return &Vocabulary{Systems: sys, Drugs: drugs, ValueSets: vs, Site: site, Expansion: v.Expansion}
}
