package screening

import (
	"fmt"
	"time"
)

type ageParams struct {
	MinYears int `yaml:"min_years"`
	MaxYears int `yaml:"max_years"`
}

func compileAge(cc *compileCtx) evaluator {
	var p ageParams
	if !cc.params(&p) {
		return nil
	}
	if p.MinYears < 0 || p.MaxYears <= 0 || p.MinYears > p.MaxYears {
		cc.errorf("", "min_years and max_years must be a range of completed years (min <= max)")
	}
	cc.need(TypePatient, nil)
	cc.rule = fmt.Sprintf("%d <= completed years at as-of <= %d (bounds included)", p.MinYears, p.MaxYears)
	return func(ec *evalCtx) Result {
		pt := ec.rec.Patient
		ev := []Evidence{{Resource: pt.Ref, Date: pt.BirthDate.String(), Role: "birth-date"}}
		if !pt.BirthDate.Known() {
			return Result{Outcome: Unknown, Reason: ReasonNoData, Summary: "no birth date recorded", Evidence: ev}
		}
		lo, hi := ageRange(pt.BirthDate, ec.asOf, ec.loc)
		in := func(a int) bool { return a >= p.MinYears && a <= p.MaxYears }
		ev[0].Value = ptr(float64(hi))
		ev[0].Unit = "a"
		switch {
		case lo != hi && in(lo) != in(hi):
			return Result{Outcome: Unknown, Reason: ReasonNoData, Evidence: ev,
				Summary: fmt.Sprintf("birth date %s is too imprecise: age is %d or %d", pt.BirthDate, lo, hi)}
		case in(hi):
			return Result{Outcome: Pass, Reason: ReasonMet, Evidence: ev,
				Summary: fmt.Sprintf("age %d is within %d-%d", hi, p.MinYears, p.MaxYears)}
		}
		return Result{Outcome: Fail, Reason: ReasonNotMet, Evidence: ev,
			Summary: fmt.Sprintf("age %d is outside %d-%d", hi, p.MinYears, p.MaxYears)}
	}
}

// ageRange gives completed years at the instant t for the earliest and latest birth date
// that a (possibly partial) birth date allows. Birthdays are calendar dates in loc.
func ageRange(birth When, t time.Time, loc *time.Location) (lo, hi int) {
	earliest := birth.Time
	latest := birth.Latest().Add(-time.Nanosecond)
	if birth.Precision == PrecisionTime {
		latest = earliest
	}
	return completedYears(latest, t, loc), completedYears(earliest, t, loc)
}

// completedYears counts birthdays passed by t; a 29 February birthday falls on 1 March
// in other years.
func completedYears(birth, t time.Time, loc *time.Location) int {
	by, bm, bd := birth.In(loc).Date()
	if birth.Location() == time.UTC && loc != time.UTC {
		by, bm, bd = birth.Date() // calendar dates are stored at UTC midnight
	}
	ty, tm, td := t.In(loc).Date()
	years := ty - by
	if tm < bm || (tm == bm && td < bd) {
		years--
	}
	return years
}
