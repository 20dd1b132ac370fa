package screening_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trialscreen/trialscreen/protocols"
	"github.com/trialscreen/trialscreen/screening"
)

// TestInvalidProtocols: one file per class of error, each with its exact message.
func TestInvalidProtocols(t *testing.T) {
	cases := map[string]string{
		"empty":                  `the protocol file is empty`,
		"not-yaml":               `line 1: not valid YAML: did not find expected ',' or ']'`,
		"unknown-field":          `line 2: unknown field "status_rules"`,
		"missing-version":        `line 1: protocol.version is required`,
		"duplicate-id":           `line 29: criterion "neutrophils": id is used by another criterion`,
		"bad-id":                 `line 29: criterion "Pulmonary_Fibrosis": id must be lower-case words joined by hyphens`,
		"bad-type":               `line 29: criterion "pulmonary-fibrosis": type must be inclusion or exclusion, not "exclude"`,
		"missing-text":           `line 29: criterion "pulmonary-fibrosis": text (the protocol's own wording) is required`,
		"missing-obtain":         `line 29: criterion "pulmonary-fibrosis": obtain (what to get when the data is missing) is required`,
		"missing-params":         `line 23: criterion "neutrophils": params are required for check "measurement"`,
		"unknown-check":          `line 29: criterion "pulmonary-fibrosis": check "finding" is not a known kind (known: age, creatinine-clearance, diagnosis, ecg, findings, manual, measurement, pregnancy-test, serology, supporting-evidence, washout)`,
		"unknown-codeset":        `line 28: criterion "neutrophils": params.codes: codeset "neutrophils" is not defined`,
		"unknown-system":         `line 17: codesets.anc.codes[0]: system "lonic" is not a known alias (known: icd10, icd10cm, loinc, ndc, rxnorm, snomed, ucum)`,
		"prefix-not-icd":         `line 17: codesets.anc.codes[0]: prefix matching is only for ICD-10-CM, ICD-10-PCS and CPT, not loinc`,
		"code-and-prefix":        `line 21: codesets.fibrosis.codes[0]: give code or prefix, not both`,
		"bad-source":             `line 17: codesets.anc.codes[0]: source must be verification tags such as "S,E" (S E H R C L P U), not "verified"`,
		"unknown-unit-group":     `line 28: criterion "neutrophils": params.units: unit group "cells" is not defined`,
		"canonical-not-accepted": `line 9: units.cell-count: the canonical unit 10*9/L must be accepted with no factor`,
		// A factor is a finite number above 0 or left out; read as 1, 0 let an ANC of 600 /uL pass.
		"unit-divide-by-zero":        `line 12: units.cell-count.accept[1] (/uL): divide_by must be a finite number above 0, not 0`,
		"unit-multiply-by-zero":      `line 12: units.cell-count.accept[1] (10*3/uL): multiply_by must be a finite number above 0, not 0`,
		"unit-negative-factor":       `line 12: units.cell-count.accept[1] (/uL): divide_by must be a finite number above 0, not -1000`,
		"unit-nan-factor":            `line 12: units.cell-count.accept[1] (/uL): divide_by must be a finite number above 0, not .nan`,
		"unit-inf-factor":            `line 12: units.cell-count.accept[1] (10*3/uL): multiply_by must be a finite number above 0, not .inf`,
		"unit-empty-factor":          `line 13: units.cell-count.accept[1] (/uL): divide_by is empty: give a finite number above 0, or leave it out for no factor`,
		"unit-canonical-zero-factor": `line 11: units.cell-count.accept[0] (10*9/L): multiply_by must be a finite number above 0, not 0`,
		"bad-comparator":             `line 28: criterion "neutrophils": params.comparator: must be one of >=, >, <=, <, not "=>"`,
		"params-unknown-field":       `line 28: criterion "neutrophils": params: unknown field "treshold"`,
		"params-wrong-type":          "line 28: criterion \"neutrophils\": params: cannot unmarshal !!str `one` into float64",
		"bad-window":                 `line 28: criterion "neutrophils": params.window_days: must be a number of days above 0`,
		"uln-comparator":             `line 28: criterion "neutrophils": params.comparator: with uln the rule is value <= multiple x ULN, so the comparator must be <=`,
		"bad-rule-outcome":           `line 37: criterion "pulmonary-fibrosis": params.rules[0].outcome: must be fail or review, not "exclude"`,
		"bad-rule-resource":          `line 37: criterion "pulmonary-fibrosis": params.rules[0].resource: must be Condition, Procedure, Observation, Medication or AllergyIntolerance, not "Diagnosis"`,
		"several-problems": strings.Join([]string{
			`line 1: protocol.version is required`,
			`line 28: criterion "neutrophils": params.comparator: must be one of >=, >, <=, <, not "=>"`,
			`line 37: criterion "pulmonary-fibrosis": params.rules[0].outcome: must be fail or review, not "exclude"`,
		}, "\n"),
	}
	files, err := filepath.Glob("testdata/protocols/invalid-*.yaml")
	if err != nil || len(files) != len(cases) {
		t.Fatalf("want one invalid-*.yaml per case (%d), found %d (%v)", len(cases), len(files), err)
	}
	for name, want := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := screening.LoadProtocolFile("testdata/protocols/invalid-"+name+".yaml", screening.Options{})
			if err == nil {
				t.Fatal("loaded without error")
			}
			if err.Error() != want {
				t.Errorf("message\n got: %s\nwant: %s", err, want)
			}
		})
	}
}

func TestValidMinimalProtocol(t *testing.T) {
	p, err := screening.LoadProtocolFile("testdata/protocols/valid-minimal.yaml", screening.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(p.CriterionIDs(), ","); got != "neutrophils,pulmonary-fibrosis" {
		t.Errorf("criteria %s", got)
	}
}

// TestShippedProtocolHasContractCriteria: the 39 criterion ids are a stable public
// contract, in this order.
func TestShippedProtocolHasContractCriteria(t *testing.T) {
	want := []string{"age", "myeloma-diagnosis", "relapsed-refractory", "bcma-expression", "therapy-washout", "ecog",
		"life-expectancy", "neutrophils", "platelets", "lymphocytes", "alt", "ast", "creatinine-clearance", "bilirubin",
		"lvef", "pericardial-effusion", "ecg", "oxygen-saturation", "venous-access", "pregnancy-test", "contraception",
		"informed-consent", "other-malignancy", "mental-disorder", "marrow-failure-syndrome", "cardiac-disease",
		"indwelling-catheter", "cns-malignancy", "cns-disease", "viral-serology", "active-infection", "chemo-allergy",
		"autoimmune-disease", "pulmonary-fibrosis", "recent-trial", "compliance", "steroid-need", "lactation",
		"investigator-discretion"}
	p, err := protocols.LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	if got := p.CriterionIDs(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("criteria\n got: %v\nwant: %v", got, want)
	}
	// Every criterion is reported even for an empty record, and none passes on no data.
	out := p.Evaluate(&screening.Record{}, screening.Settings{AsOf: asOf})
	if len(out.Criteria) != 39 || out.Verdict == screening.PotentiallyEligible {
		t.Errorf("empty record: %d criteria, verdict %s", len(out.Criteria), out.Verdict)
	}
	for _, r := range out.Criteria {
		if r.Outcome == screening.Pass {
			t.Errorf("%s passes with no data: %s", r.ID, r.Summary)
		}
	}
}

func TestProtocolFileOnDisk(t *testing.T) {
	data, err := os.ReadFile("../protocols/anti-bcma-cart-rrmm.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != string(protocols.AntiBCMA) {
		t.Error("embedded protocol differs from the file")
	}
}
