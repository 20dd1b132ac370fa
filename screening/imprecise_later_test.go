package screening_test

import (
	"strings"
	"testing"
	"time"

	"github.com/trialscreen/trialscreen/screening"
)

// Review 3 engine findings: newer results with a date coarser than a day, or a value that
// cannot be read, may not be outranked by an older passing result; the newest ECG decides.

// r3Month is a date given only to the month ("2026-11").
func r3Month(s string) screening.When {
	t, err := time.Parse("2006-01", s)
	if err != nil {
		panic(err)
	}
	return screening.When{Time: t, Precision: screening.PrecisionMonth}
}

// r3Last is the reference of the observation added last.
func r3Last(p *patient) string { return p.rec.Observations[len(p.rec.Observations)-1].Ref }

// r3Case checks the outcome and, when given, that the summary and the evidence name the
// imprecisely dated record (and what its evidence note says).
type r3Case struct {
	name     string
	patient  *patient
	ld       time.Time
	outcome  screening.Outcome
	reason   screening.Reason
	names    string // a resource the summary must name ("" for none)
	evidence string // a resource the evidence must hold ("" for none)
	note     string // text its evidence note must hold
}

func runR3(t *testing.T, id string, cases []r3Case) {
	t.Helper()
	p := loadProtocol(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := screenWith(t, p, tc.patient.rec, id, screening.Settings{AsOf: asOf, LymphodepletionDate: tc.ld})
			if r.Outcome != tc.outcome || r.Reason != tc.reason {
				t.Fatalf("%s: got %s/%s (%s), want %s/%s", id, r.Outcome, r.Reason, r.Summary, tc.outcome, tc.reason)
			}
			if tc.names != "" && !strings.Contains(r.Summary, tc.names) {
				t.Errorf("summary does not name %s: %s", tc.names, r.Summary)
			}
			if tc.evidence == "" {
				return
			}
			for _, e := range r.Evidence {
				if e.Resource == tc.evidence {
					if !strings.Contains(e.Note, tc.note) {
						t.Errorf("evidence note for %s = %q, want it to hold %q", tc.evidence, e.Note, tc.note)
					}
					return
				}
			}
			t.Errorf("evidence does not hold %s: %+v", tc.evidence, r.Evidence)
		})
	}
}

func TestImpreciseNewerResultIsNotOutranked(t *testing.T) {
	const (
		lvef = "loinc|8806-2"
		ecog = "loinc|89247-1"
	)
	pt := func() *patient { return newPatient("male", "1959-10-10") }

	// LVEF 60 % on 2026-11-17 beside LVEF 35 % dated only "2026-11".
	lvefConflict := pt().lab(lvef, 60, "%", date("2026-11-17")).lab(lvef, 35, "%", r3Month("2026-11"))
	lvefSame := pt().lab(lvef, 60, "%", date("2026-11-17")).lab(lvef, 65, "%", r3Month("2026-11"))
	lvefEarlier := pt().lab(lvef, 60, "%", date("2026-11-17")).lab(lvef, 35, "%", r3Month("2026-10"))
	lvefFailSame := pt().lab(lvef, 40, "%", date("2026-11-17")).lab(lvef, 35, "%", r3Month("2026-11"))
	ecogMonth := pt().incInt(ecog, 1, date("2026-11-17")).incInt(ecog, 3, r3Month("2026-11"))
	ecogUndated := pt().incInt(ecog, 1, date("2026-11-17")).incInt(ecog, 3, screening.When{})
	ecogYear := pt().incInt(ecog, 0, date("2026-11-20")).incInt(ecog, 2, screening.When{Time: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Precision: screening.PrecisionYear})

	runR3(t, "lvef", []r3Case{
		{name: "month-only 35 % that may be later than 60 % is unknown/conflict", patient: lvefConflict,
			outcome: screening.Unknown, reason: screening.ReasonConflict, names: r3Last(lvefConflict), evidence: r3Last(lvefConflict), note: "decide differently"},
		{name: "month-only 65 % beside 60 % passes and is named", patient: lvefSame,
			outcome: screening.Pass, reason: screening.ReasonMet, evidence: r3Last(lvefSame), note: "decide the same"},
		{name: "a month wholly before the day-dated result cannot be later: passes", patient: lvefEarlier,
			outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "failing 40 % beside month-only 35 % fails and names it", patient: lvefFailSame,
			outcome: screening.Fail, reason: screening.ReasonNotMet, evidence: r3Last(lvefFailSame), note: "decide the same"},
	})
	runR3(t, "ecog", []r3Case{
		{name: "ECOG 1 on 11-17 beside month-only ECOG 3 is unknown/conflict", patient: ecogMonth,
			outcome: screening.Unknown, reason: screening.ReasonConflict, names: r3Last(ecogMonth), evidence: r3Last(ecogMonth), note: "2026-11"},
		{name: "ECOG 1 beside an undated ECOG 3 is unknown/conflict", patient: ecogUndated,
			outcome: screening.Unknown, reason: screening.ReasonConflict, names: r3Last(ecogUndated), evidence: r3Last(ecogUndated), note: "with no date"},
		{name: "ECOG 0 beside year-only ECOG 2 is unknown/conflict", patient: ecogYear,
			outcome: screening.Unknown, reason: screening.ReasonConflict, names: r3Last(ecogYear)},
	})
}

func TestUnreadableNewerResultDecides(t *testing.T) {
	const bcma = "local|BCMA-PC-PCT"
	pt := func() *patient { return newPatient("male", "1959-10-10").lab(bcma, 82, "%", daysAgo(20)) }
	runR3(t, "bcma-expression", []r3Case{
		{name: "older coded 82 % alone passes", patient: pt(), outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "newer free-text value is review/free-text", patient: pt().incText(bcma, "20%", daysAgo(2)), outcome: screening.Review, reason: screening.ReasonFreeText},
		{name: "newer value with a display-only unit is unknown/unit", patient: pt().incObs(bcma, incDisplayOnly(20, "percent"), "final", daysAgo(2)), outcome: screening.Unknown, reason: screening.ReasonUnit},
		{name: "newer result with no value is unknown/no-data", patient: pt().incObs(bcma, nil, "final", daysAgo(2)), outcome: screening.Unknown, reason: screening.ReasonNoData},
		{name: "month-only newer free text is unknown/conflict", patient: pt().incText(bcma, "20%", r3Month("2026-11")), outcome: screening.Unknown, reason: screening.ReasonConflict},
	})
}

// The other users of the latest-result rule: pregnancy test, creatinine clearance, serology.
func TestImpreciseNewerResultOtherCriteria(t *testing.T) {
	const (
		urine    = "loinc|2106-3"
		negative = "snomed|260385009"
		positive = "snomed|10828004"
	)
	woman := func() *patient { return newPatient("female", "1996-03-10") }
	runR3(t, "pregnancy-test", []r3Case{
		{name: "negative on 11-22 beside a month-only positive is unknown/conflict", patient: woman().coded(urine, negative, date("2026-11-22")).coded(urine, positive, r3Month("2026-11")),
			outcome: screening.Unknown, reason: screening.ReasonConflict},
		{name: "negative beside a month-only negative passes", patient: woman().coded(urine, negative, date("2026-11-22")).coded(urine, negative, r3Month("2026-11")),
			outcome: screening.Pass, reason: screening.ReasonMet},
	})

	crcl := func(scr float64) *patient {
		return newPatient("male", incBorn60).lab(incSCr, 1.0, "mg/dL", daysAgo(1)).lab(incWeight, 70, "kg", daysAgo(1)).lab(incSCr, scr, "mg/dL", r3Month("2026-11"))
	}
	runR3(t, "creatinine-clearance", []r3Case{
		{name: "SCr 1.0 (CrCl 77.8) beside month-only SCr 2.5 is unknown/conflict", patient: crcl(2.5), outcome: screening.Unknown, reason: screening.ReasonConflict},
		{name: "SCr 1.0 beside month-only SCr 1.1 passes", patient: crcl(1.1), outcome: screening.Pass, reason: screening.ReasonMet},
	})

	runR3(t, "viral-serology", []r3Case{
		{name: "all negative beside a month-only uncoded HIV result is unknown/conflict",
			patient: exSerology(newPatient("male", "1959-10-10"), 10).incText(exHIV, "equivocal", r3Month("2026-11")),
			outcome: screening.Unknown, reason: screening.ReasonConflict},
		{name: "all negative beside a month-only negative HIV passes",
			patient: exSerology(newPatient("male", "1959-10-10"), 10).coded(exHIV, exNeg, r3Month("2026-11")),
			outcome: screening.Pass, reason: screening.ReasonMet},
	})
}
