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
