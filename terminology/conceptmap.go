package terminology

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// SiteMap holds a site's mappings of its local codes (lab tests, allergens, drugs) to the
// standard codes the protocol reads, from FHIR ConceptMaps. A mapped code is matched as
// its target, and evidence names both.
type SiteMap struct {
	byCode  map[Coding][]Coding // bare local coding -> its standard targets
	Sources []string            // the ConceptMaps read: url|version, or the file name
}

// NewSiteMap is a site map with no mappings.
func NewSiteMap() *SiteMap { return &SiteMap{byCode: map[Coding][]Coding{}} }

// Len is the number of local codes mapped.
func (s *SiteMap) Len() int { return len(s.byCode) }

// conceptMap is a FHIR R4 ConceptMap as the strict decoder reads it: every element the
// specification defines is named, so any other member is refused. Elements the engine
// does not use are kept raw; modifierExtension is refused, since it may change what a
// mapping means.
type conceptMap struct {
	ResourceType string `json:"resourceType"`
	element
	Meta            json.RawMessage   `json:"meta"`
	ImplicitRules   string            `json:"implicitRules"`
	Language        string            `json:"language"`
	Text            json.RawMessage   `json:"text"`
	Contained       []json.RawMessage `json:"contained"`
	URL             string            `json:"url"`
	Identifier      json.RawMessage   `json:"identifier"`
	Version         string            `json:"version"`
	Name            string            `json:"name"`
	Title           string            `json:"title"`
	Status          string            `json:"status"`
	Experimental    *bool             `json:"experimental"`
	Date            string            `json:"date"`
	Publisher       string            `json:"publisher"`
	Contact         []json.RawMessage `json:"contact"`
	Description     string            `json:"description"`
	UseContext      []json.RawMessage `json:"useContext"`
	Jurisdiction    []json.RawMessage `json:"jurisdiction"`
	Purpose         string            `json:"purpose"`
	Copyright       string            `json:"copyright"`
	SourceURI       string            `json:"sourceUri"`
	SourceCanonical string            `json:"sourceCanonical"`
	TargetURI       string            `json:"targetUri"`
	TargetCanonical string            `json:"targetCanonical"`
	Group           []struct {
		element
		Source        string `json:"source"`
		SourceVersion string `json:"sourceVersion"`
		Target        string `json:"target"`
		TargetVersion string `json:"targetVersion"`
		Element       []struct {
			element
			Code    string `json:"code"`
			Display string `json:"display"`
			Target  []struct {
				element
				Code        string            `json:"code"`
				Display     string            `json:"display"`
				Equivalence string            `json:"equivalence"`
				Comment     string            `json:"comment"`
				DependsOn   []json.RawMessage `json:"dependsOn"`
				Product     []json.RawMessage `json:"product"`
			} `json:"target"`
		} `json:"element"`
		Unmapped json.RawMessage `json:"unmapped"`
	} `json:"group"`
}

// element is what every FHIR element and backbone element may carry.
type element struct {
	ID                string            `json:"id"`
	Extension         []json.RawMessage `json:"extension"`
	ModifierExtension []json.RawMessage `json:"modifierExtension"`
}

// equivalences are R4's ConceptMap equivalence codes; placing says which of them say the
// local code means the target (or something narrower than it): only those place a code.
// A narrower, inexact or related target could be something else, so it must not decide a
// criterion.
var equivalences = map[string]bool{
	"equivalent": true, "equal": true, "wider": true, "subsumes": true,
	"relatedto": false, "narrower": false, "specializes": false, "inexact": false, "unmatched": false, "disjoint": false,
}

// statuses are R4's publication status codes.
var statuses = map[string]bool{"draft": true, "active": true, "retired": true, "unknown": true}

// AddConceptMap validates a FHIR R4 ConceptMap (JSON) as strictly as the protocol file
// (an element the specification does not define, or a code outside its value set, is a
// problem) and adds its mappings. Systems are resolved through sys, so a target may be
// written as an OID. Every problem is reported, named by its place in the map; nothing
// is added when there is one. (encoding/json, not google/fhir's jsonformat: the engine
// links this package, and jsonformat costs 19 MB and 55 ms at every process start.)
func (s *SiteMap) AddConceptMap(data []byte, name string, sys *Systems) error {
	var head struct {
		ResourceType string `json:"resourceType"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return &TableError{Problems: []string{fmt.Sprintf("%s: not JSON: %v", name, err)}}
	}
	if head.ResourceType != "ConceptMap" {
		return &TableError{Problems: []string{fmt.Sprintf("%s: resourceType is %q, want ConceptMap", name, head.ResourceType)}}
	}
	var cm conceptMap
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cm); err != nil {
		return &TableError{Problems: []string{fmt.Sprintf("%s: not a valid FHIR R4 ConceptMap: %v", name, err)}}
	}
	if dec.More() {
		return &TableError{Problems: []string{fmt.Sprintf("%s: not a valid FHIR R4 ConceptMap: more than one JSON value", name)}}
	}
	var probs []string
	invalid := func(where, what string) {
		probs = append(probs, fmt.Sprintf("%s: not a valid FHIR R4 ConceptMap: %s%s", name, where, what))
	}
	if !statuses[cm.Status] {
		invalid("", fmt.Sprintf("status %q is not draft, active, retired or unknown", cm.Status))
	}
	if len(cm.ModifierExtension) > 0 {
		invalid("", "modifierExtension may change what the map means and is not supported")
	}
	add := map[Coding][]Coding{}
	for gi, g := range cm.Group {
		src := sys.Canonical(g.Source)
		tgt := sys.Canonical(g.Target)
		where := fmt.Sprintf("%s: group[%d]", name, gi)
		if len(g.ModifierExtension) > 0 {
			invalid(fmt.Sprintf("group[%d]: ", gi), "modifierExtension is not supported")
		}
		if src == "" || tgt == "" {
			probs = append(probs, where+": source and target (the code systems) are required")
			continue
		}
		if !Known(tgt) {
			probs = append(probs, fmt.Sprintf("%s: target %q is not a code system the protocol reads (e.g. %s, %s, %s)", where, tgt, LOINC, SNOMED, RxNorm))
			continue
		}
		if Known(src) {
			probs = append(probs, fmt.Sprintf("%s: source %q is a standard system: a site map maps local codes only", where, src))
			continue
		}
		if len(g.Unmapped) > 0 {
			probs = append(probs, where+": unmapped is not supported: list each local code")
		}
		for ei, e := range g.Element {
			ew := fmt.Sprintf("%s.element[%d]", where, ei)
			if len(e.ModifierExtension) > 0 {
				invalid(fmt.Sprintf("group[%d].element[%d]: ", gi, ei), "modifierExtension is not supported")
			}
			if e.Code == "" {
				probs = append(probs, ew+": code is required")
				continue
			}
			if len(e.Target) == 0 {
				probs = append(probs, ew+": no target: leave unmapped codes out of the map")
			}
			for ti, t := range e.Target {
				tw := fmt.Sprintf("%s.target[%d]", ew, ti)
				places, known := equivalences[t.Equivalence]
				switch {
				case !known:
					invalid(fmt.Sprintf("group[%d].element[%d].target[%d]: ", gi, ei, ti), fmt.Sprintf("equivalence %q is not an R4 ConceptMap equivalence", t.Equivalence))
					continue
				case len(t.ModifierExtension) > 0:
					invalid(fmt.Sprintf("group[%d].element[%d].target[%d]: ", gi, ei, ti), "modifierExtension is not supported")
					continue
				case t.Code == "":
					probs = append(probs, tw+": code is required")
					continue
				case len(t.DependsOn) > 0:
					probs = append(probs, tw+": dependsOn is not supported: a mapping that holds only with other data cannot place a code")
					continue
				case !places:
					probs = append(probs, fmt.Sprintf("%s: equivalence %s does not say the local code means the target; use equivalent, equal, wider or subsumes", tw, t.Equivalence))
					continue
				}
				local := Coding{System: src, Code: e.Code}
				add[local] = append(add[local], Coding{System: tgt, Code: t.Code})
			}
		}
	}
	if len(probs) > 0 {
		return &TableError{Problems: probs}
	}
	for k, v := range add {
		s.byCode[k] = append(s.byCode[k], v...)
	}
	s.Sources = append(s.Sources, conceptMapName(cm.URL, cm.Version, name))
	return nil
}

func conceptMapName(url, version, file string) string {
	if url != "" {
		if version != "" {
			return url + "|" + version
		}
		return url
	}
	return file
}

// Map gives the standard codes a site maps a local coding to, each naming the local
// coding in Via.
func (s *SiteMap) Map(c Coding) []Coding {
	ts := s.byCode[c.Bare()]
	if len(ts) == 0 {
		return nil
	}
	out := make([]Coding, len(ts))
	for i, t := range ts {
		out[i] = Coding{System: t.System, Code: t.Code, Via: c.Key()}
	}
	return out
}
