package screening

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Evidence names the version of the resource it cites; a contained resource
// ("Observation/panel#m1") the version of its container; a resource the record gave no
// version for, and any evidence of a record without versions, none.
func TestStampVersions(t *testing.T) {
	rec := &Record{Versions: map[string]ResourceVersion{
		"Observation/hb":    {VersionID: "2", LastUpdated: "2026-11-02T08:00:00Z"},
		"Observation/panel": {VersionID: "5"},
	}}
	ev := []Evidence{{Resource: "Observation/hb"}, {Resource: "Observation/panel#m1"}, {Resource: "Observation/other"}, {Role: "weight"}}
	stampVersions(ev, rec)
	want := []Evidence{
		{Resource: "Observation/hb", VersionID: "2", LastUpdated: "2026-11-02T08:00:00Z"},
		{Resource: "Observation/panel#m1", VersionID: "5"},
		{Resource: "Observation/other"},
		{Role: "weight"},
	}
	if d := cmp.Diff(want, ev); d != "" {
		t.Errorf("stamped evidence (-want +got):\n%s", d)
	}
	plain := []Evidence{{Resource: "Observation/hb"}}
	stampVersions(plain, &Record{})
	if plain[0].VersionID != "" || plain[0].LastUpdated != "" {
		t.Errorf("a record without versions stamped %+v", plain[0])
	}
}
