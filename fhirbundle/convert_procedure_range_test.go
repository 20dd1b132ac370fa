package fhirbundle_test

import "testing"

// TestProcedurePeriodStartUnknown: a performedPeriod with an end only is marked
// StartUnknown (it ran for an unknown time up to its end); a performedDateTime, which
// is read the same way otherwise, and a period with a start are not.
func TestProcedurePeriodStartUnknown(t *testing.T) {
	proc := func(id, performed string) string {
		return `{"resourceType": "Procedure", "id": "` + id + `", "status": "completed", "subject": {"reference": "Patient/p1"},
			"code": {"coding": [{"system": "` + snomed + `", "code": "33195004"}]}` + performed + `}`
	}
	rec, err := procBundle(t, proc("endonly", `, "performedPeriod": {"end": "2026-10-20"}`),
		proc("instant", `, "performedDateTime": "2026-10-20"`),
		proc("closed", `, "performedPeriod": {"start": "2026-10-01", "end": "2026-10-20"}`),
		proc("open", `, "performedPeriod": {"start": "2026-10-01"}`),
		proc("undated", ``))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"Procedure/endonly": true, "Procedure/instant": false, "Procedure/closed": false, "Procedure/open": false, "Procedure/undated": false}
	if len(rec.Procedures) != len(want) {
		t.Fatalf("procedures %+v", rec.Procedures)
	}
	for _, p := range rec.Procedures {
		if p.StartUnknown != want[p.Ref] {
			t.Errorf("%s: StartUnknown %v, want %v", p.Ref, p.StartUnknown, want[p.Ref])
		}
	}
}

// TestReferenceRangeTypeText: a referenceRange type given as text only is marked
// TypeText (it may name a therapeutic range); a coded type or no type is not.
func TestReferenceRangeTypeText(t *testing.T) {
	r, _ := realReader(t)
	rr := func(typ string) string {
		return `{"high": {"value": 40, "unit": "U/L", "system": "` + ucum + `", "code": "U/L"}` + typ + `}`
	}
	obs := `{"resourceType": "Observation", "id": "alt", "status": "final", "subject": {"reference": "Patient/p1"},
		"code": {"coding": [{"system": "` + loinc + `", "code": "1742-6"}]}, "effectiveDateTime": "2026-11-20",
		"valueQuantity": {"value": 30, "unit": "U/L", "system": "` + ucum + `", "code": "U/L"},
		"referenceRange": [` + rr(`, "type": {"text": "therapeutic"}`) + `, ` +
		rr(`, "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/referencerange-meaning", "code": "normal"}]}`) + `, ` +
		rr(``) + `]}`
	rec, err := r.ReadBundle(bundleJSON("collection", entry{"", patient("p1")}, entry{"", obs}), "p1")
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Observations) != 1 || len(rec.Observations[0].RefRanges) != 3 {
		t.Fatalf("observations %+v", rec.Observations)
	}
	for i, want := range []bool{true, false, false} {
		if got := rec.Observations[0].RefRanges[i].TypeText; got != want {
			t.Errorf("range %d: TypeText %v, want %v", i, got, want)
		}
	}
}
