package api

import (
	"encoding/json"
	"fmt"
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

	rec, err := env.s.recordFromPrefetch(t.Context(), pf, "demo-candidate")
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
	subsetted := append([]json.RawMessage(nil), obs...)
	subsetted[0] = json.RawMessage(strings.Replace(string(subsetted[0]), `"resourceType"`, `"meta":{"tag":[{"code":"SUBSETTED"}]},"resourceType"`, 1))
	warned := map[string]any{"resourceType": "Bundle", "type": "searchset", "entry": []any{
		map[string]any{"resource": map[string]any{"resourceType": "OperationOutcome", "issue": []any{map[string]any{"severity": "warning", "code": "too-costly"}}}, "search": map[string]any{"mode": "outcome"}},
	}}
	warnedJSON, _ := json.Marshal(warned)
	info := map[string]any{"resourceType": "Bundle", "type": "searchset", "entry": []any{
		map[string]any{"resource": map[string]any{"resourceType": "OperationOutcome", "issue": []any{map[string]any{"severity": "information", "code": "informational"}}}, "search": map[string]any{"mode": "outcome"}},
	}}
	infoJSON, _ := json.Marshal(info)
	conds := cdsDemoResources(t, "candidate")["Condition"]
	withInclude := json.RawMessage(`{"resourceType":"Bundle","type":"searchset","total":1,"entry":[
	  {"search":{"mode":"match"},"resource":{"resourceType":"MedicationRequest","id":"mr1","status":"active","intent":"order",
	     "subject":{"reference":"Patient/demo-candidate"},"medicationReference":{"reference":"Medication/m1"},"authoredOn":"2026-11-01"}},
	  {"search":{"mode":"include"},"resource":{"resourceType":"Medication","id":"m1"}}]}`)
	tests := []struct {
		name  string
		key   string
		value json.RawMessage
		want  screening.FetchState
	}{
		{"OperationOutcome instead of the search", "Procedure", json.RawMessage(`{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"exception"}]}`), screening.FetchFailed},
		{"masked resource", "Observation", cdsSearchset(masked), screening.FetchPartial},
		{"subsetted resource (meta.tag)", "Observation", cdsSearchset(subsetted), screening.FetchPartial},
		{"warning from the search", "AllergyIntolerance", warnedJSON, screening.FetchPartial},
		{"information from the search", "AllergyIntolerance", infoJSON, screening.FetchComplete},
		{"an issue without a severity", "AllergyIntolerance", json.RawMessage(`{"resourceType":"Bundle","type":"searchset","entry":[
		  {"search":{"mode":"outcome"},"resource":{"resourceType":"OperationOutcome","issue":[{"code":"incomplete"}]}}]}`), screening.FetchPartial},
		{"an OperationOutcome without issues", "AllergyIntolerance", json.RawMessage(`{"resourceType":"Bundle","type":"searchset","entry":[
		  {"search":{"mode":"outcome"},"resource":{"resourceType":"OperationOutcome"}}]}`), screening.FetchPartial},
		{"empty searchset", "AllergyIntolerance", cdsSearchset(nil), screening.FetchComplete},
		{"total above the match entries", "Condition", cdsSearchsetTotal(t, conds, len(conds)+3), screening.FetchPartial},
		{"total equal to the match entries", "Condition", cdsSearchsetTotal(t, conds, len(conds)), screening.FetchComplete},
		{"total counts matches, not included resources", "MedicationRequest", withInclude, screening.FetchComplete},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pf := cdsDemoPrefetch(t, "candidate")
			pf[tt.key] = tt.value
			rec, err := env.s.recordFromPrefetch(t.Context(), pf, "demo-candidate")
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
	rec, err := env.s.recordFromPrefetch(t.Context(), pf, "demo-candidate")
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

// cdsSearchsetTotal is a searchset of resources whose Bundle.total says total.
func cdsSearchsetTotal(t testing.TB, resources []json.RawMessage, total int) json.RawMessage {
	t.Helper()
	var b map[string]any
	if err := json.Unmarshal(cdsSearchset(resources), &b); err != nil {
		t.Fatal(err)
	}
	b["total"] = total
	data, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// A partial total is named in the type's detail, so the report says why.
func TestCDSPrefetchTotalDetail(t *testing.T) {
	conds := cdsDemoResources(t, "candidate")["Condition"]
	st, entries, err := readPrefetchedSearch("Condition", cdsSearchsetTotal(t, conds, 5))
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("the prefetched search holds %d of the 5 matches its total gives", len(conds))
	if st.State != screening.FetchPartial || st.Detail != want {
		t.Errorf("status %+v, want partial with %q", st, want)
	}
	if len(entries) != len(conds) {
		t.Errorf("%d entries kept, want the %d sent", len(entries), len(conds))
	}
}

// A failed or partial prefetched search is filled like a missing key: with an allowed
// fhirServer and a token the whole record comes from the EHR's FHIR server. Without a
// usable server (none named, not allowed, no token) the prefetch is screened as it is,
// its incomplete type's criteria unknown, and no request is made. A fetch that fails
// falls back to the prefetch.
func TestCDSIncompletePrefetchFilledFromFHIRServer(t *testing.T) {
	fhir := newCDSFakeFHIR(t, "candidate")
	elsewhere := newCDSFakeFHIR(t, "candidate")
	broken := newCDSFakeFHIR(t, "ineligible-labs") // has no demo-candidate: the fetch fails
	conds := cdsDemoResources(t, "candidate")["Condition"]
	incomplete := map[string]json.RawMessage{
		"failed":  json.RawMessage(`{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"exception"}]}`),
		"paged":   cdsSearchset(conds, map[string]string{"relation": "next", "url": "https://ehr.example.org/fhir/Condition?page=2"}),
		"total":   cdsSearchsetTotal(t, conds, len(conds)+2),
		"warning": json.RawMessage(`{"resourceType":"Bundle","type":"searchset","entry":[{"search":{"mode":"outcome"},"resource":{"resourceType":"OperationOutcome","issue":[{"severity":"warning","code":"too-costly"}]}}]}`),
	}
	token := map[string]any{"access_token": "ehr-token", "token_type": "Bearer"}
	servers := []struct {
		name       string
		fhirServer string
		auth       map[string]any
		fetched    bool // the card comes from the FHIR server
		hits       *cdsFakeFHIR
	}{
		{name: "allowed server and token", fhirServer: fhir.srv.URL, auth: token, fetched: true, hits: fhir},
		{name: "no fhirServer"},
		{name: "server not allowed", fhirServer: elsewhere.srv.URL, auth: token},
		{name: "no token", fhirServer: fhir.srv.URL},
		{name: "fetch fails", fhirServer: broken.srv.URL, auth: token, hits: broken},
	}
	for kind, value := range incomplete {
		for _, sv := range servers {
			t.Run(kind+"/"+sv.name, func(t *testing.T) {
				env := newCDSTestEnv(t, cdsTestConfig{fhirServers: []string{fhir.srv.URL, broken.srv.URL}})
				pf := cdsDemoPrefetch(t, "candidate")
				pf["Condition"] = value
				body := cdsHookBody("demo-candidate", pf)
				if sv.fhirServer != "" {
					body["fhirServer"] = sv.fhirServer
				}
				if sv.auth != nil {
					body["fhirAuthorization"] = sv.auth
				}
				var before int32
				if sv.hits != nil {
					before = sv.hits.requests.Load()
				}
				otherBefore, allowedBefore := elsewhere.requests.Load(), fhir.requests.Load()
				status, respBody, _ := env.post(t, env.key.token(t, nil), body)
				card := cdsOneCard(t, status, respBody)
				audit := env.audit.String()
				if sv.fetched {
					if !strings.Contains(card.Summary, "potentially eligible") {
						t.Errorf("summary %q, want the whole record's verdict (potentially eligible)", card.Summary)
					}
					if !strings.Contains(audit, `"valueString":"fhir:`+sv.fhirServer+`"`) {
						t.Errorf("audit does not name the FHIR server:\n%s", audit)
					}
				} else {
					if !strings.Contains(card.Summary, "insufficient data") {
						t.Errorf("summary %q, want insufficient data from the incomplete prefetch", card.Summary)
					}
					if !strings.Contains(audit, `"valueString":"prefetch"`) {
						t.Errorf("audit does not name the prefetch:\n%s", audit)
					}
				}
				if sv.hits != nil && sv.hits.requests.Load() == before {
					t.Error("the FHIR server was not asked")
				}
				if n := fhir.requests.Load() - allowedBefore; sv.hits != fhir && n != 0 {
					t.Errorf("the allowed server got %d requests it should not have", n)
				}
				if n := elsewhere.requests.Load() - otherBefore; n != 0 {
					t.Errorf("a server not on the allow-list got %d requests", n)
				}
			})
		}
	}
	if n := fhir.requests.Load(); n == 0 {
		t.Error("the allowed server was never asked")
	}
}

// A Patient the EHR masked makes the Patient source partial (its birth date or sex may
// be what was hidden), so age is never a pass on it.
func TestCDSPrefetchMaskedPatient(t *testing.T) {
	env := newCDSTestEnv(t, cdsTestConfig{})
	pf := cdsDemoPrefetch(t, "candidate")
	pf[prefetchPatientKey] = json.RawMessage(strings.Replace(string(pf[prefetchPatientKey]), `"resourceType"`, `"meta":{"security":[{"code":"REDACTED"}]},"resourceType"`, 1))
	rec, err := env.s.recordFromPrefetch(t.Context(), pf, "demo-candidate")
	if err != nil {
		t.Fatal(err)
	}
	if st := rec.Sources[screening.TypePatient]; st.State != screening.FetchPartial {
		t.Errorf("Patient source %+v, want partial", st)
	}
}
