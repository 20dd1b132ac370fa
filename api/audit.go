package api

import (
	"encoding/json"
	"io"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/trialscreen/trialscreen/store"
)

// AuditLog writes one record per access to patient data, as a JSON line shaped like an
// IHE Basic Audit Log Patterns (BALP) PatientQuery AuditEvent. It goes to its own sink
// (a file or stream apart from the application log): audit records name the patient,
// the application log never does.
type AuditLog struct {
	mu       sync.Mutex
	w        io.Writer
	now      func() time.Time
	observer string // the audit source: this service's name
	failed   func() // counts a record that could not be written
	// writer copies each record into the database too (auditstore.go); nil: the sink only.
	writer atomic.Pointer[auditWriter]
}

// NewAuditLog writes audit records to w. observer names this service instance in the
// records' source.
func NewAuditLog(w io.Writer, observer string) *AuditLog {
	return &AuditLog{w: w, now: time.Now, observer: observer, failed: func() {}}
}

// Access is one access to a patient's data.
type Access struct {
	Caller    string   // who asked: the authenticated caller's id (REST) or the EHR's issuer (CDS Hooks)
	User      string   // the user on whose behalf, when the caller says (CDS Hooks userId)
	Surface   string   // rest, cds-hooks, report
	PatientID string   // the patient whose data was read; "": several (Details name them)
	Types     []string // the resource types read
	Source    string   // where the data came from: "fhir:<upstream name>", "bundle" (sent by the caller), "prefetch", "demo"
	Address   string   // the caller's network address
	Err       error    // nil: success
	// Details are further facts for the query entity, e.g. the CDS card's uuid, which
	// ties what an EHR showed to this access.
	Details map[string]string
}

// Outcome codes of AuditEvent.outcome.
const (
	auditSuccess      = "0"
	auditMinorFailure = "4"
)

// Record writes one audit record to the sink, and queues it for the database when
// StoreTo was called. A write failure is counted (metric) and otherwise ignored: the
// screening itself has already happened. Each record has a random id, the same in the
// sink and the database, so the two can be matched.
func (a *AuditLog) Record(acc Access) {
	id, now := store.NewID(), a.now().UTC()
	line, err := json.Marshal(a.event(acc, id, now))
	if err != nil {
		a.failed()
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	// Queued under the sink's lock: the database's chain has the sink's order.
	if w := a.writer.Load(); w != nil {
		w.push(store.AuditEntry{EventID: id, Created: now, Event: line})
	}
	if _, err := a.w.Write(append(line, '\n')); err != nil {
		a.failed()
	}
}

// event builds the AuditEvent. Codes follow BALP's PatientQuery: DICOM 110112 Query, a
// RESTful search, action E(xecute), the client as requestor, the patient entity (role
// 1 Patient) and the query entity (role 24 Query) listing what was read.
func (a *AuditLog) event(acc Access, id string, recorded time.Time) map[string]any {
	outcome, desc := auditSuccess, ""
	if acc.Err != nil {
		outcome, desc = auditMinorFailure, acc.Err.Error()
	}
	client := map[string]any{
		"type":      coding("http://dicom.nema.org/resources/ontology/DCM", "110153", "Source Role ID"),
		"who":       map[string]any{"identifier": map[string]string{"value": acc.Caller}},
		"requestor": true,
	}
	if acc.Address != "" {
		client["network"] = map[string]string{"address": acc.Address, "type": "2"}
	}
	agents := []any{client, map[string]any{
		"type":      coding("http://dicom.nema.org/resources/ontology/DCM", "110152", "Destination Role ID"),
		"who":       map[string]any{"display": a.observer},
		"requestor": false,
	}}
	if acc.User != "" {
		agents = append(agents, map[string]any{
			"type":      coding("http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "IRCP", "information recipient"),
			"who":       map[string]any{"identifier": map[string]string{"value": acc.User}},
			"requestor": true,
		})
	}
	ev := map[string]any{
		"resourceType": "AuditEvent",
		"id":           id,
		"type":         codingOnly("http://dicom.nema.org/resources/ontology/DCM", "110112", "Query"),
		"subtype":      []any{codingOnly("http://hl7.org/fhir/restful-interaction", "search", "search")},
		"action":       "E",
		"recorded":     recorded.Format(time.RFC3339Nano),
		"outcome":      outcome,
		"agent":        agents,
		"source": map[string]any{
			"observer": map[string]string{"display": a.observer},
			"type":     []any{codingOnly("http://terminology.hl7.org/CodeSystem/security-source-type", "4", "Application Server")},
		},
		"entity": []any{
			map[string]any{
				"what": map[string]string{"reference": "Patient/" + acc.PatientID},
				"type": codingOnly("http://terminology.hl7.org/CodeSystem/audit-entity-type", "1", "Person"),
				"role": codingOnly("http://terminology.hl7.org/CodeSystem/object-role", "1", "Patient"),
			},
			map[string]any{
				"type": codingOnly("http://terminology.hl7.org/CodeSystem/audit-entity-type", "2", "System Object"),
				"role": codingOnly("http://terminology.hl7.org/CodeSystem/object-role", "24", "Query"),
				"detail": []any{
					map[string]string{"type": "resource-types", "valueString": strings.Join(acc.Types, " ")},
					map[string]string{"type": "surface", "valueString": acc.Surface},
					map[string]string{"type": "data-source", "valueString": acc.Source},
				},
			},
		},
	}
	if acc.PatientID == "" {
		// A read over many patients (the worklist): no one patient entity; the query's
		// details list whom it showed.
		ev["entity"] = ev["entity"].([]any)[1:]
	}
	if len(acc.Details) > 0 {
		query := ev["entity"].([]any)[len(ev["entity"].([]any))-1].(map[string]any)
		keys := make([]string, 0, len(acc.Details))
		for k := range acc.Details {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			query["detail"] = append(query["detail"].([]any), map[string]string{"type": k, "valueString": acc.Details[k]})
		}
	}
	if desc != "" {
		ev["outcomeDesc"] = desc
	}
	return ev
}

func codingOnly(system, code, display string) map[string]string {
	return map[string]string{"system": system, "code": code, "display": display}
}

func coding(system, code, display string) map[string]any {
	return map[string]any{"coding": []any{codingOnly(system, code, display)}}
}
