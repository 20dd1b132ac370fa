package screening_test

import (
	"testing"

	"github.com/trialscreen/trialscreen/screening"
)

// typicalMyelomaPatient is a treated myeloma patient with about 150 relevant resources:
// weekly blood counts and chemistry for 12 weeks, vitals, echo, ECG, serology, ten
// conditions, a dozen medication records and a few procedures.
func typicalMyelomaPatient() *patient {
	p := newPatient("female", "1962-04-09")
	for w := 0; w < 12; w++ {
		d := daysAgo(float64(2 + 7*w))
		p.lab("loinc|751-8", 2.1, "10*3/uL", d).
			lab("loinc|777-3", 140, "10*3/uL", d).
			lab("loinc|731-0", 0.9, "10*3/uL", d).
			lab("loinc|1742-6", 31, "U/L", d).
			lab("loinc|1920-8", 27, "U/L", d).
			lab("loinc|2160-0", 0.9, "mg/dL", d).
			lab("loinc|1975-2", 0.7, "mg/dL", d).
			lab("loinc|29463-7", 64, "kg", d).
			lab("loinc|59410-1", 97, "%", d)
	}
	p.lab("loinc|89247-1", 1, "{score}", daysAgo(3)).
		lab("loinc|8806-2", 58, "%", daysAgo(10)).
		coded("loinc|11524-6", "snomed|164854000", daysAgo(10)).
		lab("local|BCMA-PC-PCT", 75, "%", daysAgo(20)).
		coded("loinc|2106-3", "snomed|260385009", daysAgo(2))
	for _, c := range []string{"loinc|7917-8", "loinc|13955-0", "loinc|5196-1", "loinc|24312-1"} {
		p.coded(c, "snomed|260385009", daysAgo(12))
	}
	p.condition("snomed|109989006", date("2021-02-01")).
		condition("icd10cm|C90.02", date("2025-06-01")).
		condition("snomed|38341003", date("2015-01-01")).
		condition("snomed|44054006", date("2016-01-01")).
		condition("snomed|55822004", date("2017-01-01")).
		condition("snomed|40055000", date("2018-01-01")).
		condition("snomed|195967001", date("2010-01-01")).
		condition("snomed|271737000", date("2025-01-01")).
		condition("snomed|10509002", date("2024-01-01")).
		condition("snomed|444814009", date("2023-01-01"))
	for i, drug := range []string{"rxnorm|358258", "rxnorm|342369", "rxnorm|1721947", "rxnorm|3264", "rxnorm|1302966", "rxnorm|10432"} {
		start := daysAgo(float64(700 - 100*i))
		end := daysAgo(float64(640 - 100*i))
		p.med(drug, "completed", start, end).med(drug, "completed", daysAgo(float64(600-100*i)), daysAgo(float64(560-100*i)))
	}
	p.procedure("snomed|58776007", date("2022-01-10")).
		procedure("snomed|29303009", daysAgo(10)).
		procedure("snomed|40701008", daysAgo(10))
	return p
}

// BenchmarkEvaluate: all 39 criteria on an already-parsed typical myeloma patient.
func BenchmarkEvaluate(b *testing.B) {
	proto := loadProtocol(b)
	rec := typicalMyelomaPatient().rec
	s := screening.Settings{AsOf: asOf}
	n := len(rec.Observations) + len(rec.Conditions) + len(rec.Medications) + len(rec.Procedures) + 1
	b.ReportMetric(float64(n), "resources")
	b.ReportAllocs()
	for b.Loop() {
		if out := proto.Evaluate(rec, s); len(out.Criteria) != 39 {
			b.Fatal("missing criteria")
		}
	}
}

func TestTypicalPatientIsPotentiallyEligible(t *testing.T) {
	out := loadProtocol(t).Evaluate(typicalMyelomaPatient().rec, screening.Settings{AsOf: asOf})
	for _, r := range out.Criteria {
		if r.Outcome == screening.Fail || r.Outcome == screening.Unknown {
			t.Errorf("%s: %s/%s: %s", r.ID, r.Outcome, r.Reason, r.Summary)
		}
	}
	if out.Verdict != screening.PotentiallyEligible {
		t.Errorf("verdict %s", out.Verdict)
	}
}
