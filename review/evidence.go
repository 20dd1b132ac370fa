package review

import (
	"slices"

	"github.com/trialscreen/trialscreen/screening"
	"github.com/trialscreen/trialscreen/store"
)

// CriterionEvidence is the evidence a screening gives for one criterion, each resource
// once, with the meta.versionId and meta.lastUpdated the screening stored for it
// (versions: the stored screening's evidence). It is what a decision judged, and what a
// later screening's evidence is compared with.
func CriterionEvidence(doc *screening.Screening, versions []store.EvidenceRef, criterion string) []store.EvidenceRef {
	byResource := make(map[string]store.EvidenceRef, len(versions))
	for _, v := range versions {
		byResource[v.Resource] = v
	}
	var out []store.EvidenceRef
	seen := map[string]bool{}
	for _, c := range doc.Criteria {
		if c.ID != criterion {
			continue
		}
		for _, e := range c.Evidence {
			if e.Resource == "" || seen[e.Resource] {
				continue
			}
			seen[e.Resource] = true
			ref, ok := byResource[e.Resource]
			if !ok {
				ref = store.EvidenceRef{Resource: e.Resource}
			}
			out = append(out, ref)
		}
	}
	return out
}

// sameEvidence reports whether two evidence lists name the same resources at the same
// versions, in any order. A resource added, gone, or at another version or update time
// is a change: the person judged something else.
func sameEvidence(a, b []store.EvidenceRef) bool {
	if len(a) != len(b) {
		return false
	}
	key := func(r store.EvidenceRef) string { return r.Resource + "\x00" + r.VersionID + "\x00" + r.LastUpdated }
	ka, kb := make([]string, len(a)), make([]string, len(b))
	for i := range a {
		ka[i], kb[i] = key(a[i]), key(b[i])
	}
	slices.Sort(ka)
	slices.Sort(kb)
	return slices.Equal(ka, kb)
}
