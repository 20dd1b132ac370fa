package screening

import (
	"errors"
	"fmt"
	"time"
)

// ErrBeforeBirth is the error CheckBirth wraps.
var ErrBeforeBirth = errors.New("before the patient's birth date")

// Years an evaluation instant may fall in. Nothing before 1900 is a screening anyone
// means (the zero time, 0001-01-01T00:00:00Z, is what an unset instant reads as), and
// a verdict document cannot render a year past 9999.
const (
	minAsOfYear = 1900
	maxAsOfYear = 9999
)

// CheckAsOf refuses an evaluation instant no screening can be meant for: the zero time,
// or one outside the years 1900-9999 (in its own offset or in UTC). The error names the
// instant and says what is wrong with it; the surfaces prefix the field or flag.
func CheckAsOf(t time.Time) error {
	if t.IsZero() {
		return fmt.Errorf("%s is not a usable instant (it is the zero time, which stands for no instant at all)", t.Format(time.RFC3339))
	}
	for _, y := range []int{t.Year(), t.UTC().Year()} {
		if y < minAsOfYear || y > maxAsOfYear {
			return fmt.Errorf("%s is not a usable instant (the year must be between %d and %d)", t.Format(time.RFC3339Nano), minAsOfYear, maxAsOfYear)
		}
	}
	return nil
}

// CheckBirth refuses to screen a record as of an instant before the patient was born:
// the age, and every washout or window measured back from as-of, would be meaningless.
// It refuses only what is certain: as-of's calendar date (in s.Location) before the
// earliest date the birth date allows (1960 allows 1960-01-01; a birth instant is
// compared as an instant). A record without a Patient or a birth date passes.
func CheckBirth(rec *Record, s Settings) error {
	if rec == nil || rec.Patient == nil || !rec.Patient.BirthDate.Known() {
		return nil
	}
	birth := rec.Patient.BirthDate
	before := false
	if birth.Precision == PrecisionTime {
		before = s.AsOf.Before(birth.Time)
	} else {
		loc := s.Location
		if loc == nil {
			loc = time.UTC
		}
		by, bm, bd := birth.Time.Date() // calendar dates are stored at UTC midnight
		ay, am, ad := s.AsOf.In(loc).Date()
		before = time.Date(ay, am, ad, 0, 0, 0, 0, time.UTC).Before(time.Date(by, bm, bd, 0, 0, 0, 0, time.UTC))
	}
	if before {
		return fmt.Errorf("%s is %w %s: no screening can be meant for an instant before the patient was born",
			s.AsOf.Format(time.RFC3339), ErrBeforeBirth, birth)
	}
	return nil
}
