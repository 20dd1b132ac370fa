package terminology

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/google/fhir/go/fhirversion"
	"github.com/google/fhir/go/jsonformat"
	cpb "github.com/google/fhir/go/proto/google/fhir/proto/r4/core/codes_go_proto"
	bcrpb "github.com/google/fhir/go/proto/google/fhir/proto/r4/core/resources/bundle_and_contained_resource_go_proto"
	cmpb "github.com/google/fhir/go/proto/google/fhir/proto/r4/core/resources/concept_map_go_proto"
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

// placing says which ConceptMap equivalences say the local code means the target (or
// something narrower than it): only those place a code. A narrower, inexact or related
// target could be something else, so it must not decide a criterion.
var placing = map[cpb.ConceptMapEquivalenceCode_Value]bool{
	cpb.ConceptMapEquivalenceCode_EQUIVALENT: true,
	cpb.ConceptMapEquivalenceCode_EQUAL:      true,
	cpb.ConceptMapEquivalenceCode_WIDER:      true,
	cpb.ConceptMapEquivalenceCode_SUBSUMES:   true,
}

// AddConceptMap validates a FHIR R4 ConceptMap (JSON) against the specification and adds
// its mappings. Systems are resolved through sys, so a target may be written as an OID.
// Every problem is reported, named by its place in the map; nothing is added when there
// is one.
func (s *SiteMap) AddConceptMap(data []byte, name string, sys *Systems) error {
	um, err := jsonformat.NewUnmarshaller("UTC", fhirversion.R4)
	if err != nil {
		return err
	}
	var head struct {
		ResourceType string `json:"resourceType"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return &TableError{Problems: []string{fmt.Sprintf("%s: not JSON: %v", name, err)}}
	}
	if head.ResourceType != "ConceptMap" {
		return &TableError{Problems: []string{fmt.Sprintf("%s: resourceType is %q, want ConceptMap", name, head.ResourceType)}}
	}
	msg, err := um.Unmarshal(data)
	if err != nil {
		return &TableError{Problems: []string{fmt.Sprintf("%s: not a valid FHIR R4 ConceptMap: %v", name, err)}}
	}
	cm := msg.(*bcrpb.ContainedResource).GetConceptMap()
	var probs []string
	add := map[Coding][]Coding{}
	for gi, g := range cm.GetGroup() {
		src := sys.Canonical(g.GetSource().GetValue())
		tgt := sys.Canonical(g.GetTarget().GetValue())
		where := fmt.Sprintf("%s: group[%d]", name, gi)
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
		if g.GetUnmapped() != nil {
			probs = append(probs, where+": unmapped is not supported: list each local code")
		}
		for ei, e := range g.GetElement() {
			ew := fmt.Sprintf("%s.element[%d]", where, ei)
			code := e.GetCode().GetValue()
			if code == "" {
				probs = append(probs, ew+": code is required")
				continue
			}
			if len(e.GetTarget()) == 0 {
				probs = append(probs, ew+": no target: leave unmapped codes out of the map")
			}
			for ti, t := range e.GetTarget() {
				tw := fmt.Sprintf("%s.target[%d]", ew, ti)
				if t.GetCode().GetValue() == "" {
					probs = append(probs, tw+": code is required")
					continue
				}
				if len(t.GetDependsOn()) > 0 {
					probs = append(probs, tw+": dependsOn is not supported: a mapping that holds only with other data cannot place a code")
					continue
				}
				eq := t.GetEquivalence().GetValue()
				if !placing[eq] {
					probs = append(probs, fmt.Sprintf("%s: equivalence %s does not say the local code means the target; use equivalent, equal, wider or subsumes", tw, strings.ToLower(eq.String())))
					continue
				}
				local := Coding{System: src, Code: code}
				add[local] = append(add[local], Coding{System: tgt, Code: t.GetCode().GetValue()})
			}
		}
	}
	if len(probs) > 0 {
		return &TableError{Problems: probs}
	}
	for k, v := range add {
		s.byCode[k] = append(s.byCode[k], v...)
	}
	s.Sources = append(s.Sources, conceptMapName(cm, name))
	return nil
}

func conceptMapName(cm *cmpb.ConceptMap, file string) string {
	if u := cm.GetUrl().GetValue(); u != "" {
		if v := cm.GetVersion().GetValue(); v != "" {
			return u + "|" + v
		}
		return u
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
