package fhirbundle_test

import (
	"testing"

	"github.com/trialscreen/trialscreen/screening"
)

// TestProcedurePeriodEnd: a performedPeriod with a start only is read with its end
// unknown (EndUnknown), not as ending at the start; one with an end is not.
func TestProcedurePeriodEnd(t *testing.T) {
	proc := func(id, performed string) string {
		return `{"resourceType": "Procedure", "id": "` + id + `", "status": "completed", "subject": {"reference": "Patient/p1"},
			"code": {"coding": [{"system": "` + snomed + `", "code": "33195004"}]}` + performed + `}`
	}
	rec, err := procBundle(t, proc("open", `, "performedPeriod": {"start": "2026-10-01"}`),
		proc("closed", `, "performedPeriod": {"start": "2026-10-01", "end": "2026-10-20"}`),
		proc("endonly", `, "performedPeriod": {"end": "2026-10-20"}`),
		proc("instant", `, "performedDateTime": "2026-10-20"`))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]struct {
		date       string
		endUnknown bool
	}{
		"Procedure/open": {"2026-10-01", true}, "Procedure/closed": {"2026-10-20", false},
		"Procedure/endonly": {"2026-10-20", false}, "Procedure/instant": {"2026-10-20", false},
	}
	if len(rec.Procedures) != len(want) {
		t.Fatalf("procedures %+v", rec.Procedures)
	}
	for _, p := range rec.Procedures {
		w := want[p.Ref]
		if p.Performed.String() != w.date || p.EndUnknown != w.endUnknown {
			t.Errorf("%s: performed %s, EndUnknown %v; want %s, %v", p.Ref, p.Performed, p.EndUnknown, w.date, w.endUnknown)
		}
	}
}

// procBundle reads patient p1 and the resources with the shipped protocol (it reads
// anti-tumour procedures).
func procBundle(t *testing.T, resources ...string) (*screening.Record, error) {
	t.Helper()
	r, _ := realReader(t)
	es := []entry{{"", patient("p1")}}
	for _, res := range resources {
		es = append(es, entry{"", res})
	}
	return r.ReadBundle(bundleJSON("collection", es...), "p1")
}
