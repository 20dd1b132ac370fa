package fhirbundle_test

import (
	"slices"
	"testing"
)

// TestInterpretationTextOnly: an interpretation given as text only is kept as text (it
// was dropped, so a normal code beside "atrial fibrillation" read as plainly normal).
func TestInterpretationTextOnly(t *testing.T) {
	obs := `{"resourceType": "Observation", "id": "o1", "status": "final", "subject": {"reference": "Patient/p1"},
		"code": {"coding": [{"system": "` + loinc + `", "code": "718-7"}]},
		"effectiveDateTime": "2024-03-01T08:00:00Z",
		"valueQuantity": {"value": 12, "unit": "g/dL", "system": "` + ucum + `", "code": "g/dL"},
		"interpretation": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation", "code": "N"}]},
			{"text": "atrial fibrillation"}, {"coding": [{"system": "urn:local", "code": "X"}], "text": "coded, not text only"}]}`
	rec, err := testReader(t).ReadBundle(bundleJSON("collection", entry{"", patient("p1")}, entry{"", obs}), "p1")
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Observations) != 1 {
		t.Fatalf("observations %+v", rec.Observations)
	}
	o := rec.Observations[0]
	if !slices.Equal(o.InterpretationText, []string{"atrial fibrillation"}) {
		t.Errorf("InterpretationText = %q, want [atrial fibrillation]", o.InterpretationText)
	}
	if len(o.Interpretation) != 2 {
		t.Errorf("Interpretation codings = %+v, want N and the local X", o.Interpretation)
	}
}
