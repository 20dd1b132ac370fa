package fhirbundle_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/trialscreen/trialscreen/fhirbundle"
	"github.com/trialscreen/trialscreen/screening"
)

// seizureCondition is a Condition the test protocol's seizures exclusion fails on.
func seizureCondition(id, meta string) string {
	if meta != "" {
		meta = `"meta": ` + meta + `,`
	}
	return `{"resourceType": "Condition", "id": "` + id + `", ` + meta + `
		"subject": {"reference": "Patient/p1"},
		"code": {"coding": [{"system": "` + snomed + `", "code": "128613002"}]}}`
}

// maskedCondition is what a server sends for a Condition it hides for consent: the
// code is gone, only the mark says something was there.
const maskedCondition = `{"resourceType": "Condition", "id": "c-masked",
	"meta": {"security": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue", "code": "MASKED"}]},
	"subject": {"reference": "Patient/p1"}}`

func outcomeEntry(severity string) string {
	return `{"resourceType": "OperationOutcome", "issue": [{"severity": "` + severity + `", "code": "incomplete",
		"diagnostics": "some resources were left out by consent policy"}]}`
}

// screenWithTestProtocol reads the input and evaluates it with the test protocol.
func screenWithTestProtocol(t *testing.T, rec *screening.Record) map[string]screening.Result {
	t.Helper()
	p, err := screening.LoadProtocol([]byte(testProtocolYAML), screening.Options{})
	if err != nil {
		t.Fatal(err)
	}
	out := p.Evaluate(rec, screening.Settings{AsOf: time.Date(2024, 3, 5, 0, 0, 0, 0, time.UTC)})
	by := map[string]screening.Result{}
	for _, r := range out.Criteria {
		by[r.ID] = r
	}
	return by
}

// TestWithheldDataIsNeverAPass: a record given as input is the patient's full record,
// so "nothing found" passes an exclusion, unless the input itself says data was left
// out. A masked resource makes its type partial (its hidden code may be the finding);
// an OperationOutcome warning makes every type partial. The criteria reading a partial
// type are unknown (source-error), never pass.
func TestWithheldDataIsNeverAPass(t *testing.T) {
	r := testReader(t)
	pt, hb := entry{"", patient("p1")}, entry{"", hemoglobin("o1", "Patient/p1", "12")}
	tests := []struct {
		name    string
		entries []entry
		want    map[string]string // criterion -> outcome/reason
		detail  map[string]string // resource type -> Sources detail ("" = complete)
	}{
		{"complete record: the exclusion passes", []entry{pt, hb},
			map[string]string{"seizures": "pass/not-found", "hemoglobin": "pass/met", "age": "pass/met"},
			map[string]string{"Condition": "", "Observation": ""}},
		{"masked Condition: the exclusion is unknown, the lab still passes", []entry{pt, hb, {"", maskedCondition}},
			map[string]string{"seizures": "unknown/source-error", "hemoglobin": "pass/met"},
			map[string]string{"Condition": "1 Condition resource masked by the sender (meta)", "Observation": ""}},
		{"a finding beside a masked one still fails", []entry{pt, hb, {"", maskedCondition}, {"", seizureCondition("c1", "")}},
			map[string]string{"seizures": "fail/found"},
			map[string]string{"Condition": "1 Condition resource masked by the sender (meta)"}},
		{"redacted Observation: the lab is unknown though its value passes", []entry{pt, {"", strings.Replace(hemoglobin("o1", "Patient/p1", "12"),
			`"status"`, `"meta": {"security": [{"code": "REDACTED"}]}, "status"`, 1)}},
			map[string]string{"hemoglobin": "unknown/source-error", "seizures": "pass/not-found"},
			map[string]string{"Observation": "1 Observation resource redacted by the sender (meta)", "Condition": ""}},
		{"subsetted Condition (_elements): partial", []entry{pt, hb, {"", seizureCondition("c2", `{"tag": [{"code": "SUBSETTED"}]}`)}},
			map[string]string{"seizures": "fail/found"},
			map[string]string{"Condition": "1 Condition resource subsetted by the sender (meta)"}},
		{"OperationOutcome warning: every type partial", []entry{pt, hb, {"", outcomeEntry("warning")}},
			map[string]string{"seizures": "unknown/source-error", "hemoglobin": "unknown/source-error", "age": "unknown/source-error"},
			map[string]string{"Condition": "the input holds an OperationOutcome reporting warning (code incomplete): data may have been left out"}},
		{"OperationOutcome issue without a severity: every type partial", []entry{pt, hb, {"", `{"resourceType": "OperationOutcome", "issue": [{"code": "incomplete"}]}`}},
			map[string]string{"seizures": "unknown/source-error"},
			map[string]string{"Condition": "the input holds an OperationOutcome reporting no severity (code incomplete): data may have been left out"}},
		{"OperationOutcome whose issue is not a list: every type partial", []entry{pt, hb, {"", `{"resourceType": "OperationOutcome", "issue": {"severity": "error"}}`}},
			map[string]string{"seizures": "unknown/source-error"},
			map[string]string{"Condition": "the input holds an OperationOutcome that cannot be read (issue: JSON object where an array was expected): data may have been left out"}},
		{"OperationOutcome without issues: every type partial", []entry{pt, hb, {"", `{"resourceType": "OperationOutcome"}`}},
			map[string]string{"seizures": "unknown/source-error"},
			map[string]string{"Condition": "the input holds an OperationOutcome without issues: data may have been left out"}},
		{"a second OperationOutcome with one id and an error: every type partial", []entry{pt, hb,
			{"", `{"resourceType": "OperationOutcome", "id": "oo", "issue": [{"severity": "information", "code": "informational"}]}`},
			{"", `{"resourceType": "OperationOutcome", "id": "oo", "issue": [{"severity": "error", "code": "exception"}]}`}},
			map[string]string{"seizures": "unknown/source-error"},
			map[string]string{"Condition": "the input holds an OperationOutcome reporting error (code exception): data may have been left out"}},
		{"OperationOutcome information: complete", []entry{pt, hb, {"", outcomeEntry("information")}},
			map[string]string{"seizures": "pass/not-found", "hemoglobin": "pass/met"},
			map[string]string{"Condition": ""}},
		{"another patient's masked resource changes nothing", []entry{pt, hb, {"", patient("p2")},
			{"", `{"resourceType": "Condition", "id": "c9", "meta": {"security": [{"code": "MASKED"}]}, "subject": {"reference": "Patient/p2"}}`}},
			map[string]string{"seizures": "pass/not-found"},
			map[string]string{"Condition": ""}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec, err := r.ReadBundle(bundleJSON("collection", tc.entries...), "p1")
			if err != nil {
				t.Fatal(err)
			}
			for typ, want := range tc.detail {
				st := rec.Sources[typ]
				wantState := screening.FetchComplete
				if want != "" {
					wantState = screening.FetchPartial
				}
				if st.State != wantState || st.Detail != want {
					t.Errorf("Sources[%s] = %+v, want %s %q", typ, st, wantState, want)
				}
			}
			got := screenWithTestProtocol(t, rec)
			for id, want := range tc.want {
				if o := string(got[id].Outcome) + "/" + string(got[id].Reason); o != want {
					t.Errorf("%s: %s (%s), want %s", id, o, got[id].Summary, want)
				}
			}
		})
	}
}

// TestWithheldLooseResources: an export's lines (ReadResources) are judged as a Bundle.
func TestWithheldLooseResources(t *testing.T) {
	r := testReader(t)
	rec, err := r.ReadResources("p1", []fhirbundle.Entry{
		{Index: 0, Resource: json.RawMessage(patient("p1"))},
		{Index: 1, Resource: json.RawMessage(maskedCondition)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := screenWithTestProtocol(t, rec)["seizures"]; got.Outcome != screening.Unknown || got.Reason != "source-error" {
		t.Errorf("seizures %s/%s (%s), want unknown/source-error", got.Outcome, got.Reason, got.Summary)
	}
}

// TestMalformedMetaIsUnreadable: a meta that is not of FHIR's shape cannot be judged,
// so the resource is unreadable (its criteria unknown), as any mistyped field.
func TestMalformedMetaIsUnreadable(t *testing.T) {
	r := testReader(t)
	rec, err := r.ReadBundle(bundleJSON("collection", entry{"", patient("p1")},
		entry{"", seizureCondition("c1", `{"security": {"code": "MASKED"}}`)}), "p1")
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Unreadable) != 1 || rec.Unreadable[0].Problem != "Condition.meta.security: expected array" {
		t.Fatalf("unreadable %+v", rec.Unreadable)
	}
	if got := screenWithTestProtocol(t, rec)["seizures"]; got.Outcome != screening.Unknown || got.Reason != "unreadable" {
		t.Errorf("seizures %s/%s, want unknown/unreadable", got.Outcome, got.Reason)
	}
	for _, tc := range []struct {
		meta string
		want bool
		err  string
	}{
		{`null`, false, ""},
		{`{"profile": ["x"]}`, false, ""},
		{`{"security": [{"code": "masked"}]}`, true, ""},
		{`{"tag": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue", "code": "SUBSETTED"}]}`, true, ""},
		{`{"security": [{"code": "R"}]}`, false, ""},
		{`{"tag": "SUBSETTED"}`, false, "meta.tag: JSON string where an array was expected"},
	} {
		got, err := fhirbundle.MetaWithholds(json.RawMessage(tc.meta))
		if got != tc.want || (err == nil) != (tc.err == "") || err != nil && err.Error() != tc.err {
			t.Errorf("MetaWithholds(%s) = %v, %v; want %v, %q", tc.meta, got, err, tc.want, tc.err)
		}
	}
}

// TestWithheldMedication: a prescription naming its drug only through a Medication the
// sender masked cannot be told to be harmless: the washout criterion is unknown.
func TestWithheldMedication(t *testing.T) {
	req := `{"resourceType": "MedicationRequest", "id": "r1", "status": "active", "intent": "order",
		"subject": {"reference": "Patient/p1"}, "authoredOn": "2024-03-01",
		"medicationReference": {"reference": "%s"}%s}`
	// What a masked Medication still shows (here acetaminophen) need not be the drug.
	masked := `{"resourceType": "Medication", "id": "m1", "meta": {"security": [{"code": "MASKED"}]},
		"code": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "161"}]}}`
	for name, entries := range map[string][]entry{
		"a masked Medication entry":     {{"", patient("p1")}, {"", masked}, {"", fmt.Sprintf(req, "Medication/m1", "")}},
		"a masked contained Medication": {{"", patient("p1")}, {"", fmt.Sprintf(req, "#m1", `, "contained": [`+masked+`]`)}},
	} {
		t.Run(name, func(t *testing.T) {
			rec, err := testReader(t).ReadBundle(bundleJSON("collection", entries...), "p1")
			if err != nil {
				t.Fatal(err)
			}
			if len(rec.Unreadable) != 1 || !strings.Contains(rec.Unreadable[0].Problem, "masked") {
				t.Fatalf("unreadable %+v", rec.Unreadable)
			}
			if got := screenWithTestProtocol(t, rec)["washout"]; got.Outcome != screening.Unknown {
				t.Errorf("washout %s/%s (%s), want unknown", got.Outcome, got.Reason, got.Summary)
			}
		})
	}
}
