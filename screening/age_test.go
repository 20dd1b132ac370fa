package screening_test

import (
	"testing"
	"time"
	_ "time/tzdata" // time zones without the system database

	"github.com/trialscreen/trialscreen/screening"
)

func TestAge(t *testing.T) {
	yearOnly := newPatient("male", "1950-01-01")
	yearOnly.rec.Patient.BirthDate.Precision = screening.PrecisionYear
	noBirth := newPatient("male", "1960-01-01")
	noBirth.rec.Patient.BirthDate = screening.When{}
	runCriterion(t, "age", []criterionCase{
		{name: "75 the day before the 76th birthday passes", patient: newPatient("male", "1950-11-25"), outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "76th birthday fails", patient: newPatient("male", "1950-11-24"), outcome: screening.Fail, reason: screening.ReasonNotMet},
		{name: "18th birthday passes", patient: newPatient("female", "2008-11-24"), outcome: screening.Pass},
		{name: "day before 18th birthday fails", patient: newPatient("female", "2008-11-25"), outcome: screening.Fail},
		{name: "year-only birth date straddling 76 is unknown", patient: yearOnly, outcome: screening.Unknown, reason: screening.ReasonNoData},
		{name: "no birth date is unknown", patient: noBirth, outcome: screening.Unknown, reason: screening.ReasonNoData},
		{name: "as-of later in the day still reads the calendar date in UTC", patient: newPatient("male", "1950-11-25"),
			asOf: time.Date(2026, 11, 24, 23, 59, 0, 0, time.UTC), outcome: screening.Pass},
	})
}

// Calendar dates are read in the configured time zone. The window starts at
// 2026-11-10T12:00Z; a lab dated 2026-11-10 begins at midnight in the zone: before the
// window in UTC and UTC+14, exactly at its start in UTC-12.
func TestDateOnlyResultsReadInConfiguredZone(t *testing.T) {
	p := loadProtocol(t)
	rec := newPatient("male", "1960-01-01").lab("loinc|751-8", 2, "10*3/uL", date("2026-11-10")).rec
	at := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		zone string
		want screening.Outcome
	}{
		{"UTC", screening.Unknown},
		{"Pacific/Kiritimati", screening.Unknown},
		{"Etc/GMT+12", screening.Pass},
	} {
		loc, err := time.LoadLocation(tc.zone)
		if err != nil {
			t.Fatalf("time zone %s: %v", tc.zone, err)
		}
		r := screenWith(t, p, rec, "neutrophils", screening.Settings{AsOf: at, Location: loc})
		if r.Outcome != tc.want {
			t.Errorf("%s: %s/%s (%s), want %s", tc.zone, r.Outcome, r.Reason, r.Summary, tc.want)
		}
	}
}

func TestWhenStringMatchesRFC3339(t *testing.T) {
	for _, tm := range []time.Time{asOf, time.Date(1999, 1, 2, 3, 4, 5, 600, time.FixedZone("x", 5*3600)), time.Date(2026, 12, 31, 23, 59, 59, 0, time.UTC)} {
		if got, want := (screening.When{Time: tm, Precision: screening.PrecisionTime}).String(), tm.UTC().Format(time.RFC3339); got != want {
			t.Errorf("got %s, want %s", got, want)
		}
		if got, want := (screening.When{Time: tm, Precision: screening.PrecisionDay}).String(), tm.Format("2006-01-02"); got != want {
			t.Errorf("day: got %s, want %s", got, want)
		}
	}
}
