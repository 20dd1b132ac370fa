package fhirbundle_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/trialscreen/trialscreen/screening"
)

// The reader keeps meta.versionId and meta.lastUpdated of the resources that give them
// (either alone too), by reference, and nothing for those that do not; a record with no
// meta at all has no Versions map.
func TestReaderKeepsVersions(t *testing.T) {
	r := testReader(t)
	bundle := `{"resourceType": "Bundle", "type": "collection", "entry": [
	  {"resource": {"resourceType": "Patient", "id": "p1", "meta": {"versionId": "3", "lastUpdated": "2026-11-01T08:00:00Z"}, "birthDate": "1970-01-01"}},
	  {"resource": {"resourceType": "Observation", "id": "hb1", "meta": {"versionId": "2", "lastUpdated": "2026-11-02T08:00:00.123+01:00", "tag": [{"code": "x"}]},
	   "status": "final", "code": {"coding": [{"system": "http://loinc.org", "code": "718-7"}]}, "subject": {"reference": "Patient/p1"},
	   "effectiveDateTime": "2026-11-01", "valueQuantity": {"value": 12, "unit": "g/dL", "system": "http://unitsofmeasure.org", "code": "g/dL"}}},
	  {"resource": {"resourceType": "Observation", "id": "hb2", "meta": {"lastUpdated": "2026-11-03T08:00:00Z"},
	   "status": "final", "code": {"coding": [{"system": "http://loinc.org", "code": "718-7"}]}, "subject": {"reference": "Patient/p1"},
	   "effectiveDateTime": "2026-11-01", "valueQuantity": {"value": 12, "unit": "g/dL", "system": "http://unitsofmeasure.org", "code": "g/dL"}}},
	  {"resource": {"resourceType": "Observation", "id": "hb3", "meta": {"profile": ["http://example.org/p"]},
	   "status": "final", "code": {"coding": [{"system": "http://loinc.org", "code": "718-7"}]}, "subject": {"reference": "Patient/p1"},
	   "effectiveDateTime": "2026-11-01", "valueQuantity": {"value": 12, "unit": "g/dL", "system": "http://unitsofmeasure.org", "code": "g/dL"}}}
	]}`
	rec, err := r.ReadBundle([]byte(bundle), "")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]screening.ResourceVersion{
		"Patient/p1":      {VersionID: "3", LastUpdated: "2026-11-01T08:00:00Z"},
		"Observation/hb1": {VersionID: "2", LastUpdated: "2026-11-02T08:00:00.123+01:00"},
		"Observation/hb2": {LastUpdated: "2026-11-03T08:00:00Z"},
	}
	if d := cmp.Diff(want, rec.Versions); d != "" {
		t.Errorf("Versions (-want +got):\n%s", d)
	}

	plain, err := r.ReadBundle([]byte(`{"resourceType": "Bundle", "type": "collection", "entry": [
	  {"resource": {"resourceType": "Patient", "id": "p1", "birthDate": "1970-01-01"}}]}`), "")
	if err != nil {
		t.Fatal(err)
	}
	if plain.Versions != nil {
		t.Errorf("a record without meta has Versions %v, want nil", plain.Versions)
	}
}
