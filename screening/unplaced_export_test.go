package screening_test

import (
	"testing"

	"github.com/trialscreen/trialscreen/screening"
	"github.com/trialscreen/trialscreen/terminology"
)

// Unplaced and UnplacedRecords give the judgement screening makes of a record's codes:
// the records they name are exactly those that make a would-be pass review/unplaced-code.
func TestUnplacedIsTheScreeningJudgement(t *testing.T) {
	p := loadProtocol(t)
	local := screening.Coding{System: "http://lab.example.org/codes", Code: "K-ANC"}
	for _, tc := range []struct {
		name  string
		typ   string
		codes []screening.Coding
		want  bool
	}{
		{"LOINC result", screening.TypeObservation, []screening.Coding{{System: terminology.LOINC, Code: "2345-7"}}, false},
		{"LOINC as an OID", screening.TypeObservation, []screening.Coding{{System: "urn:oid:2.16.840.1.113883.6.1", Code: "2345-7"}}, false},
		{"local lab code", screening.TypeObservation, []screening.Coding{local}, true},
		{"local beside LOINC", screening.TypeObservation, []screening.Coding{local, {System: terminology.LOINC, Code: "751-8"}}, false},
		{"no code", screening.TypeObservation, nil, true},
		{"drug the table knows (Velcade SBD)", screening.TypeMedRequest, []screening.Coding{{System: terminology.RxNorm, Code: "402244"}}, false},
		{"drug the table does not know", screening.TypeMedRequest, []screening.Coding{{System: terminology.RxNorm, Code: "562251"}}, true},
		{"SNOMED diagnosis", screening.TypeCondition, []screening.Coding{{System: terminology.SNOMED, Code: "38341003"}}, false},
		{"diagnosis in an unknown system", screening.TypeCondition, []screening.Coding{{System: "http://hospital.example.org/icd", Code: "C90.0"}}, true},
		{"a type the protocol does not read", "Encounter", []screening.Coding{local}, false},
		{"Patient", screening.TypePatient, nil, false},
	} {
		if got := p.Unplaced(tc.typ, tc.codes); got != tc.want {
			t.Errorf("%s: Unplaced %v, want %v", tc.name, got, tc.want)
		}
	}

	rec := exAdult().rec
	rec.Observations = append(rec.Observations,
		screening.Observation{Ref: "Observation/local-final", Code: []screening.Coding{local}, CodeText: "Neutrophils abs", Status: "final"},
		screening.Observation{Ref: "Observation/local-prelim", Code: []screening.Coding{local}, Status: "preliminary"})
	rec.Medications = append(rec.Medications,
		screening.MedicationUse{Ref: "MedicationRequest/amox", Code: []screening.Coding{{System: terminology.RxNorm, Code: "562251"}}, Status: "active"},
		screening.MedicationUse{Ref: "MedicationRequest/velcade", Code: []screening.Coding{{System: terminology.RxNorm, Code: "402244"}}, Status: "active"},
		screening.MedicationUse{Ref: "MedicationStatement/not-taken", Code: []screening.Coding{{System: terminology.RxNorm, Code: "562251"}}, Status: "not-taken"})
	got := map[string]string{}
	for _, u := range p.UnplacedRecords(rec) {
		got[u.Ref] = u.Type
		for _, c := range u.Codes {
			if w := p.UnplacedWhy(u.Type, c); w == "" {
				t.Errorf("%s: no advice for %v", u.Ref, c)
			}
		}
	}
	want := map[string]string{"Observation/local-final": screening.TypeObservation, "MedicationRequest/amox": screening.TypeMedRequest}
	if len(got) != len(want) || got["Observation/local-final"] != want["Observation/local-final"] || got["MedicationRequest/amox"] != want["MedicationRequest/amox"] {
		t.Errorf("UnplacedRecords %v, want %v (a preliminary result and a drug not taken are not held against a criterion)", got, want)
	}
}
