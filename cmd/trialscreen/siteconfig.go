package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/trialscreen/trialscreen/protocols"
	"github.com/trialscreen/trialscreen/screening"
	"github.com/trialscreen/trialscreen/terminology"
)

// Environment variables of a site's terminology, read by serve, screen, batch,
// protocol check and terminology report alike: the codes a site's records carry are
// placed with the shipped vocabulary plus these.
const (
	// envDrugIndex is a drug table (trialscreen terminology import-rxnorm writes one from
	// the RxNorm release) merged over the shipped one.
	envDrugIndex = "TRIALSCREEN_DRUG_INDEX"
	// envSiteConceptMaps is a comma-separated list of FHIR R4 ConceptMap JSON files, or
	// directories of them (*.json), mapping the site's local codes to standard ones.
	envSiteConceptMaps = "TRIALSCREEN_SITE_CONCEPTMAPS"
	// envSystemAliases is a file of lines "alias-uri canonical-uri": the URIs the site's
	// records write known code systems under.
	envSystemAliases = "TRIALSCREEN_SYSTEM_ALIASES"
)

// siteEnvVars are the variables of a site's terminology, in the order they are applied.
var siteEnvVars = []string{envSystemAliases, envSiteConceptMaps, envDrugIndex}

// maxProblemsPerVar bounds the problems listed for one variable: a wrong file given as a
// drug index would otherwise list every line.
const maxProblemsPerVar = 20

// siteTerms is the vocabulary a process screens with: nil voc means the shipped one.
type siteTerms struct {
	voc *terminology.Vocabulary
}

// readSiteTerms builds the site's vocabulary from the environment: the shipped one with
// the site's aliases, then its ConceptMaps (whose systems the aliases resolve), then the
// drug index laid over the shipped drug table. Every problem is named by its variable,
// file and line or element; all are reported at once.
func readSiteTerms(getenv func(string) string) (*siteTerms, error) {
	aliases := strings.TrimSpace(getenv(envSystemAliases))
	maps := strings.TrimSpace(getenv(envSiteConceptMaps))
	index := strings.TrimSpace(getenv(envDrugIndex))
	if aliases == "" && maps == "" && index == "" {
		return &siteTerms{}, nil
	}
	shipped, err := terminology.Shipped()
	if err != nil {
		return nil, err
	}
	v := shipped.With()
	var problems []string
	bad := func(name string, err error) {
		var te *terminology.TableError
		ps := []string{err.Error()}
		if errors.As(err, &te) {
			ps = te.Problems
		}
		for i, p := range ps {
			if i == maxProblemsPerVar {
				problems = append(problems, fmt.Sprintf("%s: ... and %d more problems", name, len(ps)-i))
				break
			}
			problems = append(problems, name+": "+p)
		}
	}
	if aliases != "" {
		if f, err := os.Open(aliases); err != nil {
			bad(envSystemAliases, err)
		} else {
			if err := v.Systems.ReadAliases(f, aliases); err != nil {
				bad(envSystemAliases, err)
			}
			f.Close()
		}
	}
	if maps != "" {
		files, err := conceptMapFiles(maps)
		if err != nil {
			bad(envSiteConceptMaps, err)
		}
		for _, path := range files {
			data, err := os.ReadFile(path)
			if err != nil {
				bad(envSiteConceptMaps, err)
				continue
			}
			if err := v.Site.AddConceptMap(data, path, v.Systems); err != nil {
				bad(envSiteConceptMaps, err)
			}
		}
	}
	if index != "" {
		if f, err := os.Open(index); err != nil {
			bad(envDrugIndex, err)
		} else {
			d, err := terminology.ReadDrugs(f, index)
			f.Close()
			if err != nil {
				bad(envDrugIndex, err)
			} else {
				if d.Version == "" {
					d.Version = filepath.Base(index)
				}
				v.Drugs = terminology.Overlay(v.Drugs, d)
			}
		}
	}
	if len(problems) > 0 {
		return nil, errors.New("the site's terminology has problems:\n  " + strings.Join(problems, "\n  "))
	}
	return &siteTerms{voc: v}, nil
}

// conceptMapFiles expands TRIALSCREEN_SITE_CONCEPTMAPS: files as named, directories as
// their *.json files in name order.
func conceptMapFiles(list string) ([]string, error) {
	var out []string
	var probs []string
	for _, p := range strings.Split(list, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		st, err := os.Stat(p)
		if err != nil {
			probs = append(probs, err.Error())
			continue
		}
		if !st.IsDir() {
			out = append(out, p)
			continue
		}
		files, err := filepath.Glob(filepath.Join(p, "*.json"))
		if err != nil {
			probs = append(probs, err.Error())
			continue
		}
		if len(files) == 0 {
			probs = append(probs, p+": the directory holds no ConceptMap .json files")
		}
		sort.Strings(files)
		out = append(out, files...)
	}
	if len(probs) > 0 {
		return out, &terminology.TableError{Problems: probs}
	}
	return out, nil
}

// vocabulary is the one in use: the site's, or the shipped one.
func (s *siteTerms) vocabulary() (*terminology.Vocabulary, error) {
	if s != nil && s.voc != nil {
		return s.voc, nil
	}
	return terminology.Shipped()
}

// custom reports whether a site configuration is in use.
func (s *siteTerms) custom() bool { return s != nil && s.voc != nil }

// summary describes the vocabulary for the start-up log, without patient data.
func (s *siteTerms) summary() []any {
	v, err := s.vocabulary()
	if err != nil {
		return []any{"error", err.Error()}
	}
	return []any{
		"drug_table", v.Drugs.Version, "drug_rows", v.Drugs.Len(),
		"value_sets", len(v.ValueSets),
		"site_maps", len(v.Site.Sources), "site_mapped_codes", v.Site.Len(),
		"system_aliases", v.Systems.SiteAliases(),
	}
}

// summaryLine is summary as one line for a terminal.
func (s *siteTerms) summaryLine() string {
	kv := s.summary()
	parts := make([]string, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		parts = append(parts, fmt.Sprintf("%v=%v", kv[i], kv[i+1]))
	}
	return "terminology: " + strings.Join(parts, " ")
}

// loadProtocol compiles the protocol (a file, or the built-in one) with the site's
// vocabulary.
func loadProtocol(path string, site *siteTerms) (*screening.Protocol, error) {
	var opts screening.Options
	if site.custom() {
		opts.Vocabulary = site.voc
	}
	return compileProtocol(path, opts)
}

// compileProtocol compiles the protocol file at path (the shipped one when path is "").
func compileProtocol(path string, opts screening.Options) (*screening.Protocol, error) {
	if path == "" {
		return protocols.Load(opts)
	}
	p, err := screening.LoadProtocolFile(path, opts)
	if err != nil {
		return nil, fmt.Errorf("protocol %s:\n%w", path, err)
	}
	return p, nil
}
