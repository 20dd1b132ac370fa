package fhirbundle_test

import "testing"

// TestStatusFromItsCodeSystem: a Condition's clinical and verification status are read
// from the FHIR code system they are bound to, even after a local coding.
func TestStatusFromItsCodeSystem(t *testing.T) {
	cond := `{"resourceType": "Condition", "id": "c1", "subject": {"reference": "Patient/p1"},
		"clinicalStatus": {"coding": [{"system": "urn:local", "code": "A1"},
			{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]},
		"verificationStatus": {"coding": [{"system": "urn:local", "code": "V"},
			{"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": "refuted"}]},
		"code": {"coding": [{"system": "` + snomed + `", "code": "128613002"}]}}`
	rec, err := testReader(t).ReadBundle(bundleJSON("collection", entry{"", patient("p1")}, entry{"", cond}), "p1")
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Conditions) != 1 || rec.Conditions[0].Clinical != "active" || rec.Conditions[0].Verification != "refuted" {
		t.Fatalf("conditions %+v", rec.Conditions)
	}
}
