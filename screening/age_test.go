package screening_test

import (
	"testing"
	"time"

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
