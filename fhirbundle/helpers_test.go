package fhirbundle_test

import (
	"path/filepath"
	"sort"
	"testing"

	"github.com/trialscreen/trialscreen/fhirbundle"
	"github.com/trialscreen/trialscreen/protocols"
	"github.com/trialscreen/trialscreen/screening"
)

const (
	// The shared data sits beside the checkout, in CI as on a developer's machine.
	syntheaDir = "../../shared/data/synthea"
)

// testProtocolYAML is small and fixed, so the behaviour tests know which codes are read:
// hemoglobin (LOINC 718-7), seizure disorder (SNOMED 128613002), clonazepam (RxNorm
// 1153378), penicillin allergy (SNOMED 91936005) and the Patient.
const testProtocolYAML = `
protocol: {id: fhirbundle-test, version: "0.1.0", title: fhirbundle test protocol}
statuses:
  observation: [final, amended, corrected]
  discounted_verification: [refuted, entered-in-error]
  active_clinical: [active]
  resolved_clinical: [resolved]
units:
  hemoglobin:
    canonical: g/dL
    accept:
      - {code: g/dL}
codesets:
  hemoglobin:
    title: Hemoglobin
    codes:
      - {system: loinc, code: 718-7, display: Hemoglobin, source: S}
  seizure:
    title: Seizure disorder
    codes:
      - {system: snomed, code: "128613002", display: Seizure disorder, source: S}
  clonazepam:
    title: Clonazepam
    codes:
      - {system: rxnorm, code: "1153378", display: Clonazepam, source: S}
  penicillin:
    title: Penicillin allergy
    codes:
      - {system: snomed, code: "91936005", display: Allergy to penicillin, source: S}
criteria:
  - id: age
    type: inclusion
    text: Aged 18 to 75
    check: age
    obtain: birth date
    params: {min_years: 18, max_years: 75}
  - id: hemoglobin
    type: inclusion
    text: Hemoglobin >= 8 g/dL
    check: measurement
    obtain: hemoglobin within 28 days
    params: {label: hemoglobin, codes: [hemoglobin], window_days: 28, units: hemoglobin, comparator: ">=", threshold: 8}
  - id: seizures
    type: exclusion
    text: Seizure disorder
    check: findings
    obtain: diagnoses
    params:
      label: seizure disorder
      rules:
        - {resource: Condition, codes: [seizure], outcome: fail}
        - {resource: AllergyIntolerance, codes: [penicillin], outcome: review}
        - {resource: Procedure, codes: [seizure], outcome: review}
  - id: washout
    type: exclusion
    text: Clonazepam within 14 days
    check: washout
    obtain: medication history
    params: {medications: [clonazepam], days: 14}
`

func testReader(t testing.TB) *fhirbundle.Reader {
	t.Helper()
	p, err := screening.LoadProtocol([]byte(testProtocolYAML), screening.Options{})
	if err != nil {
		t.Fatalf("test protocol: %v", err)
	}
	r, err := fhirbundle.NewReader(p)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// realReader reads with the trial's protocol when it is there, else the test protocol.
func realReader(t testing.TB) (*fhirbundle.Reader, string) {
	t.Helper()
	p, err := protocols.LoadDefault()
	if err != nil {
		t.Fatalf("shipped protocol: %v", err)
	}
	r, err := fhirbundle.NewReader(p)
	if err != nil {
		t.Fatal(err)
	}
	return r, p.Info.ID
}

func syntheaFiles(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(syntheaDir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no Synthea bundles in %s (the shared data must sit beside the checkout)", syntheaDir)
	}
	sort.Strings(files)
	return files
}
