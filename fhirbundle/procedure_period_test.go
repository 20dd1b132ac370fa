package fhirbundle_test

import (
	"testing"

	"github.com/trialscreen/trialscreen/screening"
)

// TestProcedurePeriodEnd: a performedPeriod with a start only is read with its end
// unknown (EndUnknown), not as ending at the start; one with an end is not. The period's
// start is kept (PerformedStart), so that what a procedure covered can be told.
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
		date, start string
		endUnknown  bool
	}{
		"Procedure/open": {"2026-10-01", "2026-10-01", true}, "Procedure/closed": {"2026-10-20", "2026-10-01", false},
		"Procedure/endonly": {"2026-10-20", "", false}, "Procedure/instant": {"2026-10-20", "", false},
	}
	if len(rec.Procedures) != len(want) {
		t.Fatalf("procedures %+v", rec.Procedures)
	}
	for _, p := range rec.Procedures {
		w := want[p.Ref]
		if p.Performed.String() != w.date || p.PerformedStart.String() != w.start || p.EndUnknown != w.endUnknown {
			t.Errorf("%s: performed %s, start %q, EndUnknown %v; want %s, %q, %v", p.Ref, p.Performed, p.PerformedStart, p.EndUnknown, w.date, w.start, w.endUnknown)
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
