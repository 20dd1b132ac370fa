package screening

import "strings"

// ResourceVersion is a resource's meta.versionId and meta.lastUpdated as its sender gave
// them: which version of "Observation/123" a screening read, so that a later screening
// can tell a record that was changed in place from one that was not.
type ResourceVersion struct {
	VersionID   string
	LastUpdated string // as given (a FHIR instant), not parsed: it is only compared and shown
}

// versionOf is the version of the resource ref names. A contained resource
// ("Observation/panel#m1") has no version of its own: it changes with its container.
func (r *Record) versionOf(ref string) (ResourceVersion, bool) {
	if len(r.Versions) == 0 {
		return ResourceVersion{}, false
	}
	if i := strings.IndexByte(ref, '#'); i > 0 {
		ref = ref[:i]
	}
	v, ok := r.Versions[ref]
	return v, ok
}

// stampVersions gives each evidence item the version of the resource it names, so the
// verdict document (and the store, and a later comparison) says which version decided.
// Records without meta (most) cost one length check.
func stampVersions(ev []Evidence, rec *Record) {
	if len(rec.Versions) == 0 {
		return
	}
	for i := range ev {
		if v, ok := rec.versionOf(ev[i].Resource); ok {
			ev[i].VersionID, ev[i].LastUpdated = v.VersionID, v.LastUpdated
		}
	}
}
