package fhirbundle

import "github.com/trialscreen/trialscreen/screening"

// noteVersion keeps a resource's meta.versionId and meta.lastUpdated in the record, for
// the screening's evidence to name the version that decided. The peek reads meta anyway
// (withheld.go), so this costs nothing for a resource without them; the map is made only
// when one has them.
func noteVersion(rec *screening.Record, ref string, m *peekMeta) {
	if m == nil || (m.VersionID == "" && m.LastUpdated == "") {
		return
	}
	if rec.Versions == nil {
		rec.Versions = map[string]screening.ResourceVersion{}
	}
	rec.Versions[ref] = screening.ResourceVersion{VersionID: m.VersionID, LastUpdated: m.LastUpdated}
}
