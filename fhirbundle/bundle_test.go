package fhirbundle_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trialscreen/trialscreen/fhirbundle"
	"github.com/trialscreen/trialscreen/screening"
)

const (
	loinc  = "http://loinc.org"
	snomed = "http://snomed.info/sct"
	rxnorm = "http://www.nlm.nih.gov/research/umls/rxnorm"
	ucum   = "http://unitsofmeasure.org"
)

// entry is one test bundle entry: fullUrl and resource JSON.
type entry struct{ fullURL, resource string }

func bundleJSON(typ string, entries ...entry) []byte {
	var parts []string
	for _, e := range entries {
		if e.fullURL != "" {
			parts = append(parts, fmt.Sprintf(`{"fullUrl": %q, "resource": %s}`, e.fullURL, e.resource))
		} else {
			parts = append(parts, fmt.Sprintf(`{"resource": %s}`, e.resource))
		}
	}
	return []byte(fmt.Sprintf(`{"resourceType": "Bundle", "type": %q, "entry": [%s]}`, typ, strings.Join(parts, ",\n")))
}

func patient(id string) string {
	return fmt.Sprintf(`{"resourceType": "Patient", "id": %q, "gender": "female", "birthDate": "1960-02-29"}`, id)
}

// hemoglobin is an Observation every test protocol reads.
func hemoglobin(id, subject, value string) string {
	subj := ""
	if subject != "" {
		subj = fmt.Sprintf(`"subject": {"reference": %q},`, subject)
	}
	return fmt.Sprintf(`{"resourceType": "Observation", "id": %q, "status": "final",
		"code": {"coding": [{"system": %q, "code": "718-7"}]}, %s
		"effectiveDateTime": "2024-03-01T08:00:00Z",
		"valueQuantity": {"value": %s, "unit": "g/dL", "system": %q, "code": "g/dL"}}`, id, loinc, subj, value, ucum)
}

func obsRefs(rec *screening.Record) []string {
	var out []string
	for _, o := range rec.Observations {
		out = append(out, o.Ref)
	}
	return out
}

func TestReadBundleSynthea(t *testing.T) {
	real, name := realReader(t)
	readers := map[string]*fhirbundle.Reader{"test protocol": testReader(t), name: real}
	for _, f := range syntheaFiles(t) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var raw struct {
			Entry []json.RawMessage `json:"entry"`
		}
		if err := json.Unmarshal(data, &raw); err != nil {
			t.Fatal(err)
		}
		for pname, r := range readers {
			t.Run(filepath.Base(f)+"/"+pname, func(t *testing.T) {
				rec, err := r.ReadBundle(data, "")
				if err != nil {
					t.Fatalf("ReadBundle: %v", err)
				}
				if rec.Patient == nil || rec.Patient.ID == "" || !rec.Patient.BirthDate.Known() || rec.Patient.Gender == "" {
					t.Fatalf("patient = %+v, want one patient with id, birth date and gender", rec.Patient)
				}
				if rec.Seen["Patient"] != 1 || rec.OtherPatients != 0 || len(rec.Unreadable) != 0 {
					t.Errorf("Seen[Patient]=%d OtherPatients=%d Unreadable=%v, want 1, 0, none", rec.Seen["Patient"], rec.OtherPatients, rec.Unreadable)
				}
				seen := 0
				for _, n := range rec.Seen {
					seen += n
				}
				if seen != len(raw.Entry) {
					t.Errorf("Seen counts %d resources, bundle has %d entries", seen, len(raw.Entry))
				}
				for _, typ := range fhirbundle.RecordTypes {
					if rec.Sources[typ].State != screening.FetchComplete {
						t.Errorf("Sources[%s] = %+v, want complete", typ, rec.Sources[typ])
					}
				}
			})
		}
	}
}

// The test protocol reads the seizure disorder and clonazepam of the first Synthea patient.
func TestReadBundleSyntheaContent(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(syntheaDir, "01-alberto-atencio.json"))
	if err != nil {
		t.Skip(err)
	}
	rec, err := testReader(t).ReadBundle(data, "")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2007, 6, 4, 5, 28, 45, 0, time.UTC)
	wantPatient := &screening.Patient{
		Ref: "Patient/4e8ed886-fd5f-40bb-8feb-f339b04d853a", ID: "4e8ed886-fd5f-40bb-8feb-f339b04d853a",
		BirthDate: screening.When{Time: time.Date(1993, 6, 7, 0, 0, 0, 0, time.UTC), Precision: screening.PrecisionDay},
		Gender:    "male",
		Name:      "Alberto Atencio",
	}
	if !reflect.DeepEqual(rec.Patient, wantPatient) {
		t.Errorf("patient = %+v, want %+v", rec.Patient, wantPatient)
	}
	wantCond := []screening.Condition{{
		Ref: "Condition/0c230c71-0f5b-4bf5-b739-35706b2ca7b3", Code: []screening.Coding{{System: snomed, Code: "128613002"}},
		Clinical: "active", Verification: "confirmed",
		Onset:    screening.When{Time: at, Precision: screening.PrecisionTime},
		Recorded: screening.When{Time: at, Precision: screening.PrecisionTime},
		Text:     "Seizure disorder", Display: "Seizure disorder",
	}}
	if !reflect.DeepEqual(rec.Conditions, wantCond) {
		t.Errorf("conditions = %+v\nwant %+v", rec.Conditions, wantCond)
	}
	if len(rec.Medications) == 0 {
		t.Fatal("no clonazepam MedicationRequest read")
	}
	m := rec.Medications[0]
	if m.Ref != "MedicationRequest/3c591164-3002-4b75-82aa-fe47e64bc2f5" || m.Status != "active" || !m.Start.Time.Equal(at) || m.End.Known() {
		t.Errorf("medication = %+v", m)
	}
	wantObs := []screening.Observation{{
		Ref: "Observation/3f4a9033-867c-4580-851e-ddaec4e0d39a", Status: "final", Code: []screening.Coding{{System: loinc, Code: "718-7"}},
		Effective: screening.When{Time: time.Date(2016, 3, 7, 5, 28, 45, 0, time.UTC), Precision: screening.PrecisionTime},
		Value:     &screening.Quantity{Value: 16.079701556982158, Code: "g/dL", System: ucum, Unit: "g/dL"},
		CodeText:  "Hemoglobin [Mass/volume] in Blood", CodeDisplay: "Hemoglobin [Mass/volume] in Blood",
	}}
	if !reflect.DeepEqual(rec.Observations, wantObs) {
		t.Errorf("observations = %+v, want only the hemoglobin %+v", rec.Observations, wantObs)
	}
}

func TestReadBundleErrors(t *testing.T) {
	r := testReader(t)
	tests := []struct {
		name      string
		input     []byte
		patientID string
		kind      error
		want      string
	}{
		{"not JSON", []byte(`{"resourceType": x}`), "", fhirbundle.ErrNotJSON,
			"not FHIR JSON: invalid character 'x' looking for beginning of value at offset 18"},
		{"empty input", []byte(``), "", fhirbundle.ErrNotJSON, "not FHIR JSON: unexpected end of JSON input at offset 0"},
		{"truncated", []byte(`{"resourceType": "Bundle", "entry": [`), "", fhirbundle.ErrNotJSON, "not FHIR JSON: unexpected end of JSON input at offset 37"},
		{"bare Patient", []byte(patient("p1")), "", fhirbundle.ErrNotBundle, `not a FHIR Bundle: resourceType is "Patient"`},
		{"JSON array", []byte(`[{"resourceType": "Bundle"}]`), "", fhirbundle.ErrNotBundle, "not a FHIR Bundle: the input is a JSON array, not an object"},
		{"no resourceType", []byte(`{"entry": []}`), "", fhirbundle.ErrNotBundle, "not a FHIR Bundle: there is no resourceType"},
		{"entry not an array", []byte(`{"resourceType": "Bundle", "entry": {}}`), "", fhirbundle.ErrNotBundle, "not a FHIR Bundle: entry is JSON object, not an array"},
		{"empty bundle", []byte(`{"resourceType": "Bundle", "type": "collection"}`), "", fhirbundle.ErrPatient, "bundle holds no Patient resource"},
		{"no Patient", bundleJSON("collection", entry{"", hemoglobin("o1", "Patient/p1", "12")}), "", fhirbundle.ErrPatient, "bundle holds no Patient resource"},
		{"two patients", bundleJSON("searchset", entry{"", patient("p1")}, entry{"", patient("p2")}), "", fhirbundle.ErrPatient,
			"bundle holds 2 Patient resources; choose one"},
		{"chosen patient absent", bundleJSON("searchset", entry{"", patient("p1")}, entry{"", patient("p2")}), "p3", fhirbundle.ErrPatient,
			`bundle holds no Patient with id "p3" (it holds 2 Patient resources)`},
		{"one page of a search", []byte(`{"resourceType":"Bundle","type":"searchset","link":[{"relation":"next","url":"https://fhir.example.org/Observation?page=2"}],"entry":[{"resource":` + patient("p1") + `}]}`), "", fhirbundle.ErrIncomplete,
			"the Bundle is one page of a search (it has a next link): give the patient's whole record"},
		{"fewer entries than its total", []byte(`{"resourceType":"Bundle","type":"searchset","total":999,"entry":[{"resource":` + patient("p1") + `}]}`), "", fhirbundle.ErrIncomplete,
			"the Bundle says its search matched 999 resources but holds 1 entries: give the patient's whole record"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec, err := r.ReadBundle(tc.input, tc.patientID)
			if err == nil {
				t.Fatalf("no error; record %+v", rec)
			}
			if !errors.Is(err, tc.kind) {
				t.Errorf("error %q is not %v", err, tc.kind)
			}
			if err.Error() != tc.want {
				t.Errorf("error = %q\nwant    %q", err, tc.want)
			}
		})
	}
}

func TestReadBundleChoosesPatient(t *testing.T) {
	data := bundleJSON("searchset",
		entry{"", patient("p1")}, entry{"", patient("p2")},
		entry{"", hemoglobin("o1", "Patient/p1", "12")}, entry{"", hemoglobin("o2", "Patient/p2", "9")})
	for _, id := range []string{"p2", "Patient/p2"} {
		rec, err := testReader(t).ReadBundle(data, id)
		if err != nil {
			t.Fatal(err)
		}
		if rec.Patient.Ref != "Patient/p2" || !reflect.DeepEqual(obsRefs(rec), []string{"Observation/o2"}) || rec.OtherPatients != 2 {
			t.Errorf("patientID %q: patient %s, observations %v, other patients %d; want Patient/p2, [Observation/o2], 2",
				id, rec.Patient.Ref, obsRefs(rec), rec.OtherPatients)
		}
	}
}

func TestReadBundleMalformedEntries(t *testing.T) {
	badObs := `{"resourceType": "Observation", "id": "bad", "status": "final", "foo": 1,
		"code": {"coding": [{"system": "http://loinc.org", "code": "718-7"}]}, "subject": {"reference": "Patient/p1"}}`
	badValue := `{"resourceType": "Observation", "id": "bad", "status": "final", "effectiveDateTime": "yesterday",
		"code": {"coding": [{"system": "http://loinc.org", "code": "718-7"}]}, "subject": {"reference": "Patient/p1"}}`
	badCoding := `{"resourceType": "Observation", "id": "bad", "status": "final", "code": {"coding": {"code": "718-7"}}, "subject": {"reference": "Patient/p1"}}`
	irrelevantBad := `{"resourceType": "Observation", "id": "bad", "foo": 1, "code": {"coding": [{"system": "http://loinc.org", "code": "8302-2"}]}, "subject": {"reference": "Patient/p1"}}`
	hb := []string{"http://loinc.org|718-7"}
	tests := []struct {
		name       string
		bad        string
		wantUnread []screening.UnreadableEntry
	}{
		{"unknown field", badObs, []screening.UnreadableEntry{{Index: 2, ResourceType: "Observation", Codes: hb, Problem: `Observation: unknown field "foo"`}}},
		// The message names the element, never its value (patient data).
		{"bad dateTime", badValue, []screening.UnreadableEntry{{Index: 2, ResourceType: "Observation", Codes: hb, Problem: "Observation.effectiveDateTime: expected datetime"}}},
		{"coding not an array", badCoding, []screening.UnreadableEntry{{Index: 2, ResourceType: "Observation", Problem: "Observation.code.coding: expected array"}}},
		{"no resourceType", `{"id": "x"}`, []screening.UnreadableEntry{{Index: 2, Problem: "resource has no resourceType"}}},
		{"resource not an object", `"Observation"`, []screening.UnreadableEntry{{Index: 2, Problem: "resource is JSON string, not an object"}}},
		{"resourceType not a string", `{"resourceType": 7}`, []screening.UnreadableEntry{{Index: 2, Problem: "resourceType: JSON number where a string was expected"}}},
		// Never parsed, so never found out: no criterion reads body height.
		{"malformed but read by no criterion", irrelevantBad, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := bundleJSON("collection",
				entry{"", patient("p1")}, entry{"", hemoglobin("o1", "Patient/p1", "12")},
				entry{"", tc.bad}, entry{"", hemoglobin("o2", "Patient/p1", "11")})
			rec, err := testReader(t).ReadBundle(data, "")
			if err != nil {
				t.Fatal(err)
			}
			if got := obsRefs(rec); !reflect.DeepEqual(got, []string{"Observation/o1", "Observation/o2"}) {
				t.Errorf("observations %v, want o1 and o2", got)
			}
			if len(rec.Unreadable) != len(tc.wantUnread) {
				t.Fatalf("unreadable = %+v, want %+v", rec.Unreadable, tc.wantUnread)
			}
			for i, u := range rec.Unreadable {
				w := tc.wantUnread[i]
				if u.Index != w.Index || u.ResourceType != w.ResourceType || !reflect.DeepEqual(u.Codes, w.Codes) || u.Problem != w.Problem {
					t.Errorf("unreadable[%d] = %+v, want %+v", i, u, w)
				}
			}
		})
	}
}

func TestReadBundleMalformedEntryShapes(t *testing.T) {
	data := []byte(`{"resourceType": "Bundle", "type": "collection", "entry": [
		{"resource": ` + patient("p1") + `},
		7,
		{"fullUrl": 3, "resource": ` + hemoglobin("o0", "", "10") + `},
		{"request": {"method": "DELETE", "url": "Observation/x"}},
		{"resource": ` + hemoglobin("o1", "Patient/p1", "12") + `}]}`)
	rec, err := testReader(t).ReadBundle(data, "")
	if err != nil {
		t.Fatal(err)
	}
	want := []screening.UnreadableEntry{
		{Index: 1, Problem: "entry is JSON number, not an object"},
		{Index: 2, Problem: "fullUrl is JSON number, not a string"},
	}
	if !reflect.DeepEqual(rec.Unreadable, want) {
		t.Errorf("unreadable = %+v\nwant %+v", rec.Unreadable, want)
	}
	if got := obsRefs(rec); !reflect.DeepEqual(got, []string{"Observation/o1"}) {
		t.Errorf("observations %v, want [Observation/o1]", got)
	}
}

func TestReadBundleReferences(t *testing.T) {
	const uuid = "urn:uuid:9d6f1f0e-0000-4000-8000-000000000001"
	tests := []struct {
		name       string
		patientURL string // the Patient entry's fullUrl
		subject    string
		wantAdded  bool
		wantOthers int
	}{
		{"urn:uuid of the Patient entry", uuid, uuid, true, 0},
		{"Patient/id", uuid, "Patient/p1", true, 0},
		{"absolute URL", "", "https://fhir.example.org/r4/Patient/p1", true, 0},
		{"versioned", "", "Patient/p1/_history/3", true, 0},
		{"absolute fullUrl, relative reference", "https://fhir.example.org/r4/Patient/p1", "Patient/p1", true, 0},
		{"no subject: whose it is cannot be told", uuid, "", false, 0},
		{"a Patient the bundle does not hold: cannot be told", uuid, "Patient/p2", false, 0},
		{"a urn:uuid of no entry: cannot be told", uuid, "urn:uuid:9d6f1f0e-0000-4000-8000-000000000002", false, 0},
		{"a conditional reference: cannot be told", uuid, "Patient?identifier=urn:mrn|123", false, 0},
		{"an absolute URL of a Patient the bundle does not hold", "", "https://fhir.example.org/r4/Patient/p10", false, 0},
		// Other patients: their Patient resource and the Observation.
		{"another Patient of the bundle, by id", uuid, "Patient/p2", false, 2},
		{"another Patient of the bundle, by fullUrl", uuid, "urn:uuid:other", false, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			entries := []entry{{tc.patientURL, patient("p1")}, {"", hemoglobin("o1", tc.subject, "12")}}
			if tc.wantOthers > 0 {
				entries = append(entries, entry{"urn:uuid:other", patient("p2")})
			}
			rec, err := testReader(t).ReadBundle(bundleJSON("transaction", entries...), "p1")
			if err != nil {
				t.Fatal(err)
			}
			if added := len(rec.Observations) == 1; added != tc.wantAdded || rec.OtherPatients != tc.wantOthers {
				t.Errorf("added=%v OtherPatients=%d, want %v, %d", added, rec.OtherPatients, tc.wantAdded, tc.wantOthers)
			}
			// Another patient's resource is not counted as seen; one whose patient cannot be
			// told is seen and reported unreadable, so the criteria that need it say so.
			unattributed := !tc.wantAdded && tc.wantOthers == 0
			wantSeen := 0
			if tc.wantAdded || unattributed {
				wantSeen = 1
			}
			if seen := rec.Seen["Observation"]; seen != wantSeen {
				t.Errorf("Seen[Observation] = %d, want %d", seen, wantSeen)
			}
			if got := len(rec.Unreadable) == 1; got != unattributed {
				t.Errorf("unreadable %+v, want one entry: %v", rec.Unreadable, unattributed)
			}
		})
	}
}

func TestReadBundleAllergyAndPatientReference(t *testing.T) {
	allergy := `{"resourceType": "AllergyIntolerance", "id": "a1", "patient": {"reference": "Patient/p2"},
		"code": {"coding": [{"system": "http://snomed.info/sct", "code": "91936005"}]}}`
	rec, err := testReader(t).ReadBundle(bundleJSON("collection", entry{"", patient("p1")}, entry{"", patient("p2")}, entry{"", allergy}), "p1")
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Allergies) != 0 || rec.OtherPatients != 2 { // Patient/p2 and its allergy
		t.Errorf("allergies %v, other patients %d: an AllergyIntolerance.patient of another patient must be ignored", rec.Allergies, rec.OtherPatients)
	}
}

func TestReadBundleDates(t *testing.T) {
	utc := func(y int, m time.Month, d, h, min int) time.Time { return time.Date(y, m, d, h, min, 0, 0, time.UTC) }
	tests := []struct {
		name  string
		value string
		want  screening.When
	}{
		{"year", "2023", screening.When{Time: utc(2023, 1, 1, 0, 0), Precision: screening.PrecisionYear}},
		{"month", "2023-07", screening.When{Time: utc(2023, 7, 1, 0, 0), Precision: screening.PrecisionMonth}},
		{"day", "2023-07-14", screening.When{Time: utc(2023, 7, 14, 0, 0), Precision: screening.PrecisionDay}},
		{"time UTC", "2023-07-14T09:30:00Z", screening.When{Time: utc(2023, 7, 14, 9, 30), Precision: screening.PrecisionTime}},
		{"time with offset", "2023-07-14T01:30:00+10:00", screening.When{Time: utc(2023, 7, 13, 15, 30), Precision: screening.PrecisionTime}},
		{"milliseconds", "2023-07-14T09:30:00.250-04:00", screening.When{Time: utc(2023, 7, 14, 13, 30).Add(250 * time.Millisecond), Precision: screening.PrecisionTime}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			obs := fmt.Sprintf(`{"resourceType": "Observation", "id": "o1", "status": "final",
				"code": {"coding": [{"system": "http://loinc.org", "code": "718-7"}]}, "effectiveDateTime": %q,
				"subject": {"reference": "Patient/p1"}}`, tc.value)
			pat := fmt.Sprintf(`{"resourceType": "Patient", "id": "p1", "birthDate": %q}`, tc.value[:min(len(tc.value), 10)])
			rec, err := testReader(t).ReadBundle(bundleJSON("collection", entry{"", pat}, entry{"", obs}), "")
			if err != nil {
				t.Fatal(err)
			}
			if len(rec.Observations) != 1 {
				t.Fatalf("observations %+v, unreadable %+v", rec.Observations, rec.Unreadable)
			}
			if got := rec.Observations[0].Effective; !got.Time.Equal(tc.want.Time) || got.Precision != tc.want.Precision || got.Time.Location() != time.UTC {
				t.Errorf("effective = %v (%v, precision %d), want %v (precision %d)", got, got.Time, got.Precision, tc.want, tc.want.Precision)
			}
			if tc.want.Precision != screening.PrecisionTime {
				if got := rec.Patient.BirthDate; got != tc.want {
					t.Errorf("birth date = %+v, want %+v", got, tc.want)
				}
			}
		})
	}
}

func TestReadBundleNormalizes(t *testing.T) {
	const medURL = "urn:uuid:00000000-0000-4000-8000-0000000000aa"
	resources := []entry{
		{"", patient("p1")},
		{"", `{"resourceType": "Observation", "id": "full", "status": "entered-in-error",
			"code": {"coding": [{"system": "http://loinc.org", "code": "718-7"}, {"system": "urn:local", "code": "HB"}]},
			"subject": {"reference": "Patient/p1"},
			"effectivePeriod": {"start": "2024-01-01T00:00:00Z", "end": "2024-01-02T00:00:00Z"},
			"valueQuantity": {"value": 12.5, "unit": "g/dL", "system": "http://unitsofmeasure.org", "code": "g/dL"},
			"interpretation": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation", "code": "N"}]}],
			"referenceRange": [{"low": {"value": 12}}, {"high": {"value": 16, "unit": "g/dL", "system": "http://unitsofmeasure.org", "code": "g/dL"},
				"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/referencerange-meaning", "code": "normal"}]},
				"appliesTo": [{"coding": [{"system": "http://snomed.info/sct", "code": "248152002"}]}, {"text": "non-smokers"}],
				"age": {"low": {"value": 18, "unit": "years", "system": "http://unitsofmeasure.org", "code": "a"}}}],
			"component": [{"code": {"coding": [{"system": "http://loinc.org", "code": "3151-8"}]},
				"valueQuantity": {"value": 2, "unit": "L/min", "system": "http://unitsofmeasure.org", "code": "L/min"}},
				{"code": {"coding": [{"system": "http://loinc.org", "code": "x"}]},
				"valueCodeableConcept": {"coding": [{"system": "http://snomed.info/sct", "code": "722172003"}]}}]}`},
		{"", `{"resourceType": "Observation", "subject": {"reference": "Patient/p1"}, "id": "lt", "status": "final",
			"code": {"coding": [{"system": "http://loinc.org", "code": "718-7"}]}, "effectiveInstant": "2024-01-03T10:00:00.123Z",
			"valueQuantity": {"value": 5, "comparator": "<", "unit": "g/dL", "code": "g/dL"}}`},
		{"", `{"resourceType": "Observation", "subject": {"reference": "Patient/p1"}, "id": "int", "status": "final",
			"code": {"coding": [{"system": "http://loinc.org", "code": "718-7"}]}, "valueInteger": 9}`},
		{"", `{"resourceType": "Observation", "subject": {"reference": "Patient/p1"}, "id": "cc", "status": "amended",
			"code": {"coding": [{"system": "http://loinc.org", "code": "718-7"}]}, "valueCodeableConcept": {"text": "normal"}}`},
		{"", `{"resourceType": "Observation", "subject": {"reference": "Patient/p1"}, "id": "str", "status": "final",
			"code": {"coding": [{"system": "http://loinc.org", "code": "718-7"}]}, "valueString": "haemolysed"}`},
		{"", `{"resourceType": "Condition", "id": "c1", "subject": {"reference": "Patient/p1"},
			"clinicalStatus": {"coding": [{"code": "resolved"}]}, "verificationStatus": {"coding": [{"code": "confirmed"}]},
			"code": {"coding": [{"system": "http://snomed.info/sct", "code": "128613002"}]},
			"onsetPeriod": {"start": "2010-05"}, "abatementPeriod": {"start": "2012"}, "recordedDate": "2010-06-01"}`},
		{"", `{"resourceType": "Condition", "subject": {"reference": "Patient/p1"}, "id": "c2", "code": {"coding": [{"system": "http://snomed.info/sct", "code": "128613002"}]},
			"abatementString": "in childhood"}`},
		{"", `{"resourceType": "Procedure", "subject": {"reference": "Patient/p1"}, "id": "pr1", "status": "completed",
			"code": {"coding": [{"system": "http://snomed.info/sct", "code": "128613002"}]},
			"performedPeriod": {"start": "2020-02-01"}}`},
		{medURL, `{"resourceType": "Medication", "id": "m1", "code": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "1153378"}]}}`},
		{"", `{"resourceType": "MedicationRequest", "subject": {"reference": "Patient/p1"}, "id": "mr1", "status": "stopped", "intent": "order",
			"medicationReference": {"reference": "` + medURL + `"}, "subject": {"reference": "Patient/p1"},
			"authoredOn": "2024-01-05", "dispenseRequest": {"validityPeriod": {"start": "2024-01-05", "end": "2024-02-05"}}}`},
		{"", `{"resourceType": "MedicationRequest", "subject": {"reference": "Patient/p1"}, "id": "mr2", "status": "active", "intent": "order",
			"medicationReference": {"reference": "Medication/m1"}, "authoredOn": "2024-01-06"}`},
		{"", `{"resourceType": "MedicationStatement", "id": "ms1", "status": "completed",
			"contained": [{"resourceType": "Medication", "id": "med", "code": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "1153378"}]}}],
			"medicationReference": {"reference": "#med"}, "subject": {"reference": "Patient/p1"},
			"effectivePeriod": {"start": "2023-01-01", "end": "2023-03-01"}}`},
		{"", `{"resourceType": "MedicationAdministration", "id": "ma1", "status": "completed",
			"medicationCodeableConcept": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "1153378"}]},
			"subject": {"reference": "Patient/p1"}, "effectiveDateTime": "2024-01-07T12:00:00Z"}`},
		{"", `{"resourceType": "MedicationAdministration", "id": "other-drug", "status": "completed",
			"medicationCodeableConcept": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "1"}]},
			"subject": {"reference": "Patient/p1"}, "effectiveDateTime": "2024-01-07T12:00:00Z"}`},
		{"", `{"resourceType": "MedicationStatement", "id": "unresolved", "status": "active",
			"medicationReference": {"reference": "Medication/nowhere"}, "subject": {"reference": "Patient/p1"}}`},
		{"", `{"resourceType": "AllergyIntolerance", "id": "al1", "patient": {"reference": "Patient/p1"}, "criticality": "unable-to-assess",
			"clinicalStatus": {"coding": [{"code": "active"}]}, "verificationStatus": {"coding": [{"code": "unconfirmed"}]},
			"code": {"coding": [{"system": "http://snomed.info/sct", "code": "91936005"}]}}`},
	}
	rec, err := testReader(t).ReadBundle(bundleJSON("collection", resources...), "")
	if err != nil {
		t.Fatal(err)
	}
	day := func(y int, m time.Month, d int) screening.When {
		return screening.When{Time: time.Date(y, m, d, 0, 0, 0, 0, time.UTC), Precision: screening.PrecisionDay}
	}
	at := func(y int, m time.Month, d, h int) screening.When {
		return screening.When{Time: time.Date(y, m, d, h, 0, 0, 0, time.UTC), Precision: screening.PrecisionTime}
	}
	hb := []screening.Coding{{System: loinc, Code: "718-7"}}
	gdl := &screening.Quantity{Value: 16, Code: "g/dL", System: ucum, Unit: "g/dL"}
	wantObs := []screening.Observation{
		{Ref: "Observation/full", Status: "entered-in-error", Code: append(hb, screening.Coding{System: "urn:local", Code: "HB"}),
			Effective:      at(2024, 1, 2, 0),
			Value:          &screening.Quantity{Value: 12.5, Code: "g/dL", System: ucum, Unit: "g/dL"},
			Interpretation: []screening.Coding{{System: "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation", Code: "N"}},
			RefRanges: []screening.RefRange{{High: *gdl,
				Type:      []screening.Coding{{System: "http://terminology.hl7.org/CodeSystem/referencerange-meaning", Code: "normal"}},
				AppliesTo: [][]screening.Coding{{{System: snomed, Code: "248152002"}}, nil},
				AgeLow:    &screening.Quantity{Value: 18, Code: "a", System: ucum, Unit: "years"}}},
			Components: []screening.Component{
				{Code: []screening.Coding{{System: loinc, Code: "3151-8"}}, Value: &screening.Quantity{Value: 2, Code: "L/min", System: ucum, Unit: "L/min"}},
				{Code: []screening.Coding{{System: loinc, Code: "x"}}, ValueCode: []screening.Coding{{System: snomed, Code: "722172003"}}},
			}},
		{Ref: "Observation/lt", Status: "final", Code: hb,
			Effective: screening.When{Time: time.Date(2024, 1, 3, 10, 0, 0, 123e6, time.UTC), Precision: screening.PrecisionTime},
			ValueText: "<5 g/dL", ValueBound: &screening.Bound{Comparator: "<", Limit: screening.Quantity{Value: 5, Code: "g/dL", Unit: "g/dL"}}},
		{Ref: "Observation/int", Status: "final", Code: hb, Value: &screening.Quantity{Value: 9}},
		{Ref: "Observation/cc", Status: "amended", Code: hb, ValueText: "normal", ValueDisplay: "normal"},
		{Ref: "Observation/str", Status: "final", Code: hb, ValueText: "haemolysed"},
	}
	if !reflect.DeepEqual(rec.Observations, wantObs) {
		t.Errorf("observations:\n got %+v\nwant %+v", rec.Observations, wantObs)
	}
	seizure := []screening.Coding{{System: snomed, Code: "128613002"}}
	wantCond := []screening.Condition{
		{Ref: "Condition/c1", Code: seizure, Clinical: "resolved", Verification: "confirmed",
			Onset:    screening.When{Time: time.Date(2010, 5, 1, 0, 0, 0, 0, time.UTC), Precision: screening.PrecisionMonth},
			Recorded: day(2010, 6, 1), Abated: true,
			Abatement: screening.When{Time: time.Date(2012, 1, 1, 0, 0, 0, 0, time.UTC), Precision: screening.PrecisionYear}},
		{Ref: "Condition/c2", Code: seizure, Abated: true},
	}
	if !reflect.DeepEqual(rec.Conditions, wantCond) {
		t.Errorf("conditions:\n got %+v\nwant %+v", rec.Conditions, wantCond)
	}
	wantProc := []screening.Procedure{{Ref: "Procedure/pr1", Code: seizure, Status: "completed", Performed: day(2020, 2, 1), PerformedStart: day(2020, 2, 1), EndUnknown: true}} // a period with a start only
	if !reflect.DeepEqual(rec.Procedures, wantProc) {
		t.Errorf("procedures:\n got %+v\nwant %+v", rec.Procedures, wantProc)
	}
	clz := []screening.Coding{{System: rxnorm, Code: "1153378"}}
	wantMeds := []screening.MedicationUse{
		{Ref: "MedicationRequest/mr1", Code: clz, Status: "stopped", Start: day(2024, 1, 5)}, // validityPeriod.end is not the end of therapy,
		{Ref: "MedicationRequest/mr2", Code: clz, Status: "active", Start: day(2024, 1, 6)},
		{Ref: "MedicationStatement/ms1", Code: clz, Status: "completed", Start: day(2023, 1, 1), End: day(2023, 3, 1)},
		{Ref: "MedicationAdministration/ma1", Code: clz, Status: "completed", Start: at(2024, 1, 7, 12), End: at(2024, 1, 7, 12)},
		// A drug code the tables do not know is kept: it may be what a criterion looks for.
		{Ref: "MedicationAdministration/other-drug", Code: []screening.Coding{{System: rxnorm, Code: "1"}}, Status: "completed", Start: at(2024, 1, 7, 12), End: at(2024, 1, 7, 12)},
	}
	if !reflect.DeepEqual(rec.Medications, wantMeds) {
		t.Errorf("medications:\n got %+v\nwant %+v", rec.Medications, wantMeds)
	}
	wantAllergy := []screening.Allergy{{Ref: "AllergyIntolerance/al1", Code: []screening.Coding{{System: snomed, Code: "91936005"}},
		Clinical: "active", Verification: "unconfirmed", Criticality: "unable-to-assess"}}
	if !reflect.DeepEqual(rec.Allergies, wantAllergy) {
		t.Errorf("allergies:\n got %+v\nwant %+v", rec.Allergies, wantAllergy)
	}
	// A drug that cannot be identified might be the one a criterion looks for.
	if len(rec.Unreadable) != 1 || rec.Unreadable[0].ResourceType != "MedicationStatement" ||
		!strings.Contains(rec.Unreadable[0].Problem, "Medication/nowhere is not among the entries") {
		t.Errorf("unreadable = %+v, want the MedicationStatement with an unresolved medicationReference", rec.Unreadable)
	}
	wantSeen := map[string]int{"Patient": 1, "Observation": 5, "Condition": 2, "Procedure": 1, "Medication": 1,
		"MedicationRequest": 2, "MedicationStatement": 2, "MedicationAdministration": 2, "AllergyIntolerance": 1}
	if !reflect.DeepEqual(rec.Seen, wantSeen) {
		t.Errorf("seen = %v, want %v", rec.Seen, wantSeen)
	}
}

func TestAddResources(t *testing.T) {
	r := testReader(t)
	page, err := fhirbundle.SplitBundle([]byte(`{"resourceType": "Bundle", "type": "searchset", "total": 3,
		"link": [{"relation": "self", "url": "https://fhir.example.org/Observation?patient=p1"},
			{"relation": "next", "url": "https://fhir.example.org/Observation?patient=p1&_offset=2"}],
		"entry": [
			{"fullUrl": "https://fhir.example.org/Observation/o1", "resource": ` + hemoglobin("o1", "Patient/p1", "12") + `},
			{"fullUrl": "https://fhir.example.org/Observation/o9", "resource": ` + hemoglobin("o9", "Patient/p9", "12") + `},
			{"fullUrl": "https://fhir.example.org/Observation/bad", "resource": {"resourceType": "Observation", "id": "bad", "oops": true,
				"code": {"coding": [{"system": "http://loinc.org", "code": "718-7"}]}}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if page.Total != 3 || page.Type != "searchset" || page.Next() != "https://fhir.example.org/Observation?patient=p1&_offset=2" {
		t.Errorf("page: total %d, type %q, next %q", page.Total, page.Type, page.Next())
	}

	t.Run("patient by id", func(t *testing.T) {
		rec := fhirbundle.NewRecord()
		if err := r.AddResources(rec, "p1", page.Entries); err != nil {
			t.Fatal(err)
		}
		if got := obsRefs(rec); !reflect.DeepEqual(got, []string{"Observation/o1"}) {
			t.Errorf("observations %v, want [Observation/o1]", got)
		}
		// o9 names a Patient the search was not for and the record does not hold: whose
		// it is cannot be told (another id of this patient?), so it is unreadable.
		if rec.Seen["Observation"] != 3 || rec.OtherPatients != 0 || len(rec.Unreadable) != 2 || rec.Unreadable[0].Index != 1 || rec.Unreadable[1].Index != 2 ||
			!strings.Contains(rec.Unreadable[0].Problem, "refers to a Patient that is neither") {
			t.Errorf("seen %v, other patients %d, unreadable %+v", rec.Seen, rec.OtherPatients, rec.Unreadable)
		}
		// A resource already in the record (found again by another search) is not added twice.
		if err := r.AddResources(rec, "p1", page.Entries[:1]); err != nil {
			t.Fatal(err)
		}
		if got := obsRefs(rec); !reflect.DeepEqual(got, []string{"Observation/o1"}) || rec.Seen["Observation"] != 3 {
			t.Errorf("after adding o1 again: observations %v, seen %v", got, rec.Seen)
		}
		if len(rec.Sources) != 0 {
			t.Errorf("sources %v: AddResources leaves them to the caller", rec.Sources)
		}
	})
	t.Run("patient from an earlier read", func(t *testing.T) {
		rec, err := r.ReadBundle(bundleJSON("collection", entry{"", patient("p1")}), "")
		if err != nil {
			t.Fatal(err)
		}
		if err := r.AddResources(rec, "", page.Entries); err != nil {
			t.Fatal(err)
		}
		if got := obsRefs(rec); !reflect.DeepEqual(got, []string{"Observation/o1"}) {
			t.Errorf("observations %v, want [Observation/o1]", got)
		}
		if err := r.AddResources(rec, "p2", page.Entries); !errors.Is(err, fhirbundle.ErrPatient) {
			t.Errorf("adding for another patient: error %v, want ErrPatient", err)
		}
	})
	t.Run("no patient", func(t *testing.T) {
		err := r.AddResources(fhirbundle.NewRecord(), "", page.Entries)
		if !errors.Is(err, fhirbundle.ErrPatient) || err.Error() != "the entries hold no Patient resource" {
			t.Errorf("error %v", err)
		}
	})
}

// One Reader serves many goroutines (run with -race).
func TestReaderConcurrent(t *testing.T) {
	r := testReader(t)
	files := syntheaFiles(t)
	var wg sync.WaitGroup
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		want, err := r.ReadBundle(data, "")
		if err != nil {
			t.Fatal(err)
		}
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				got, err := r.ReadBundle(data, "")
				if err != nil || !reflect.DeepEqual(got, want) {
					t.Errorf("%s: concurrent read differs (err %v)", filepath.Base(f), err)
				}
			}()
		}
	}
	wg.Wait()
}
