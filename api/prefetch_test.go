package api

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/trialscreen/trialscreen/demo"
	"github.com/trialscreen/trialscreen/screening"
)

// A prefetched searchset with a next link holds only the first page: its type is
// partial and the criteria that read it are unknown, never pass.
func TestCDSPrefetchNextLinkIsPartial(t *testing.T) {
	env := newCDSTestEnv(t, cdsTestConfig{})
	res := cdsDemoResources(t, "candidate")
	pf := cdsDemoPrefetch(t, "candidate")
	pf["Condition"] = cdsSearchset(res["Condition"], map[string]string{"relation": "next", "url": "https://ehr.example.org/fhir/Condition?page=2"})

	rec, err := env.s.recordFromPrefetch(pf, "demo-candidate")
	if err != nil {
		t.Fatal(err)
	}
	if st := rec.Sources["Condition"]; st.State != screening.FetchPartial {
		t.Fatalf("Condition source = %+v, want partial", st)
	}
	if st := rec.Sources["Observation"]; st.State != screening.FetchComplete {
		t.Errorf("Observation source = %+v, want complete", st)
	}
	result := cdsProtocol(t).Evaluate(rec, screening.Settings{AsOf: demo.AsOf(), Location: time.UTC})
	if result.Verdict == screening.PotentiallyEligible {
		t.Errorf("verdict %s with a partial Condition search", result.Verdict)
	}
	unknown := 0
	for _, r := range result.Criteria {
		if strings.Contains(r.Summary, "Condition records are partial") {
			unknown++
			if r.Outcome != screening.Unknown {
				t.Errorf("%s reads partial Conditions but is %s", r.ID, r.Outcome)
			}
		}
	}
	if unknown == 0 {
		t.Error("no criterion was made unknown by the partial Condition search")
	}

	status, body, _ := env.post(t, env.key.token(t, nil), cdsHookBody("demo-candidate", pf))
	card := cdsOneCard(t, status, body)
	if !strings.Contains(card.Summary, "insufficient data") || !strings.Contains(card.Detail, "first page") {
		t.Errorf("card = %q\n%s", card.Summary, card.Detail)
	}
}

// A prefetched search the EHR could not run (an OperationOutcome in its place) is
// failed for its type, and one whose searchset carries a warning or masked resources is
// partial; the other types stay complete.
func TestCDSPrefetchOutcomes(t *testing.T) {
	env := newCDSTestEnv(t, cdsTestConfig{})
	obs := cdsDemoResources(t, "candidate")["Observation"]
	masked := append([]json.RawMessage(nil), obs...)
	masked[0] = json.RawMessage(strings.Replace(string(masked[0]), `"resourceType"`, `"meta":{"security":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ObservationValue","code":"REDACTED"}]},"resourceType"`, 1))
	warned := map[string]any{"resourceType": "Bundle", "type": "searchset", "entry": []any{
		map[string]any{"resource": map[string]any{"resourceType": "OperationOutcome", "issue": []any{map[string]any{"severity": "warning", "code": "too-costly"}}}, "search": map[string]any{"mode": "outcome"}},
	}}
	warnedJSON, _ := json.Marshal(warned)
	info := map[string]any{"resourceType": "Bundle", "type": "searchset", "entry": []any{
		map[string]any{"resource": map[string]any{"resourceType": "OperationOutcome", "issue": []any{map[string]any{"severity": "information", "code": "informational"}}}, "search": map[string]any{"mode": "outcome"}},
	}}
	infoJSON, _ := json.Marshal(info)
	tests := []struct {
		name  string
		key   string
		value json.RawMessage
		want  screening.FetchState
	}{
		{"OperationOutcome instead of the search", "Procedure", json.RawMessage(`{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"exception"}]}`), screening.FetchFailed},
		{"masked resource", "Observation", cdsSearchset(masked), screening.FetchPartial},
		{"warning from the search", "AllergyIntolerance", warnedJSON, screening.FetchPartial},
		{"information from the search", "AllergyIntolerance", infoJSON, screening.FetchComplete},
		{"empty searchset", "AllergyIntolerance", cdsSearchset(nil), screening.FetchComplete},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pf := cdsDemoPrefetch(t, "candidate")
			pf[tt.key] = tt.value
			rec, err := env.s.recordFromPrefetch(pf, "demo-candidate")
			if err != nil {
				t.Fatal(err)
			}
			if st := rec.Sources[tt.key]; st.State != tt.want {
				t.Errorf("%s source = %+v, want %s", tt.key, st, tt.want)
			}
			for _, typ := range cdsProtocol(t).NeededTypes() {
				if typ != tt.key && rec.Sources[typ].State != screening.FetchComplete {
					t.Errorf("%s source = %+v, want complete", typ, rec.Sources[typ])
				}
			}
			if tt.want != screening.FetchComplete {
				res := cdsProtocol(t).Evaluate(rec, screening.Settings{AsOf: demo.AsOf(), Location: time.UTC})
				if res.Verdict == screening.PotentiallyEligible {
					t.Errorf("verdict %s with %s %s", res.Verdict, tt.key, tt.want)
				}
			}
		})
	}
}

// A medication named by reference is read from the Medication the search included
// (the discovery template asks for _include=...:medication).
func TestCDSPrefetchResolvesIncludedMedication(t *testing.T) {
	env := newCDSTestEnv(t, cdsTestConfig{})
	pf := cdsDemoPrefetch(t, "candidate")
	pf["MedicationRequest"] = json.RawMessage(`{"resourceType":"Bundle","type":"searchset","entry":[
	  {"fullUrl":"https://ehr.example.org/fhir/MedicationRequest/mr1","search":{"mode":"match"},
	   "resource":{"resourceType":"MedicationRequest","id":"mr1","status":"active","intent":"order",
	     "subject":{"reference":"Patient/demo-candidate"},"medicationReference":{"reference":"Medication/m1"},
	     "authoredOn":"2026-11-01"}},
	  {"fullUrl":"https://ehr.example.org/fhir/Medication/m1","search":{"mode":"include"},
	   "resource":{"resourceType":"Medication","id":"m1",
	     "code":{"coding":[{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"3002"}]}}}]}`)
	rec, err := env.s.recordFromPrefetch(pf, "demo-candidate")
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Unreadable) != 0 {
		t.Errorf("unreadable: %+v", rec.Unreadable)
	}
	found := false
	for _, m := range rec.Medications {
		if m.Ref == "MedicationRequest/mr1" {
			found = len(m.Code) == 1 && m.Code[0].Code == "3002"
		}
	}
	if !found {
		t.Errorf("MedicationRequest/mr1 not read with its Medication's code: %+v", rec.Medications)
	}
	if st := rec.Sources["MedicationRequest"]; st.State != screening.FetchComplete {
		t.Errorf("MedicationRequest source = %+v", st)
	}
}
