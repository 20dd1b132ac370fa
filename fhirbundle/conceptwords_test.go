package fhirbundle_test

import (
	"testing"
)

// Procedures and allergies keep the record's own words for their code (its text, else
// the first coding's display), for the report to show beside the code.
func TestProceduresAndAllergiesKeepTheRecordsWords(t *testing.T) {
	bundle := `{"resourceType":"Bundle","type":"collection","entry":[
	{"resource":{"resourceType":"Patient","id":"p1","gender":"female","birthDate":"1960-02-03"}},
	{"resource":{"resourceType":"AllergyIntolerance","id":"a1","patient":{"reference":"Patient/p1"},
		"code":{"coding":[{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"3002","display":"cyclophosphamide"}],"text":"Cytoxan allergy"}}},
	{"resource":{"resourceType":"Procedure","id":"pr1","status":"completed","subject":{"reference":"Patient/p1"},"performedDateTime":"2026-11-01",
		"code":{"coding":[{"system":"http://snomed.info/sct","code":"29303009","display":"Electrocardiographic procedure"}]}}}]}`
	r, _ := realReader(t)
	rec, err := r.ReadBundle([]byte(bundle), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Allergies) != 1 || rec.Allergies[0].Display != "Cytoxan allergy" {
		t.Errorf("allergies = %+v, want the code's text", rec.Allergies)
	}
	if len(rec.Procedures) != 1 || rec.Procedures[0].Display != "Electrocardiographic procedure" {
		t.Errorf("procedures = %+v, want the coding's display", rec.Procedures)
	}
}
