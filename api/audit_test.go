package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// The record is shaped like an IHE BALP PatientQuery AuditEvent: a FHIR reader of audit
// trails finds the patient, the requestor and the outcome where BALP puts them.
func TestAuditRecordIsABALPPatientQuery(t *testing.T) {
	var buf bytes.Buffer
	a := NewAuditLog(&buf, "trialscreen@test")
	a.now = func() time.Time { return time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC) }
	a.Record(Access{Caller: "referral-portal", User: "Practitioner/7", Surface: surfaceREST, PatientID: "p-42",
		Types: []string{"Observation", "Condition"}, Source: "fhir:default", Address: "10.0.0.5:4711",
		Details: map[string]string{"cds-card-uuid": "u-1"}})
	a.Record(Access{Caller: "referral-portal", Surface: surfaceREST, PatientID: "p-43", Err: errors.New("fhirclient: read Patient: unavailable")})
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines for 2 accesses", len(lines))
	}
	type coding struct{ System, Code string }
	var ev struct {
		ResourceType string
		Type         coding
		Subtype      []coding
		Action       string
		Recorded     string
		Outcome      string
		OutcomeDesc  string
		Agent        []struct {
			Type      struct{ Coding []coding }
			Who       struct{ Identifier struct{ Value string } }
			Requestor bool
			Network   struct{ Address string }
		}
		Entity []struct {
			What   struct{ Reference string }
			Role   coding
			Detail []struct{ Type, ValueString string }
		}
	}
	if err := json.Unmarshal([]byte(lines[0]), &ev); err != nil {
		t.Fatal(err)
	}
	if ev.ResourceType != "AuditEvent" || ev.Type.Code != "110112" || len(ev.Subtype) != 1 || ev.Subtype[0].Code != "search" ||
		ev.Action != "E" || ev.Outcome != "0" || ev.Recorded != "2026-11-24T12:00:00Z" {
		t.Errorf("event header = %+v", ev)
	}
	if len(ev.Agent) != 3 || !ev.Agent[0].Requestor || ev.Agent[0].Who.Identifier.Value != "referral-portal" ||
		ev.Agent[0].Network.Address != "10.0.0.5:4711" || ev.Agent[2].Who.Identifier.Value != "Practitioner/7" {
		t.Errorf("agents = %+v", ev.Agent)
	}
	if len(ev.Entity) != 2 || ev.Entity[0].What.Reference != "Patient/p-42" || ev.Entity[0].Role.Code != "1" || ev.Entity[1].Role.Code != "24" {
		t.Fatalf("entities = %+v", ev.Entity)
	}
	details := map[string]string{}
	for _, d := range ev.Entity[1].Detail {
		details[d.Type] = d.ValueString
	}
	want := map[string]string{"resource-types": "Observation Condition", "surface": "rest", "data-source": "fhir:default", "cds-card-uuid": "u-1"}
	for k, v := range want {
		if details[k] != v {
			t.Errorf("detail %s = %q; want %q", k, details[k], v)
		}
	}
	if err := json.Unmarshal([]byte(lines[1]), &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Outcome != "4" || ev.OutcomeDesc != "fhirclient: read Patient: unavailable" {
		t.Errorf("a failed access: outcome %q %q; want 4 with the error", ev.Outcome, ev.OutcomeDesc)
	}
}

type brokenWriter struct{}

func (brokenWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

// A record that cannot be written is counted, so that an operator sees audit loss.
func TestAuditWriteFailuresAreCounted(t *testing.T) {
	m, err := NewMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	a := NewAuditLog(brokenWriter{}, "test")
	s, err := New(Config{Protocol: cdsProtocol(t), Source: failingSource{errors.New("x")}, Demo: true, Audit: a, Metrics: m, Now: (&testClock{}).Now})
	if err != nil {
		t.Fatal(err)
	}
	s.cfg.Audit.Record(Access{PatientID: "p"})
	var got dto.Metric
	if err := m.auditFailures.Write(&got); err != nil {
		t.Fatal(err)
	}
	if got := got.GetCounter().GetValue(); got != 1 {
		t.Errorf("audit write failures = %v; want 1", got)
	}
}
