package fhirbundle_test

import (
	"strings"
	"testing"

	"github.com/trialscreen/trialscreen/fhirbundle"
)

// TestRivalEntries: one Type/id given twice with other content cannot be read as
// either: keeping the first could keep a passing value and drop a failing one. The same
// resource given twice (another formatting) is one resource.
func TestRivalEntries(t *testing.T) {
	r := testReader(t)
	pt := entry{"", patient("p1")}
	tests := []struct {
		name    string
		entries []entry
		want    map[string]string // criterion -> outcome/reason
		problem string            // the unreadable entry's problem, "" for none
	}{
		{"one Observation, twice the same", []entry{pt, {"", hemoglobin("o1", "Patient/p1", "12")},
			{"", strings.ReplaceAll(hemoglobin("o1", "Patient/p1", "12"), "\n", " ")}},
			map[string]string{"hemoglobin": "pass/met"}, ""},
		{"one Observation id, two values", []entry{pt, {"", hemoglobin("o1", "Patient/p1", "12")}, {"", hemoglobin("o1", "Patient/p1", "7")}},
			map[string]string{"hemoglobin": "unknown/unreadable"},
			"Observation/o1 given again with other content: which one is the record cannot be told"},
		{"a rival without the code still counts", []entry{pt, {"", hemoglobin("o1", "Patient/p1", "12")},
			{"", `{"resourceType": "Observation", "id": "o1", "status": "final", "subject": {"reference": "Patient/p1"}}`}},
			map[string]string{"hemoglobin": "unknown/unreadable"},
			"Observation/o1 given again with other content: which one is the record cannot be told"},
		{"the patient twice, other birth dates", []entry{pt, {"", strings.Replace(patient("p1"), "1960-02-29", "1940-01-01", 1)},
			{"", hemoglobin("o1", "Patient/p1", "12")}},
			map[string]string{"age": "unknown/unreadable", "hemoglobin": "pass/met"},
			"Patient/p1 given again with other content: which one is the record cannot be told"},
		{"the patient twice, the same", []entry{pt, pt, {"", hemoglobin("o1", "Patient/p1", "12")}},
			map[string]string{"age": "pass/met"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec, err := r.ReadBundle(bundleJSON("collection", tc.entries...), "p1")
			if err != nil {
				t.Fatal(err)
			}
			var problems []string
			for _, u := range rec.Unreadable {
				problems = append(problems, u.Problem)
			}
			if got := strings.Join(problems, "; "); got != tc.problem {
				t.Errorf("unreadable %q, want %q", got, tc.problem)
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

// TestPatientTwiceUnderTwoFullURLs: a copy of the record's own Patient under another
// fullUrl is this patient, so what refers to that fullUrl is this patient's data.
func TestPatientTwiceUnderTwoFullURLs(t *testing.T) {
	seizure := `{"resourceType": "Condition", "id": "c1", "subject": {"reference": "urn:uuid:2"},
		"code": {"coding": [{"system": "` + snomed + `", "code": "128613002"}]}}`
	rec, err := testReader(t).ReadBundle(bundleJSON("transaction",
		entry{"urn:uuid:1", patient("p1")}, entry{"urn:uuid:2", patient("p1")}, entry{"", seizure}), "p1")
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Conditions) != 1 || rec.OtherPatients != 0 || len(rec.Unreadable) != 0 {
		t.Fatalf("conditions %d, other patients %d, unreadable %+v", len(rec.Conditions), rec.OtherPatients, rec.Unreadable)
	}
	if got := screenWithTestProtocol(t, rec)["seizures"]; got.Outcome != "fail" {
		t.Errorf("seizures %s/%s", got.Outcome, got.Reason)
	}
}

// TestPatientCopies: one patient given twice reads as one when the copies agree, even
// without naming the patient; a copy with another sex or birth date, found in a later
// search after the Patient was read, is unreadable, as within one Bundle.
func TestPatientCopies(t *testing.T) {
	r := testReader(t)
	rec, err := r.ReadBundle(bundleJSON("collection", entry{"", patient("p1")}, entry{"", patient("p1")}), "")
	if err != nil || rec.Patient == nil || len(rec.Unreadable) != 0 {
		t.Fatalf("identical copies: err %v, unreadable %+v", err, rec)
	}
	male := strings.Replace(patient("p1"), "female", "male", 1)
	if _, err := r.ReadBundle(bundleJSON("collection", entry{"", patient("p1")}, entry{"", patient("p2")}), ""); err == nil {
		t.Error("two patients without a choice: no error")
	}

	rec, err = r.ReadBundle(bundleJSON("collection", entry{"", patient("p1")}), "")
	if err != nil {
		t.Fatal(err)
	}
	page, err := fhirbundle.SplitBundle(bundleJSON("searchset", entry{"", male}, entry{"", hemoglobin("o1", "Patient/p1", "12")}))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.AddResources(rec, "p1", page.Entries); err != nil {
		t.Fatal(err)
	}
	if len(rec.Unreadable) != 1 || rec.Unreadable[0].ResourceType != "Patient" || rec.Patient.Gender != "female" {
		t.Fatalf("unreadable %+v, gender %q", rec.Unreadable, rec.Patient.Gender)
	}
	if err := r.AddResources(rec, "p1", []fhirbundle.Entry{{Resource: []byte(patient("p1"))}}); err != nil || len(rec.Unreadable) != 1 {
		t.Errorf("the same Patient again: err %v, unreadable %+v", err, rec.Unreadable)
	}
}
