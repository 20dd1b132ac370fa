package fhirclient_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/trialscreen/trialscreen/demo"
	"github.com/trialscreen/trialscreen/fhirclient"
	"github.com/trialscreen/trialscreen/protocols"
	"github.com/trialscreen/trialscreen/screening"
)

// TestMaskedPatientIsPartial: a Patient the server masked (its birth date or sex may be
// what was hidden) makes the Patient source partial, so age is unknown, never a pass.
func TestMaskedPatientIsPartial(t *testing.T) {
	fs := newFakeServer(t, "candidate")
	fs.patient = json.RawMessage(strings.Replace(string(fs.patient), `"resourceType"`, `"meta":{"security":[{"code":"MASKED"}]},"resourceType"`, 1))
	srv := httptest.NewServer(fs)
	defer srv.Close()
	rec, err := recordSource(t, srv.URL+"/fhir", fhirclient.Config{BaseBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond}).Record(context.Background(), "demo-candidate")
	if err != nil {
		t.Fatal(err)
	}
	if st := rec.Sources[screening.TypePatient]; st.State != screening.FetchPartial || st.Detail != "the Patient resource is masked by the sender (meta)" {
		t.Fatalf("Patient source %+v", st)
	}
	p, err := protocols.LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range p.Evaluate(rec, screening.Settings{AsOf: demo.AsOf()}).Criteria {
		if r.ID == "age" && r.Outcome != screening.Unknown {
			t.Errorf("age %s/%s, want unknown", r.Outcome, r.Reason)
		}
	}
}
