package screening_test

import (
	"strings"
	"testing"
	"time"

	"github.com/trialscreen/trialscreen/screening"
)

func TestCheckAsOf(t *testing.T) {
	tests := []struct {
		in   time.Time
		want string // "" accepted
	}{
		{time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC), ""},
		{time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC), ""},
		{time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC), ""},
		{time.Time{}, "0001-01-01T00:00:00Z is not a usable instant (it is the zero time"},
		{time.Date(1, 1, 1, 0, 0, 0, 0, time.FixedZone("", 3600)), "0001-01-01T00:00:00+01:00 is not a usable instant (the year must be between 1900 and 9999)"},
		{time.Date(1899, 12, 31, 23, 59, 59, 0, time.UTC), "1899-12-31T23:59:59Z is not a usable instant (the year must be between 1900 and 9999)"},
		{time.Date(1900, 1, 1, 0, 30, 0, 0, time.FixedZone("", 3600)), "the year must be between 1900 and 9999"},      // 1899 in UTC
		{time.Date(9999, 12, 31, 23, 0, 0, 0, time.FixedZone("", -5*3600)), "the year must be between 1900 and 9999"}, // 10000 in UTC
		{time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), "the year must be between 1900 and 9999"},
	}
	for _, tt := range tests {
		err := screening.CheckAsOf(tt.in)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%v: refused: %v", tt.in, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%v: error %v, want %q", tt.in, err, tt.want)
		}
	}
}

func TestCheckBirth(t *testing.T) {
	day := func(s string, p screening.Precision) *screening.Record {
		b, err := time.Parse("2006-01-02", s)
		if err != nil {
			t.Fatal(err)
		}
		return &screening.Record{Patient: &screening.Patient{Ref: "Patient/p", ID: "p", BirthDate: screening.When{Time: b, Precision: p}}}
	}
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	utc := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		name string
		rec  *screening.Record
		st   screening.Settings
		want string // "" accepted
	}{
		{"after birth", day("1960-05-10", screening.PrecisionDay), screening.Settings{AsOf: utc("2026-11-20T12:00:00Z")}, ""},
		{"on the birth day", day("1960-05-10", screening.PrecisionDay), screening.Settings{AsOf: utc("1960-05-10T00:00:00Z")}, ""},
		{"the day before", day("1960-05-10", screening.PrecisionDay), screening.Settings{AsOf: utc("1960-05-09T23:59:59Z")},
			"1960-05-09T23:59:59Z is before the patient's birth date 1960-05-10"},
		{"decades before", day("1960-05-10", screening.PrecisionDay), screening.Settings{AsOf: utc("1950-01-01T00:00:00Z")},
			"1950-01-01T00:00:00Z is before the patient's birth date 1960-05-10: no screening can be meant for an instant before the patient was born"},
		{"the birth day already in the time zone", day("1960-05-10", screening.PrecisionDay), screening.Settings{AsOf: utc("1960-05-09T20:00:00Z"), Location: tokyo}, ""},
		{"year-only birth date, within the year", day("1960-01-01", screening.PrecisionYear), screening.Settings{AsOf: utc("1960-03-01T00:00:00Z")}, ""},
		{"year-only birth date, the year before", day("1960-01-01", screening.PrecisionYear), screening.Settings{AsOf: utc("1959-12-31T12:00:00Z")},
			"is before the patient's birth date 1960"},
		{"no birth date", &screening.Record{Patient: &screening.Patient{ID: "p"}}, screening.Settings{AsOf: utc("1950-01-01T00:00:00Z")}, ""},
		{"no patient", &screening.Record{}, screening.Settings{AsOf: utc("1950-01-01T00:00:00Z")}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := screening.CheckBirth(tt.rec, tt.st)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
}
