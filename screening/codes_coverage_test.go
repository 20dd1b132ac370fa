package screening_test

import (
	"context"
	"strings"
	"testing"

	"github.com/trialscreen/trialscreen/screening"
)

// Review 3 (codes and findings rules): wrong passes from short code lists, the remission
// boundary, unverified codes, and criteria whose absence the records read cannot show.
// Helpers here start with "cr3" so that they cannot collide with other test files.

const (
	cr3PCS   = screening.SystemICD10PCS
	cr3CPT   = screening.SystemCPT
	cr3HCPCS = "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"
)

// cr3 builds a "system|code" shorthand for systems the builder has no alias for.
func cr3(system, c string) string { return system + "|" + c }

// cardiac-disease: PCI coded in ICD-10-PCS (0270-0273), CPT (92920-92944) or HCPCS
// (C9600-C9608), and NYHA observations answered with the SNOMED CT class findings.
func TestReview3CardiacCodes(t *testing.T) {
	nyha := func(value string) *patient {
		return exAdult().obs(screening.Observation{Status: "final", Code: codes("loinc|88020-3"), Effective: daysAgo(30), ValueCode: codes(value)})
	}
	runCriterion(t, "cardiac-disease", []criterionCase{
		{name: "ICD-10-PCS 02703ZZ 100 days ago fails", patient: exAdult().procedure(cr3(cr3PCS, "02703ZZ"), daysAgo(100)),
			outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "ICD-10-PCS 0273356 (four arteries) fails", patient: exAdult().procedure(cr3(cr3PCS, "0273356"), daysAgo(100)),
			outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "ICD-10-PCS written lower-case with a dot fails", patient: exAdult().procedure(cr3(cr3PCS, "027.03zz"), daysAgo(100)),
			outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "ICD-10-PCS 02703ZZ 400 days ago passes", patient: exAdult().procedure(cr3(cr3PCS, "02703ZZ"), daysAgo(400)),
			outcome: screening.Pass, reason: screening.ReasonNotFound},
		{name: "ICD-10-PCS 0274 (not a coronary artery body part) passes", patient: exAdult().procedure(cr3(cr3PCS, "02743ZZ"), daysAgo(100)),
			outcome: screening.Pass, reason: screening.ReasonNotFound},
		{name: "PCS characters under the CPT system do not match", patient: exAdult().procedure(cr3(cr3CPT, "02703ZZ"), daysAgo(100)),
			outcome: screening.Pass, reason: screening.ReasonNotFound},
		{name: "CPT 92928 (stent) fails", patient: exAdult().procedure(cr3(cr3CPT, "92928"), daysAgo(100)),
			outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "CPT 92920 (first of the range) fails", patient: exAdult().procedure(cr3(cr3CPT, "92920"), daysAgo(10)),
			outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "CPT 92944 (last of the range) fails", patient: exAdult().procedure(cr3(cr3CPT, "92944"), daysAgo(10)),
			outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "CPT 92945 (after the range) passes", patient: exAdult().procedure(cr3(cr3CPT, "92945"), daysAgo(10)),
			outcome: screening.Pass, reason: screening.ReasonNotFound},
		{name: "CPT 92919 (before the range) passes", patient: exAdult().procedure(cr3(cr3CPT, "92919"), daysAgo(10)),
			outcome: screening.Pass, reason: screening.ReasonNotFound},
		{name: "CPT 92928 without a date is review", patient: exAdult().procedure(cr3(cr3CPT, "92928"), screening.When{}),
			outcome: screening.Review, reason: screening.ReasonUndated},
		{name: "HCPCS C9600 fails", patient: exAdult().procedure(cr3(cr3HCPCS, "C9600"), daysAgo(100)),
			outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "HCPCS C9608 fails", patient: exAdult().procedure(cr3(cr3HCPCS, "C9608"), daysAgo(100)),
			outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "NYHA 88020-3 valued SNOMED class III fails", patient: nyha("snomed|420913000"),
			outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "NYHA 88020-3 valued SNOMED class IV fails", patient: nyha("snomed|422293003"),
			outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "NYHA 88020-3 valued SNOMED class II passes", patient: nyha("snomed|421704003"),
			outcome: screening.Pass, reason: screening.ReasonNotFound},
	})
	t.Run("evidence names the PCS code and the SNOMED answer", func(t *testing.T) {
		exCheck(t, "cardiac-disease", exAdult().procedure(cr3(cr3PCS, "02703ZZ"), daysAgo(100)), screening.Fail, screening.ReasonFound,
			cr3PCS+"|02703ZZ", "coronary-intervention")
		exCheck(t, "cardiac-disease", nyha("snomed|420913000"), screening.Fail, screening.ReasonFound,
			exFullURL("snomed|420913000"))
	})
}

// A PCS- or CPT-coded Procedure is read at all: readers skip what no criterion needs.
func TestReview3ProcedureSystemsAreRelevant(t *testing.T) {
	p := loadProtocol(t)
	for _, c := range []screening.Coding{{System: cr3PCS, Code: "02703ZZ"}, {System: cr3CPT, Code: "92928"}, {System: cr3HCPCS, Code: "C9604"}} {
		if !p.Relevant(screening.TypeProcedure, []screening.Coding{c}) {
			t.Errorf("a Procedure coded %s is not read", c.Key())
		}
	}
	if p.Relevant(screening.TypeProcedure, []screening.Coding{{System: cr3CPT, Code: "99213"}}) {
		t.Error("an office visit CPT code is read as relevant")
	}
}

// other-malignancy: "complete remission of more than 5 years": an abatement exactly 5
// years before as-of is not enough.
func TestReview3RemissionBoundary(t *testing.T) {
	const breast = "snomed|254837009"
	fiveYears := asOf.AddDate(-5, 0, 0)
	runCriterion(t, "other-malignancy", []criterionCase{
		{name: "abated exactly 5 years before as-of fails", patient: exAdult().exCured(breast, exYearsAgo(8), exYearsAgo(5)),
			outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "abated on the calendar day 5 years before as-of fails",
			patient: exAdult().exCured(breast, exYearsAgo(8), date(fiveYears.Format("2006-01-02"))),
			outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "abated the day before that passes",
			patient: exAdult().exCured(breast, exYearsAgo(8), date(fiveYears.AddDate(0, 0, -1).Format("2006-01-02"))),
			outcome: screening.Pass, reason: screening.ReasonNotFound},
		{name: "abated one second more than 5 years before passes",
			patient: exAdult().exCured(breast, exYearsAgo(8), screening.When{Time: fiveYears.Add(-1e9), Precision: screening.PrecisionTime}),
			outcome: screening.Pass, reason: screening.ReasonNotFound},
	})
}

// Codes the protocol tags U (unverified) never exclude on their own in rules that say
// unverified: review; verified codes in the same rule still fail.
func TestReview3UnverifiedCodesAreReview(t *testing.T) {
	runCriterion(t, "mental-disorder", []criterionCase{
		{name: "F22 delusional disorder (U) is review", patient: exAdult().condition("icd10cm|F22", daysAgo(100)),
			outcome: screening.Review, reason: screening.ReasonJudgement},
		{name: "F28 (U) is review", patient: exAdult().condition("icd10cm|F28", daysAgo(100)),
			outcome: screening.Review, reason: screening.ReasonJudgement},
		{name: "F20.9 schizophrenia (E) still fails", patient: exAdult().condition("icd10cm|F20.9", daysAgo(100)),
			outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "F22 beside F20.9 fails", patient: exAdult().condition("icd10cm|F22", daysAgo(100)).condition("icd10cm|F20.9", daysAgo(100)),
			outcome: screening.Fail, reason: screening.ReasonFound},
	})
	runCriterion(t, "marrow-failure-syndrome", []criterionCase{
		{name: "D61.01 Diamond-Blackfan (U) is review", patient: exAdult().condition("icd10cm|D61.01", exYearsAgo(40)),
			outcome: screening.Review, reason: screening.ReasonJudgement},
		{name: "D61.03 Fanconi (E) still fails", patient: exAdult().condition("icd10cm|D61.03", exYearsAgo(40)),
			outcome: screening.Fail, reason: screening.ReasonFound},
	})
	const ra = "snomed|69896004"
	runCriterion(t, "autoimmune-disease", []criterionCase{
		{name: "RA with azathioprine (RxNorm 1256, U) now is review, not fail",
			patient: exAdult().condition(ra, exYearsAgo(5)).med("rxnorm|1256", "active", daysAgo(60), screening.When{}),
			outcome: screening.Review, reason: screening.ReasonJudgement},
		{name: "RA with methotrexate (C) still fails",
			patient: exAdult().condition(ra, exYearsAgo(5)).med("rxnorm|6851", "active", daysAgo(60), screening.When{}),
			outcome: screening.Fail, reason: screening.ReasonFound},
	})
	t.Run("evidence says the code is unverified", func(t *testing.T) {
		r := exCheck(t, "mental-disorder", exAdult().condition("icd10cm|F22", daysAgo(100)), screening.Review, screening.ReasonJudgement,
			"unverified (source U)")
		if !strings.Contains(r.Summary, "unverified code") {
			t.Errorf("summary %q does not say the code is unverified", r.Summary)
		}
		exCheck(t, "autoimmune-disease", exAdult().condition(ra, exYearsAgo(5)).med("rxnorm|1256", "active", daysAgo(60), screening.When{}),
			screening.Review, screening.ReasonJudgement, exFullURL("rxnorm|1256"), "unverified (source U)")
	})
}

// pulmonary-fibrosis: the whole J84.11x family, not only J84.112.
func TestReview3PulmonaryFibrosisCodes(t *testing.T) {
	runCriterion(t, "pulmonary-fibrosis", []criterionCase{
		{name: "J84.111 fails", patient: exAdult().condition("icd10cm|J84.111", daysAgo(100)),
			outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "J84.113 fails", patient: exAdult().condition("icd10cm|J84.113", daysAgo(100)),
			outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "J84.112 still fails", patient: exAdult().condition("icd10cm|J84.112", daysAgo(100)),
			outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "J84.2 (not listed) passes", patient: exAdult().condition("icd10cm|J84.2", daysAgo(100)),
			outcome: screening.Pass, reason: screening.ReasonNotFound},
	})
}

// lactation: a breastfeeding-status observation (63895-7) whose value says she is
// breastfeeding is review; another value is not.
func TestReview3LactationObservation(t *testing.T) {
	const status = "loinc|63895-7"
	runCriterion(t, "lactation", []criterionCase{
		{name: "63895-7 valued currently breast-feeding is review", patient: exWoman().coded(status, "snomed|169750002", daysAgo(5)),
			outcome: screening.Review, reason: screening.ReasonJudgement},
		{name: "63895-7 valued breastfeeding (situation) is review", patient: exWoman().coded(status, "snomed|866041003", daysAgo(5)),
			outcome: screening.Review, reason: screening.ReasonJudgement},
		{name: "63895-7 with another value passes", patient: exWoman().coded(status, "snomed|260385009", daysAgo(5)),
			outcome: screening.Pass, reason: screening.ReasonNotFound},
		{name: "a preliminary 63895-7 does not count",
			patient: exWoman().obs(screening.Observation{Status: "preliminary", Code: codes(status), Effective: daysAgo(5), ValueCode: codes("snomed|169750002")}),
			outcome: screening.Pass, reason: screening.ReasonNotFound},
		{name: "a man is not applicable", patient: exAdult().coded(status, "snomed|169750002", daysAgo(5)),
			outcome: screening.Pass, reason: screening.ReasonNotApplicable},
	})
	t.Run("evidence names the observation and its value", func(t *testing.T) {
		exCheck(t, "lactation", exWoman().coded(status, "snomed|169750002", daysAgo(5)), screening.Review, screening.ReasonJudgement,
			"Observation/1", exFullURL("snomed|169750002"), "willing to stop")
	})
}

// therapy-washout: pomalidomide is an anti-myeloma drug.
func TestReview3WashoutPomalidomide(t *testing.T) {
	runCriterion(t, "therapy-washout", []criterionCase{
		{name: "pomalidomide ended 5 days ago is review (may wash out in time)",
			patient: exAdult().med("rxnorm|1369713", "completed", daysAgo(60), daysAgo(5)),
			outcome: screening.Review, reason: screening.ReasonPending},
		{name: "pomalidomide ended 60 days ago passes",
			patient: exAdult().med("rxnorm|1369713", "completed", daysAgo(120), daysAgo(60)),
			outcome: screening.Pass, reason: screening.ReasonMet},
	})
}

// lvef: the echo method variants count as echocardiographic LVEF, so the newest one
// decides.
func TestReview3LVEFEchoVariants(t *testing.T) {
	runCriterion(t, "lvef", []criterionCase{
		{name: "newer 18049-7 (Teichholz) 35% beside older 8806-2 60% fails",
			patient: exAdult().lab("loinc|8806-2", 60, "%", daysAgo(10)).lab("loinc|18049-7", 35, "%", daysAgo(2)),
			outcome: screening.Fail, reason: screening.ReasonNotMet},
		{name: "79993-2 55% passes", patient: exAdult().lab("loinc|79993-2", 55, "%", daysAgo(2)),
			outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "77889-4 40% fails", patient: exAdult().lab("loinc|77889-4", 40, "%", daysAgo(2)),
			outcome: screening.Fail, reason: screening.ReasonNotMet},
		{name: "18044-8 52% passes", patient: exAdult().lab("loinc|18044-8", 52, "%", daysAgo(2)),
			outcome: screening.Pass, reason: screening.ReasonMet},
	})
}

// cr3Minimal is a small protocol to exercise the findings options on their own.
const cr3Minimal = `protocol: {id: cr3, version: "0.1.0", title: review3 options}
statuses:
  observation: [final]
  discounted_verification: [refuted]
  active_clinical: [active]
  resolved_clinical: [resolved]
codesets:
  drain:
    title: Drain insertion
    codes:
      - {system: snomed, code: "39834009", display: Percutaneous nephrostomy, source: E}
  guessed:
    title: A guessed code
    codes:
      - {system: snomed, code: "111111111", display: Unverified disease, source: U}
      - {system: icd10cm, prefix: X99, display: Unverified family, source: U}
      - {system: icd10cm, prefix: X99.1, display: Verified member, source: E}
criteria:
  - id: drains
    type: exclusion
    text: Indwelling drain
    check: findings
    obtain: Procedures
    params:
      label: drain
      rules:
        - {resource: Procedure, codes: [drain], outcome: review}
      __NONE_FOUND__
  - id: guessed
    type: exclusion
    text: Guessed disease
    check: findings
    obtain: Diagnoses
    params:
      label: guessed disease
      rules:
        - {resource: Condition, codes: [guessed], outcome: fail, __UNVERIFIED__}
`

func cr3Protocol(noneFound, unverified string, opts screening.Options) (*screening.Protocol, error) {
	y := strings.Replace(cr3Minimal, "__NONE_FOUND__", noneFound, 1)
	y = strings.Replace(y, "__UNVERIFIED__", unverified, 1)
	return screening.LoadProtocol([]byte(y), opts)
}

// The findings option none_found: review makes finding nothing a review that says why,
// for criteria whose absence the records read cannot show; without it nothing is a pass.
func TestReview3NoneFoundOption(t *testing.T) {
	p, err := cr3Protocol(`none_found: {outcome: review, note: "devices are not read: check for a drain"}`, "unverified: review", screening.Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := screen(t, p, exAdult().rec, "drains")
	if r.Outcome != screening.Review || r.Reason != screening.ReasonManual {
		t.Fatalf("nothing found: got %s/%s (%s), want review/manual", r.Outcome, r.Reason, r.Summary)
	}
	if !strings.Contains(r.Summary, "devices are not read: check for a drain") || !strings.Contains(r.Summary, "no drain found in the records read") {
		t.Errorf("summary %q does not say what was not read", r.Summary)
	}
	if len(r.Evidence) == 0 || !strings.Contains(r.Evidence[0].Note, "searched 0 Procedure") {
		t.Errorf("evidence %+v does not say what was searched", r.Evidence)
	}
	// A finding still decides as before.
	r = screen(t, p, exAdult().procedure("snomed|39834009", daysAgo(3)).rec, "drains")
	if r.Outcome != screening.Review || r.Reason != screening.ReasonJudgement {
		t.Errorf("drain found: got %s/%s, want review/judgement", r.Outcome, r.Reason)
	}
	// A failed fetch is still unknown, not review.
	r = screen(t, p, exAdult().exSource("Procedure", screening.FetchFailed).rec, "drains")
	if r.Outcome != screening.Unknown {
		t.Errorf("failed fetch: got %s/%s, want unknown", r.Outcome, r.Reason)
	}
	// Without the option nothing found is a pass.
	p, err = cr3Protocol("", "unverified: review", screening.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r := screen(t, p, exAdult().rec, "drains"); r.Outcome != screening.Pass || r.Reason != screening.ReasonNotFound {
		t.Errorf("without none_found: got %s/%s, want pass/not-found", r.Outcome, r.Reason)
	}
}

// Problems with the new options are named with their line.
func TestReview3OptionProblems(t *testing.T) {
	cases := []struct {
		name, noneFound, unverified, want string
	}{
		{"none_found outcome", `none_found: {outcome: fail, note: "x"}`, "", `params.none_found.outcome: must be review, not "fail"`},
		{"none_found note", `none_found: {outcome: review}`, "", `params.none_found.note: say what the records read cannot show`},
		{"unverified value", "", "unverified: pass", `params.rules[0].unverified: must be review (or left out), not "pass"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := cr3Protocol(tc.noneFound, tc.unverified, screening.Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "line ") {
				t.Errorf("got %v, want a problem with a line saying %q", err, tc.want)
			}
		})
	}
}

// cr3Expand is a terminology that returns the curated codes (as a server's expansion
// includes them) and one more descendant.
type cr3Expand struct{}

func (cr3Expand) Expand(_ context.Context, codeset string, curated []screening.Coding) ([]screening.Coding, error) {
	if codeset != "guessed" {
		return nil, nil
	}
	return append(append([]screening.Coding{}, curated...), screening.Coding{System: screening.SystemSNOMED, Code: "222222222"}), nil
}

// The U tag is per code: a U code stays review even when a terminology server's expansion
// lists it again, and so does what the server adds under it (review4: it inherits the
// tag); codes covered by a verified prefix fail.
func TestReview3UnverifiedIsPerCode(t *testing.T) {
	p, err := cr3Protocol("", "unverified: review", screening.Options{Terminology: cr3Expand{}})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, code string
		want       screening.Outcome
	}{
		{"curated U code", "snomed|111111111", screening.Review},
		{"descendant the server added under the U code", "snomed|222222222", screening.Review},
		{"code under a U prefix only", "icd10cm|X99.2", screening.Review},
		{"code under a verified prefix too", "icd10cm|X99.12", screening.Fail},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if r := screen(t, p, exAdult().condition(tc.code, daysAgo(10)).rec, "guessed"); r.Outcome != tc.want {
				t.Errorf("got %s/%s (%s), want %s", r.Outcome, r.Reason, r.Summary, tc.want)
			}
		})
	}
	// Without the option a U code fails like any other.
	p, err = cr3Protocol("", "note: plain", screening.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r := screen(t, p, exAdult().condition("snomed|111111111", daysAgo(10)).rec, "guessed"); r.Outcome != screening.Fail {
		t.Errorf("without unverified: review: got %s, want fail", r.Outcome)
	}
}
